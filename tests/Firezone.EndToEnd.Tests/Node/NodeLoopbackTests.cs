using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Firezone.EndToEnd.Tests.Relay;
using Firezone.Snownet;
using Firezone.Snownet.Tests.Turn;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Node;

/// <summary>
/// Two nodes in this process, each with its own UDP socket on 127.0.0.1 and a small driver loop, open a tunnel and pass
/// 1,000 packets each way: (a) directly, (b) relayed through our relay host process, (c) relayed through coturn. For the
/// relayed cases a test firewall in each driver drops everything that does not come from the relay, so ICE can only
/// succeed through it.
/// </summary>
public sealed class NodeLoopbackTests
{
    private const string Secret = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    private static readonly ConnectionId GatewayId = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly ConnectionId ClientId = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));

    private sealed class Pair : IDisposable
    {
        public Pair()
        {
            long start = Stopwatch.GetTimestamp();
            var now = Stopwatch.GetElapsedTime(start);
            Client = new UdpNodeDriver(new ClientNode(RandomNumberGenerator.GetBytes(32), now, DateTimeOffset.UtcNow));
            Gateway = new UdpNodeDriver(new ServerNode(RandomNumberGenerator.GetBytes(32), now, DateTimeOffset.UtcNow));
            // The portal: candidates go to the other side (and are applied on its thread).
            Client.OnEvent = (e, _) => Forward(e, Gateway, ClientId);
            Gateway.OnEvent = (e, _) => Forward(e, Client, GatewayId);
        }

        public UdpNodeDriver Client { get; }

        public UdpNodeDriver Gateway { get; }

        private static void Forward(NodeEvent e, UdpNodeDriver to, ConnectionId connection)
        {
            switch (e)
            {
                case NewIceCandidate c:
                    to.Post((node, now) =>
                    {
                        node.AddRemoteCandidate(connection, c.Candidate, now);
                        node.HandleTimeout(now);
                    });
                    break;
                case InvalidateIceCandidate c:
                    to.Post((node, now) =>
                    {
                        node.RemoveRemoteCandidate(connection, c.Candidate, now);
                        node.HandleTimeout(now);
                    });
                    break;
            }
        }

        public void Start(TurnRelay relay)
        {
            Client.Start();
            Gateway.Start();
            Client.Post((node, now) => node.UpdateRelays([], [relay], now));
            Gateway.Post((node, now) => node.UpdateRelays([], [relay], now));
        }

        /// <summary>Offer/answer through the "portal"; returns the wall time until both sides are established.</summary>
        public TimeSpan Connect()
        {
            var clientKey = Client.Node.PublicKey.ToArray();
            var gatewayKey = Gateway.Node.PublicKey.ToArray();
            var clock = Stopwatch.StartNew();
            var offer = Client.Invoke((node, now) => ((ClientNode)node).NewConnection(GatewayId, now, now));
            var answer = Gateway.Invoke((node, now) => ((ServerNode)node).AcceptConnection(ClientId, offer, clientKey, now));
            Client.Invoke((node, now) =>
            {
                ((ClientNode)node).AcceptAnswer(GatewayId, gatewayKey, answer, now);
                node.HandleTimeout(now);
                return 0;
            });
            var deadline = Stopwatch.StartNew();
            while (!(Has<ConnectionEstablished>(Client) && Has<ConnectionEstablished>(Gateway)))
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20),
                    $"not established; client: {string.Join(", ", Client.Events)}; gateway: {string.Join(", ", Gateway.Events)}");
                Assert.False(Has<ConnectionFailed>(Client) || Has<ConnectionFailed>(Gateway), "connection failed");
                Thread.Sleep(5);
            }

            return clock.Elapsed;
        }

        private static bool Has<T>(UdpNodeDriver driver) => driver.Events.Any(e => e is T);

        /// <summary>Sends <paramref name="count"/> numbered packets each way, in windows of 50, and checks that every one arrived once.</summary>
        public void Exchange(int count)
        {
            // A window of 50 packets each way: the next batch leaves once the last one arrived (or after 2 s). Loopback
            // drops what overflows a socket buffer, and coturn's default buffers overflow under a free-running burst
            // on a busy machine; a lost packet still fails the count below.
            const int window = 50;
            for (int start = 0; start < count; start += window)
            {
                int end = Math.Min(count, start + window);
                for (int i = start; i < end; i++)
                {
                    Client.SendPacket(GatewayId, Packet((uint)i));
                    Gateway.SendPacket(ClientId, Packet((uint)i));
                }

                var batch = Stopwatch.StartNew();
                while ((Client.Received.Count < end || Gateway.Received.Count < end) && batch.Elapsed < TimeSpan.FromSeconds(2))
                {
                    Thread.Sleep(1);
                }
            }

            var deadline = Stopwatch.StartNew();
            while ((Client.Received.Count < count || Gateway.Received.Count < count) && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                Thread.Sleep(10);
            }

            foreach (var side in new[] { Client, Gateway })
            {
                var sequences = side.Received.Select(p => BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(28))).ToList();
                var missing = Enumerable.Range(0, count).Select(i => (uint)i).Except(sequences).ToList();
                Assert.True(count == sequences.Count,
                    $"{(side == Client ? "client" : "gateway")} got {sequences.Count} of {count} packets (missing {missing.Count}, first {string.Join(",", missing.Take(20))}); "
                    + $"datagrams: client sent {Client.DatagramsSent} received {Client.DatagramsReceived}, gateway sent {Gateway.DatagramsSent} received {Gateway.DatagramsReceived}");
                Assert.Equal(Enumerable.Range(0, count).Select(i => (uint)i), sequences.Order());
            }
        }

        public void Dispose()
        {
            Client.Dispose();
            Gateway.Dispose();
        }
    }

    /// <summary>An IPv4/UDP packet of 200 bytes carrying a sequence number at offset 28.</summary>
    internal static byte[] Packet(uint sequence)
    {
        var p = new byte[200];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 200);
        p[8] = 64;
        p[9] = 17;
        IPAddress.Parse("198.18.200.2").TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse("198.18.201.2").TryWriteBytes(p.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), 180);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(28), sequence);
        return p;
    }

    private static TurnRelay FirezoneRelay(int port)
    {
        ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        return new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Loopback, port), null,
            FirezoneCredentials.MakeUsername(expiry, "nodetest01"), FirezoneCredentials.ComputePassword(Secret, expiry, "nodetest01"));
    }

    [Fact]
    public async Task Two_nodes_pass_1000_packets_each_way_directly()
    {
        int port = Loopback.FreeUdpPort();
        int health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(16);
        await using var relay = await Loopback.StartHealthyRelayAsync(Loopback.RelayHostArguments(port, health, lowest, highest, Secret), health);
        using var pair = new Pair();
        pair.Start(FirezoneRelay(port));
        Thread.Sleep(300); // allocations
        pair.Connect();
        pair.Exchange(1000);
    }

    [Fact]
    public async Task Two_nodes_pass_1000_packets_each_way_through_our_relay_host()
    {
        int port = Loopback.FreeUdpPort();
        int health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(16);
        await using var relay = await Loopback.StartHealthyRelayAsync(Loopback.RelayHostArguments(port, health, lowest, highest, Secret), health);
        using var pair = new Pair();
        var relayEndPoint = new IPEndPoint(IPAddress.Loopback, port);
        pair.Client.Firewall = from => from.Equals(relayEndPoint);
        pair.Gateway.Firewall = from => from.Equals(relayEndPoint);
        pair.Start(FirezoneRelay(port));
        Thread.Sleep(300);
        pair.Connect();
        pair.Exchange(1000);
    }

    /// <summary>
    /// coturn answers the first Allocate with an unsigned 401 (Firezone's relay signs it): our TURN client accepts an
    /// unsigned 401/438 challenge, as standard servers need, and only then signs its requests. coturn relays IPv4 only
    /// here (it ignores or refuses the additional IPv6 family), which is all a loopback test needs.
    /// </summary>
    [Fact]
    public void Two_nodes_pass_1000_packets_each_way_through_coturn()
    {
        string? binary = CoturnProcess.FindBinary();
        Assert.SkipWhen(binary is null, "coturn (turnserver) is not installed (apt-get install coturn)");
        using var coturn = CoturnProcess.Start(binary!);
        using var pair = new Pair();
        pair.Client.Firewall = from => from.Equals(coturn.Listen);
        pair.Gateway.Firewall = from => from.Equals(coturn.Listen);
        pair.Start(new TurnRelay(new RelayId(Guid.NewGuid()), coturn.Listen, null, CoturnProcess.Username, CoturnProcess.Password, CoturnProcess.Realm));
        Thread.Sleep(300);
        pair.Connect();
        pair.Exchange(1000);
    }
}
