using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// Every expiry runs from one deadline heap: at its own deadline, never before, and without walking anything that is
/// not due (relay.md §7 semantics; upstream rescans every allocation and channel).
/// </summary>
public class TurnServerExpiryTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("198.51.100.7"), 40000);
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.20"), 51820);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void Expired_permissions_are_removed_at_their_deadline()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        int port = c.Allocate(Start, 3600);
        var t = Start + S(10);
        c.AssertSuccess(c.CreatePermission(t, Peer));

        // Its own deadline is the next wake-up: no unrelated timer is needed to remove it.
        Assert.Equal(t + TurnServer.PermissionLifetime, server.PollTimeout());
        server.HandleTimeout(t + TurnServer.PermissionLifetime - TimeSpan.FromTicks(1));
        Assert.Equal(1, server.PermissionCount);
        Assert.Null(server.HandlePeerTraffic("x"u8, Peer, port, t + S(299)));
        Assert.Single(Drain(server)); // a Data indication

        server.HandleTimeout(t + TurnServer.PermissionLifetime);
        Assert.Equal(0, server.PermissionCount);
        Assert.Equal(Start + S(3600), server.PollTimeout());
        Assert.Null(server.HandlePeerTraffic("x"u8, Peer, port, t + S(300)));
        Assert.Empty(Drain(server));
    }

    [Fact]
    public void Poll_timeout_is_the_earliest_expiry_of_any_kind()
    {
        var server = ZeroServer(Relay4);
        var t0 = Start;

        // A nonce issued in a 401 at t0 (expires t0 + 1 h).
        Assert.Null(server.HandleClientInput(Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }), new IPEndPoint(ClientAddress.Address, 1), t0, Wall(t0)));
        Drain(server);
        Assert.Equal(t0 + S(3600), server.PollTimeout());

        // An allocation for 3000 s whose first port is taken (busy until t0 + 60 s).
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(c.Request(StunMethod.Allocate, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            b.AddLifetime(3000);
        }), ClientAddress, t0, Wall(t0)));
        Assert.True(server.TryPollCommand(out var create));
        server.HandleAllocationFailed(create.Port, AddressFamily.InterNetwork, portInUse: true, t0);
        Drain(server);

        c.AssertSuccess(c.ChannelBind(t0 + S(1), 0x4000, Peer)); // unbound at t0 + 601 s, deleted at t0 + 901 s
        c.AssertSuccess(c.CreatePermission(t0 + S(2), Peer));      // t0 + 302 s

        var fired = new List<TimeSpan>();
        var counts = new List<(int Busy, int Permissions, int Bound, int Channels, int Allocations, int Nonces)>();
        while (server.PollTimeout() is { } deadline)
        {
            fired.Add(deadline);
            server.HandleTimeout(deadline);
            Drain(server);
            counts.Add((server.BusyPortCount, server.PermissionCount, server.BoundChannelCount, server.ChannelCount, server.AllocationCount, server.NonceCount));
        }

        Assert.Equal([t0 + S(60), t0 + S(302), t0 + S(601), t0 + S(901), t0 + S(3000), t0 + S(3600)], fired);
        // Nonces: the issued one plus the test client's own (a test-hook nonce without deadline).
        Assert.Equal(
            [(0, 1, 1, 1, 1, 2), (0, 0, 1, 1, 1, 2), (0, 0, 0, 1, 1, 2), (0, 0, 0, 0, 1, 2), (0, 0, 0, 0, 0, 2), (0, 0, 0, 0, 0, 1)],
            counts);
        Assert.Equal(0, server.DeadlineCount);
    }

    [Fact]
    public void Nonce_expires_an_hour_after_issue_and_its_holder_gets_438_with_a_fresh_one()
    {
        byte counter = 0;
        var server = new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4, Random = span => span.Fill(++counter) });
        string username = ValidUsername("noncesalt1", Start + TimeSpan.FromDays(1));
        byte[] key = Key(server, username);
        var challenge = Single(Feed(server, Message(StunMethod.Allocate, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder b) => b.AddRequestedTransport()), Start));
        string nonce = Inspect(challenge).Nonce!;

        byte[] Refresh(string n) => Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }, username, n, key);
        var almost = Start + TimeSpan.FromHours(1) - S(1);
        Assert.Equal(437, Inspect(Single(Feed(server, Refresh(nonce), almost))).Error); // authenticated: no allocation

        // An hour after issue it is stale even if no timeout has run yet: 438, signed, with a fresh nonce that works.
        var stale = Single(Feed(server, Refresh(nonce), Start + TimeSpan.FromHours(1)));
        Assert.Equal(438, Inspect(stale).Error);
        Assert.True(IsSignedWith(stale, key));
        string fresh = Inspect(stale).Nonce!;
        Assert.NotEqual(nonce, fresh);
        Assert.Equal(437, Inspect(Single(Feed(server, Refresh(fresh), Start + TimeSpan.FromHours(1)))).Error);

        Assert.Equal(1, server.NonceCount);
        server.HandleTimeout(Start + TimeSpan.FromHours(2));
        Assert.Equal(0, server.NonceCount);
        Assert.Null(server.PollTimeout());
    }

    [Fact]
    public void Allocation_and_its_channel_expiring_at_the_same_instant_leave_nothing_cooling()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        c.Allocate(Start, 600);
        c.AssertSuccess(c.ChannelBind(Start, 0x4000, Peer));
        server.HandleTimeout(Start + S(600));
        RelayTestKit.AssertFree(Single(server), 49152, AddressFamily.InterNetwork);
        Assert.Equal((0, 0, 0), (server.AllocationCount, server.BoundChannelCount, server.ChannelCount));
        Assert.Equal(0, server.Forwarder.PeerRouteCount + server.Forwarder.ClientRouteCount);
        Assert.Null(server.PollTimeout());
    }

    [Fact]
    public void Refresh_flood_does_not_grow_the_deadline_heap()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        c.Allocate(Start, 600);
        c.AssertSuccess(c.ChannelBind(Start, 0x4000, Peer));
        c.AssertSuccess(c.CreatePermission(Start, Peer));
        Assert.Equal(3, server.DeadlineCount);
        for (int i = 1; i <= 2000; i++)
        {
            var now = Start + S(i * 0.1);
            c.Refresh(now, 600);
            c.ChannelBind(now, 0x4000, Peer);
            c.CreatePermission(now, Peer);
        }

        Assert.Equal(3, server.DeadlineCount);
        Assert.Equal(Start + S(200) + TurnServer.PermissionLifetime, server.PollTimeout());
    }

    [Fact]
    public void Handle_timeout_with_a_million_permissions_none_due_touches_nothing()
    {
        const int Allocations = 200, PerAllocation = 5000;
        var server = new TurnServer(new TurnServerOptions
        {
            PublicIPv4 = Relay4,
            Random = span => span.Clear(),
            MaxPermissionsPerAllocation = PerAllocation,
            MaxPermissions = Allocations * PerAllocation,
        });
        var peers = new IPEndPoint[PerAllocation];
        for (int i = 0; i < PerAllocation; i++)
        {
            peers[i] = new IPEndPoint(new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]), 1);
        }

        for (int a = 0; a < Allocations; a++)
        {
            var c = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 1000 + a));
            c.Allocate(Start, 3600);
            c.AssertSuccess(c.CreatePermission(Start, peers));
        }

        Assert.Equal(Allocations * PerAllocation, server.PermissionCount);
        long handled = server.TimeoutItemsHandled;

        // The host wakes at every deadline it is given; none is due before +300 s, so nothing is examined.
        for (int s = 1; s < 300; s += 7)
        {
            server.HandleTimeout(Start + S(s));
        }

        Assert.Equal(handled, server.TimeoutItemsHandled);
        Assert.Equal(Allocations * PerAllocation, server.PermissionCount);

        // A Binding is answered in between as usual (no hidden sweep).
        Assert.Null(server.HandleClientInput(Message(StunMethod.Binding, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }), ClientAddress, Start + S(299), Wall(Start + S(299))));
        Assert.Single(Drain(server));

        // At +300 s exactly the permissions, and nothing else, are handled.
        server.HandleTimeout(Start + S(300));
        Assert.Equal(handled + (Allocations * PerAllocation), server.TimeoutItemsHandled);
        Assert.Equal(0, server.PermissionCount);
        Assert.Equal(Allocations, server.AllocationCount);
    }

    private static TurnServer Feed(TurnServer server, byte[] request, TimeSpan now)
    {
        Assert.Null(server.HandleClientInput(request, ClientAddress, now, Wall(now)));
        return server;
    }
}
