using System.Net;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>The lock-free ChannelData data path the control plane publishes to (<see cref="TurnServer.Forwarder"/>).</summary>
public class RelayForwarderTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("198.51.100.7"), 40000);
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.20"), 51820);

    [Fact]
    public void Forwarder_relays_bound_channels_both_ways_from_socket_addresses()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        int port = c.Allocate(Start);
        c.AssertSuccess(c.ChannelBind(Start, 0x4001, Peer));

        var frame = ChannelData.Encode(0x4001, "ping"u8);
        Assert.True(server.Forwarder.TryRelayToPeer(frame, ClientAddress.Serialize(), out var toPeer));
        Assert.Equal(new RelayToPeer(port, Peer, Peer.Serialize(), 4, 4), toPeer);

        Assert.True(server.Forwarder.TryRelayToClient(5, Peer.Serialize(), port, out var toClient));
        Assert.Equal(ClientAddress, toClient.Client);
        Assert.Equal(ClientAddress.Serialize(), toClient.ClientSocketAddress);
        Assert.Equal(0x4001, toClient.Channel);

        // The forwarder does not count; the control plane's single-threaded entry points do, through it.
        Assert.Equal(0, server.RelayedBytes);
        Assert.Equal(toPeer, server.HandleClientInput(frame, ClientAddress.Serialize(), Start, Wall(Start)));
        Assert.Equal(toClient, server.HandlePeerTraffic("hello"u8, Peer.Serialize(), port, Start));
        Assert.Equal(9, server.RelayedBytes);
    }

    [Fact]
    public void Forwarder_drops_malformed_frames_unknown_channels_other_clients_and_oversized_datagrams()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        int port = c.Allocate(Start);
        c.AssertSuccess(c.ChannelBind(Start, 0x4000, Peer));
        var client = ClientAddress.Serialize();
        var forwarder = server.Forwarder;

        Assert.False(forwarder.TryRelayToPeer([], client, out _));
        Assert.False(forwarder.TryRelayToPeer([0x40, 0x00, 0x00], client, out _));            // short header
        Assert.False(forwarder.TryRelayToPeer([0x40, 0x00, 0x00, 0x05, 1, 2], client, out _)); // payload shorter than declared
        Assert.False(forwarder.TryRelayToPeer([0x80, 0x00, 0x00, 0x00], client, out _));       // not a channel
        Assert.False(forwarder.TryRelayToPeer(ChannelData.Encode(0x4001, [1]), client, out _));
        Assert.False(forwarder.TryRelayToPeer(ChannelData.Encode(0x4000, [1]), new IPEndPoint(ClientAddress.Address, 1).Serialize(), out _));
        Assert.True(forwarder.TryRelayToPeer([0x40, 0x00, 0x00, 0x01, 7, 0, 0, 0], client, out var padded)); // padding ignored
        Assert.Equal(1, padded.PayloadLength);

        Assert.True(forwarder.TryRelayToClient(ushort.MaxValue, Peer.Serialize(), port, out _));
        Assert.False(forwarder.TryRelayToClient(ushort.MaxValue + 1, Peer.Serialize(), port, out _));
        Assert.False(forwarder.TryRelayToClient(-1, Peer.Serialize(), port, out _));
        Assert.False(forwarder.TryRelayToClient(1, Peer.Serialize(), port + 1, out _));
        Assert.False(forwarder.TryRelayToClient(1, new IPEndPoint(Peer.Address, Peer.Port + 1).Serialize(), port, out _));
    }

    [Fact]
    public void Forwarder_holds_only_bound_channels()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        c.Allocate(Start, 3600);
        c.AssertSuccess(c.ChannelBind(Start, 0x4000, Peer));
        c.AssertSuccess(c.ChannelBind(Start, 0x4001, new IPEndPoint(Peer.Address, 1)));
        Assert.Equal((2, 2), (server.Forwarder.PeerRouteCount, server.Forwarder.ClientRouteCount));

        server.HandleTimeout(Start + TurnServer.ChannelLifetime); // both unbound, cooling down
        Assert.Equal((0, 0), (server.Forwarder.PeerRouteCount, server.Forwarder.ClientRouteCount));
        Assert.Equal(2, server.ChannelCount);

        var revived = Start + TurnServer.ChannelLifetime + TimeSpan.FromSeconds(1);
        c.AssertSuccess(c.ChannelBind(revived, 0x4000, Peer)); // revived during cooldown
        Assert.Equal((1, 1), (server.Forwarder.PeerRouteCount, server.Forwarder.ClientRouteCount));
        c.Refresh(revived, 0);
        Assert.Equal((0, 0), (server.Forwarder.PeerRouteCount, server.Forwarder.ClientRouteCount));
    }

    [Fact]
    public void Forwarder_publishes_which_peer_ips_hold_a_permission_until_they_expire()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        int port = c.Allocate(Start, 3600);
        var forwarder = server.Forwarder;
        Assert.False(forwarder.IsPermitted(Peer.Serialize(), port));
        c.AssertSuccess(c.CreatePermission(Start, Peer));
        Assert.True(forwarder.IsPermitted(Peer.Serialize(), port));
        Assert.True(forwarder.IsPermitted(new IPEndPoint(Peer.Address, 1).Serialize(), port)); // IP only, any port
        Assert.False(forwarder.IsPermitted(Peer.Serialize(), port + 1));
        Assert.False(forwarder.IsPermitted(new IPEndPoint(IPAddress.Parse("192.0.2.21"), Peer.Port).Serialize(), port));

        server.HandleTimeout(Start + TurnServer.PermissionLifetime);
        Assert.False(forwarder.IsPermitted(Peer.Serialize(), port));
        Assert.Equal(0, forwarder.PermissionCount);

        var later = Start + TurnServer.PermissionLifetime + TimeSpan.FromSeconds(1);
        c.AssertSuccess(c.CreatePermission(later, Peer));
        c.Refresh(later, 0); // deleting the allocation withdraws its permissions
        Assert.False(forwarder.IsPermitted(Peer.Serialize(), port));
        Assert.Equal(0, forwarder.PermissionCount);
    }

    [Fact]
    public void Forwarding_a_packet_allocates_nothing()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        int port = c.Allocate(Start);
        c.AssertSuccess(c.ChannelBind(Start, 0x4000, Peer));
        var frame = ChannelData.Encode(0x4000, new byte[1200]);
        var client = ClientAddress.Serialize();
        var peer = Peer.Serialize();
        var forwarder = server.Forwarder;
        for (int i = 0; i < 100; i++)
        {
            forwarder.TryRelayToPeer(frame, client, out _);
            forwarder.TryRelayToClient(1200, peer, port, out _);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int relayed = 0;
        for (int i = 0; i < 10_000; i++)
        {
            relayed += forwarder.TryRelayToPeer(frame, client, out _) ? 1 : 0;
            relayed += forwarder.TryRelayToClient(1200, peer, port, out _) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(20_000, relayed);
    }

    [Fact]
    public async Task Forwarder_is_consistent_from_many_threads_while_the_control_plane_changes_bindings()
    {
        // Channel n is only ever bound to peer port 1000 + n: whatever a reader sees must respect that pairing.
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        int port = c.Allocate(Start, 3600);
        var client = ClientAddress.Serialize();
        var frames = Enumerable.Range(0, 8).Select(n => ChannelData.Encode((ushort)(0x4000 + n), [1, 2])).ToArray();
        var peers = Enumerable.Range(0, 8).Select(n => new IPEndPoint(Peer.Address, 1000 + n)).ToArray();
        var peerAddresses = peers.Select(p => p.Serialize()).ToArray();
        using var stop = new CancellationTokenSource();
        long hits = 0;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();

        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(() =>
        {
            int i = r;
            while (!stop.IsCancellationRequested)
            {
                int n = i++ & 7;
                if (server.Forwarder.TryRelayToPeer(frames[n], client, out var toPeer))
                {
                    if (toPeer.Peer.Port != 1000 + n || toPeer.AllocationPort != port || toPeer.PayloadLength != 2)
                    {
                        errors.Enqueue($"channel {n} → {toPeer.Peer}");
                    }

                    Interlocked.Increment(ref hits);
                }

                if (server.Forwarder.TryRelayToClient(2, peerAddresses[n], port, out var toClient) && toClient.Channel != 0x4000 + n)
                {
                    errors.Enqueue($"peer {n} → channel {toClient.Channel:x}");
                }

                _ = server.AllocationCount + server.BoundChannelCount;
            }
        })).ToArray();

        // The control plane (this thread) binds, lets expire, deletes and rebinds, over simulated hours.
        var now = Start;
        for (int round = 0; round < 40; round++)
        {
            for (int n = 0; n < 8; n++)
            {
                if ((round + n) % 3 != 0)
                {
                    c.AssertSuccess(c.ChannelBind(now, (ushort)(0x4000 + n), peers[n]));
                }
            }

            now += TimeSpan.FromSeconds(round % 2 == 0 ? 100 : 700);
            server.HandleTimeout(now);
            if (round % 4 == 3)
            {
                c.Refresh(now, 3600);
            }
        }

        // Make sure the readers really ran against published routes before stopping them (no timing involved).
        c.AssertSuccess(c.ChannelBind(now, 0x4000, peers[0]));
        while (Interlocked.Read(ref hits) == 0)
        {
            Thread.Yield();
        }

        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Empty(errors);
        Assert.Equal(server.BoundChannelCount, server.Forwarder.PeerRouteCount);
    }
}
