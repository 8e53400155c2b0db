using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Firezone.Benchmarks.WireGuard;
using Firezone.Snownet;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;

namespace Firezone.Benchmarks.Node;

/// <summary>
/// <c>node-paired</c>: Encapsulate + Decapsulate of 1280-byte IP packets through two connected Nodes (public API, direct
/// path, connected in memory without sockets) against the raw WireGuard <c>Tunnel</c> pair (the engine inside), in
/// alternating short batches (ABBA) so both see the same background load. Prints the median Gbit/s of each, the median
/// per-round ratio (target ≥ 90 %) and the bytes the Node batches allocated.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- node-paired</c>.
/// </summary>
public static class NodePairedThroughput
{
    private const int PacketSize = 1280;
    private const int Batch = 200;
    private const int Rounds = 2000;
    private static readonly ConnectionId GatewayId = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly ConnectionId ClientId = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));

    /// <summary>Runs the measurement and prints the figures.</summary>
    public static int Run()
    {
        var packet = new byte[PacketSize];
        RandomNumberGenerator.Fill(packet);
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), PacketSize);
        var wire = new byte[Firezone.Snownet.Node.BufferSize];
        var plain = new byte[Firezone.Snownet.Node.BufferSize];

        using var pair = InMemoryNodePair.Connect();
        var now = pair.Now;
        var (a, b) = ConnectedTunnels.Create(now, DateTimeOffset.UtcNow);

        void RawBatch()
        {
            for (var i = 0; i < Batch; i++)
            {
                var e = a.Encapsulate(packet, wire, now);
                var d = b.Decapsulate(wire.AsSpan(0, e.Length), default, plain, now);
                if (d.Kind != TunnelResultKind.WriteToTunnelV4)
                {
                    throw new InvalidOperationException(d.Error.ToString());
                }
            }
        }

        var client = pair.Client;
        var gateway = pair.Gateway;
        var from = pair.ClientHost;
        var local = pair.GatewayHost;
        void NodeBatch()
        {
            for (var i = 0; i < Batch; i++)
            {
                var e = client.Encapsulate(GatewayId, packet, wire, now);
                var d = gateway.Decapsulate(wire.AsSpan(e.Offset, e.Length), from, local, plain, now);
                if (d.Status != DecapsulateStatus.Packet)
                {
                    throw new InvalidOperationException($"{e.Status} {d.Status} {d.Error}");
                }
            }
        }

        var (raw, node, allocated) = PairedRounds.Run(RawBatch, NodeBatch, Rounds);
        a.Dispose();
        b.Dispose();
        static double Gbps(double seconds) => Batch * PacketSize * 8 / seconds / 1e9;
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(ci, "Node paired throughput, 1280-byte packets, one core, {0} rounds x {1} packets (ABBA), {2} CPUs", Rounds, Batch, Environment.ProcessorCount));
        Console.WriteLine(string.Format(ci, "  raw Tunnel pair encapsulate+decapsulate : {0:F2} Gbit/s (median)", Gbps(PairedRounds.Median(raw))));
        Console.WriteLine(string.Format(ci, "  Node pair encapsulate+decapsulate       : {0:F2} Gbit/s (median)", Gbps(PairedRounds.Median(node))));
        Console.WriteLine(string.Format(ci, "  Node / Tunnel (median of round ratios)  : {0:F1} % (target >= 90 %)", PairedRounds.MedianRatio(raw, node) * 100));
        Console.WriteLine(string.Format(ci, "  bytes allocated by {0} Node round trips: {1}", (long)Rounds * Batch, allocated));
        return 0;
    }

    /// <summary>
    /// Two Nodes on documentation addresses, connected in memory: transmits to the other's host address are delivered,
    /// everything else (the relay, which never answers here) is dropped. Time advances in 1 ms steps.
    /// </summary>
    private sealed class InMemoryNodePair : IDisposable
    {
        private readonly byte[] _buffer = new byte[Firezone.Snownet.Node.BufferSize];

        private InMemoryNodePair()
        {
            Client = new ClientNode(RandomNumberGenerator.GetBytes(32), Now, DateTimeOffset.UtcNow);
            Gateway = new ServerNode(RandomNumberGenerator.GetBytes(32), Now, DateTimeOffset.UtcNow);
        }

        public ClientNode Client { get; }

        public ServerNode Gateway { get; }

        public IPEndPoint ClientHost { get; } = new(IPAddress.Parse("198.18.1.1"), 40001);

        public IPEndPoint GatewayHost { get; } = new(IPAddress.Parse("198.18.2.1"), 40002);

        public TimeSpan Now { get; private set; } = TimeSpan.FromSeconds(1);

        public static InMemoryNodePair Connect()
        {
            var pair = new InMemoryNodePair();
            var relay = new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Parse("198.18.3.1"), 3478), null, "unused", "unused");
            pair.Client.UpdateRelays([], [relay], pair.Now);
            pair.Gateway.UpdateRelays([], [relay], pair.Now);
            pair.Client.AddLocalHostCandidate(pair.ClientHost);
            pair.Gateway.AddLocalHostCandidate(pair.GatewayHost);
            var offer = pair.Client.NewConnection(GatewayId, pair.Now, pair.Now);
            var answer = pair.Gateway.AcceptConnection(ClientId, offer, pair.Client.PublicKey.Span, pair.Now);
            pair.Client.AcceptAnswer(GatewayId, pair.Gateway.PublicKey.Span, answer, pair.Now);
            bool clientUp = false, gatewayUp = false;
            uint probe = 0;
            var probePacket = new byte[28];
            probePacket[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(probePacket.AsSpan(2), 28);
            for (int step = 0; step < 20_000 && !(clientUp && gatewayUp); step++)
            {
                pair.Now += TimeSpan.FromMilliseconds(1);
                if (step % 100 == 0)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(probePacket.AsSpan(24), probe++);
                    var e = pair.Client.Encapsulate(GatewayId, probePacket, pair._buffer, pair.Now);
                    if (e.Status == EncapsulateStatus.Send)
                    {
                        pair.Deliver(pair.Client, e.Destination!, pair._buffer.AsSpan(e.Offset, e.Length).ToArray());
                    }
                }

                pair.Client.HandleTimeout(pair.Now);
                pair.Gateway.HandleTimeout(pair.Now);
                clientUp |= pair.Drain(pair.Client, ClientId);
                gatewayUp |= pair.Drain(pair.Gateway, GatewayId);
            }

            if (!(clientUp && gatewayUp))
            {
                throw new InvalidOperationException("the in-memory nodes did not connect");
            }

            return pair;
        }

        /// <summary>Delivers transmits and forwards candidates; true when the node reported ConnectionEstablished.</summary>
        private bool Drain(Firezone.Snownet.Node node, ConnectionId self)
        {
            bool established = false;
            for (int round = 0; round < 100; round++)
            {
                bool progress = false;
                while (node.PollTransmit() is { } t)
                {
                    Deliver(node, t.Destination, t.Payload.ToArray());
                    progress = true;
                }

                while (node.PollEvent() is { } e)
                {
                    progress = true;
                    var other = node == Client ? (Firezone.Snownet.Node)Gateway : Client;
                    switch (e)
                    {
                        case NewIceCandidate c:
                            other.AddRemoteCandidate(self, c.Candidate, Now);
                            break;
                        case ConnectionEstablished:
                            established = true;
                            break;
                    }
                }

                if (!progress)
                {
                    break;
                }
            }

            return established;
        }

        private void Deliver(Firezone.Snownet.Node sender, IPEndPoint destination, byte[] datagram)
        {
            var (receiver, from, local) = sender == Client
                ? ((Firezone.Snownet.Node)Gateway, ClientHost, GatewayHost)
                : (Client, GatewayHost, ClientHost);
            if (!destination.Equals(local))
            {
                return; // the relay
            }

            var r = receiver.Decapsulate(datagram, from, local, _buffer, Now);
            if (r.Status != DecapsulateStatus.Packet)
            {
                receiver.HandleTimeout(Now);
            }
        }

        public void Dispose()
        {
            Client.Dispose();
            Gateway.Dispose();
        }
    }
}
