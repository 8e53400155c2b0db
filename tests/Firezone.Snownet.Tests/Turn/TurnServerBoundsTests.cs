using System.Net;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// Tables an authenticated client can grow are bounded: permissions per allocation and in total, channels in total.
/// CreatePermission is all-or-nothing (RFC 8656 §9) and needs a peer address.
/// </summary>
public class TurnServerBoundsTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPAddress Relay6 = IPAddress.Parse("2001:db8::10");

    private static IPEndPoint Client(int i) => new(IPAddress.Parse("198.51.100.7"), 40000 + i);

    private static IPEndPoint Peer(int i, int port = 5000) => new(new IPAddress([192, 0, (byte)(2 + (i >> 8)), (byte)i]), port);

    private static TurnServer Server(int perAllocation = 64, int total = 100_000, int channels = 262_144, IPAddress? v6 = null) => new(new TurnServerOptions
    {
        PublicIPv4 = Relay4,
        PublicIPv6 = v6,
        Random = span => span.Clear(),
        MaxPermissionsPerAllocation = perAllocation,
        MaxPermissions = total,
        MaxChannels = channels,
    });

    private static bool Permitted(TurnServer server, IPEndPoint client, IPEndPoint peer, TimeSpan now) =>
        server.HandleClientInput(RelayTestClient.SendIndication(peer, "x"u8), client, now, Wall(now)) is not null;

    [Fact]
    public void Permissions_per_allocation_are_capped()
    {
        var server = Server(perAllocation: 4);
        var c = new RelayTestClient(server, Client(0));
        c.Allocate(Start, 3600);
        c.AssertSuccess(c.CreatePermission(Start, Peer(1), Peer(2), Peer(3)));

        // One new peer too many (with a refresh of an existing one in the same request): 508, and nothing installed
        // or refreshed.
        var later = Start + TimeSpan.FromSeconds(100);
        var refused = c.CreatePermission(later, Peer(1), Peer(4), Peer(5));
        c.AssertError(refused, 508);
        Assert.Equal(("createpermission", 508), (refused.MessageType, refused.ErrorCode));
        Assert.Equal(3, server.PermissionCount);
        Assert.False(Permitted(server, c.EndPoint, Peer(4), later));
        Assert.Equal(Start + TimeSpan.FromSeconds(300), server.PollTimeout()); // Peer(1) was not refreshed

        // Refreshing existing ones does not count as new; the same IP twice (another port) counts once.
        c.AssertSuccess(c.CreatePermission(later, Peer(1), Peer(2), Peer(3), Peer(4), Peer(4, 6000)));
        Assert.Equal(4, server.PermissionCount);
        c.AssertError(c.CreatePermission(later, Peer(9)), 508);
    }

    [Fact]
    public void One_request_naming_thousands_of_peers_cannot_grow_the_relay()
    {
        // The reported attack: ~5,000 XOR-PEER-ADDRESS in one signed CreatePermission.
        var server = Server();
        var c = new RelayTestClient(server, Client(0));
        c.Allocate(Start);
        var peers = Enumerable.Range(0, 5000).Select(i => Peer(i)).ToArray();
        var request = c.Request(StunMethod.CreatePermission, (ref StunMessageBuilder b) =>
        {
            foreach (var peer in peers)
            {
                b.AddXorPeerAddress(peer);
            }
        });
        Assert.True(request.Length > 60_000);
        c.AssertError(c.SendOne(request, Start), 508);
        Assert.Equal(0, server.PermissionCount);
        Assert.Equal(1, server.DeadlineCount); // only the allocation
    }

    [Fact]
    public void Permissions_in_total_are_capped()
    {
        var server = Server(perAllocation: 4, total: 5);
        var a = new RelayTestClient(server, Client(0));
        var b = new RelayTestClient(server, Client(1));
        a.Allocate(Start);
        b.Allocate(Start);
        a.AssertSuccess(a.CreatePermission(Start, Peer(1), Peer(2), Peer(3), Peer(4)));
        b.AssertSuccess(b.CreatePermission(Start, Peer(1)));
        b.AssertError(b.CreatePermission(Start, Peer(2)), 508);
        Assert.Equal(5, server.PermissionCount);

        // Deleting an allocation gives its permissions back.
        a.Refresh(Start, 0);
        Assert.Equal(1, server.PermissionCount);
        b.AssertSuccess(b.CreatePermission(Start, Peer(2), Peer(3), Peer(4)));
        Assert.Equal(4, server.PermissionCount);
    }

    [Fact]
    public void Create_permission_without_peer_address_is_400()
    {
        var server = Server();
        var c = new RelayTestClient(server, Client(0));
        c.Allocate(Start);
        // Like ChannelBind's missing attributes: before authentication (an unknown nonce would otherwise give 438), unsigned.
        var request = Message(StunMethod.CreatePermission, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }, c.Username, Guid.NewGuid().ToString(), c.Key);
        var response = c.SendOne(request, Start);
        c.AssertError(response, 400, signed: false);
        Assert.Equal("createpermission", response.MessageType);
    }

    [Fact]
    public void Create_permission_without_allocation_stays_a_no_op_success()
    {
        var server = Server();
        var c = new RelayTestClient(server, Client(0));
        c.AssertSuccess(c.CreatePermission(Start, Peer(1), new IPEndPoint(IPAddress.Parse("2001:db8::20"), 1)));
        Assert.Equal(0, server.PermissionCount);
        Assert.Null(server.PollTimeout());
    }

    [Fact]
    public void Create_permission_for_a_family_the_allocation_does_not_serve_is_443_and_installs_nothing()
    {
        var server = Server(v6: Relay6);
        var c = new RelayTestClient(server, Client(0));
        c.Allocate(Start); // IPv4 only
        c.AssertError(c.CreatePermission(Start, Peer(1), new IPEndPoint(IPAddress.Parse("2001:db8::20"), 1)), 443);
        Assert.Equal(0, server.PermissionCount);
        Assert.False(Permitted(server, c.EndPoint, Peer(1), Start));
    }

    [Fact]
    public void Channels_in_total_are_capped_including_cooling_ones()
    {
        var server = Server(channels: 2);
        var a = new RelayTestClient(server, Client(0));
        var b = new RelayTestClient(server, Client(1));
        a.Allocate(Start, 3600);
        b.Allocate(Start, 3600);
        a.AssertSuccess(a.ChannelBind(Start, 0x4000, Peer(1)));
        b.AssertSuccess(b.ChannelBind(Start, 0x4000, Peer(1)));
        var refused = b.ChannelBind(Start, 0x4001, Peer(2));
        b.AssertError(refused, 508);
        Assert.Equal(("channelbind", 508), (refused.MessageType, refused.ErrorCode));
        Assert.Equal(2, server.ChannelCount);

        // Refreshing an existing channel is always allowed.
        var t1 = Start + TimeSpan.FromSeconds(10);
        b.AssertSuccess(b.ChannelBind(t1, 0x4000, Peer(1)));

        // a's channel expires at +600 s and cools down until +900 s: it still counts until then.
        server.HandleTimeout(Start + TimeSpan.FromSeconds(600));
        Assert.Equal(1, server.BoundChannelCount);
        Assert.Equal(2, server.ChannelCount);
        b.AssertError(b.ChannelBind(Start + TimeSpan.FromSeconds(600), 0x4001, Peer(2)), 508);
        server.HandleTimeout(Start + TimeSpan.FromSeconds(900));
        Assert.Equal(1, server.ChannelCount);
        b.AssertSuccess(b.ChannelBind(Start + TimeSpan.FromSeconds(900), 0x4001, Peer(2)));
    }

    [Fact]
    public void Options_out_of_range_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Server(perAllocation: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Server(total: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Server(channels: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4, MaxPortAttempts = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4, NonceLifetime = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4, MaxNonces = 0 }));
    }
}
