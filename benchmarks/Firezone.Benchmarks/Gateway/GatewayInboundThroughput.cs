using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;

namespace Firezone.Benchmarks.Gateway;

/// <summary>
/// <c>gateway-inbound</c>: <see cref="GatewayState.HandleNetworkInput"/> per packet (an encrypted datagram from a client
/// → the IP packet for the TUN device: WireGuard decryption, source and filter checks, DNS-resource NAT) for 1280-byte
/// UDP packets, through the public API, against the bare <see cref="ServerNode.Decapsulate"/> of an identical pair as
/// the reference. Scenarios: a plain CIDR resource, DNS-resource NAT (IPv4 proxy → IPv4 real IP), NAT64 (IPv6 proxy →
/// IPv4 real IP, 1280 → 1260 bytes) and NAT46 (IPv4 proxy → IPv6 real IP; 1260-byte packets, the largest that stay
/// within 1280 as IPv6). Datagrams are encrypted by a client node between the timed batches; the scenarios run in
/// rotating order each round. Prints the median ns per packet, Gbit/s and the bytes allocated per packet.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- gateway-inbound [--rounds 400]</c>.
/// </summary>
public static class GatewayInboundThroughput
{
    private const int Batch = 200;
    private static readonly ConnectionId GatewayConnection = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly ClientId Client = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));
    private static readonly IPAddress ClientV4 = IPAddress.Parse("100.64.0.1");
    private static readonly IPAddress ClientV6 = IPAddress.Parse("fd00:2021:1111::1");
    private static readonly IPEndPoint ClientHost = new(IPAddress.Parse("198.18.1.1"), 40001);
    private static readonly IPEndPoint GatewayHost = new(IPAddress.Parse("198.18.2.1"), 40002);
    private static readonly IPAddress Real4 = IPAddress.Parse("198.18.5.7");
    private static readonly IPAddress Real6 = IPAddress.Parse("2001:2::7");

    /// <summary>Runs the measurement and prints the figures.</summary>
    public static int Run(string[] args)
    {
        int rounds = args.Length > 1 && args[0] == "--rounds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 400;
        var now = TimeSpan.FromSeconds(1);
        var utc = DateTimeOffset.UtcNow;

        // The reference: a bare client/server node pair.
        using var refClient = new ClientNode(RandomNumberGenerator.GetBytes(32), now, utc);
        using var refServer = new ServerNode(RandomNumberGenerator.GetBytes(32), now, utc);
        var refBuffer = new byte[Snownet.Node.BufferSize];
        Connect(refClient, refServer, ref now,
            accept: offer => refServer.AcceptConnection(new ConnectionId(Client.Value), offer, refClient.PublicKey.Span, now),
            deliver: d => refServer.Decapsulate(d, ClientHost, GatewayHost, refBuffer, now).Status == DecapsulateStatus.Packet,
            timeout: t => refServer.HandleTimeout(t),
            poll: () => refServer.PollTransmit(),
            candidates: () => refServer.PollEvent() is NewIceCandidate c ? [c.Candidate] : null,
            addCandidate: (c, t) => refServer.AddRemoteCandidate(new ConnectionId(Client.Value), c, t));

        // The gateway with its grants.
        using var client = new ClientNode(RandomNumberGenerator.GetBytes(32), now, utc);
        using var gateway = new GatewayState(RandomNumberGenerator.GetBytes(32), now, utc);
        var buffer = new byte[Snownet.Node.BufferSize];
        gateway.UpdateRelays([], [new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Parse("198.18.3.1"), 3478), null, "unused", "unused")], now);
        gateway.AddLocalHostCandidate(GatewayHost);
        var dns = new GatewayDnsResource(new ResourceId(Guid.NewGuid()), "*.example.com", "dns", [Filter.Udp(1, 9000)]);
        gateway.AllowAccess(Client, ClientV4, ClientV6, null, new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("198.18.0.0/16"), "cidr", [Filter.Udp(1, 9000)]), null, now);
        gateway.AllowAccess(Client, ClientV4, ClientV6, null, dns, new DnsResourceNatEntry("a.example.com", [IPAddress.Parse("100.96.0.1")], [Real4]), now);
        gateway.AllowAccess(Client, ClientV4, ClientV6, null, dns, new DnsResourceNatEntry("b.example.com", [IPAddress.Parse("fd00:2021:1111:8000::1")], [Real4]), now);
        gateway.AllowAccess(Client, ClientV4, ClientV6, null, dns, new DnsResourceNatEntry("c.example.com", [IPAddress.Parse("100.96.0.2")], [Real6]), now);
        Connect(client, null, ref now,
            accept: offer => gateway.Accept(Client, offer, client.PublicKey.Span, now),
            deliver: d => gateway.HandleNetworkInput(d, ClientHost, GatewayHost, buffer, now).Status == NetworkInputStatus.Packet,
            timeout: t => gateway.HandleTimeout(t, utc),
            poll: () => gateway.PollTransmit(),
            candidates: () => gateway.PollEvent() is AddedIceCandidates a ? a.Candidates : null,
            addCandidate: (c, t) => gateway.AddIceCandidate(Client, c, t),
            gatewayPublicKey: gateway.PublicKey);

        var scenarios = new (string Name, Snownet.Node Sender, byte[] Packet, Func<byte[], bool> Receive)[]
        {
            ("ServerNode.Decapsulate (reference)", refClient, Udp(ClientV4, Real4, 1280), d => refServer.Decapsulate(d, ClientHost, GatewayHost, refBuffer, now).Status == DecapsulateStatus.Packet),
            ("GatewayState, CIDR resource", client, Udp(ClientV4, Real4, 1280), Gw),
            ("GatewayState, DNS-resource NAT v4 -> v4", client, Udp(ClientV4, IPAddress.Parse("100.96.0.1"), 1280), Gw),
            ("GatewayState, NAT64 (v6 proxy -> v4)", client, Udp(ClientV6, IPAddress.Parse("fd00:2021:1111:8000::1"), 1280), Gw),
            ("GatewayState, NAT46 (v4 proxy -> v6), 1260 B", client, Udp(ClientV4, IPAddress.Parse("100.96.0.2"), 1260), Gw),
        };

        bool Gw(byte[] d) => gateway.HandleNetworkInput(d, ClientHost, GatewayHost, buffer, now).Status == NetworkInputStatus.Packet;

        var wire = new byte[Snownet.Node.BufferSize];
        var batch = new byte[Batch][];
        var times = scenarios.Select(_ => new List<double>()).ToArray();
        var allocated = new long[scenarios.Length];
        var sw = new Stopwatch();
        for (int round = -20; round < rounds; round++)
        {
            for (int k = 0; k < scenarios.Length; k++)
            {
                int s = (k + Math.Max(round, 0)) % scenarios.Length;
                var (name, sender, packet, receive) = scenarios[s];
                for (int i = 0; i < Batch; i++)
                {
                    var e = sender.Encapsulate(GatewayConnection, packet, wire, now);
                    if (e.Status != EncapsulateStatus.Send)
                    {
                        throw new InvalidOperationException($"{name}: client did not encrypt ({e.Status} {e.Error})");
                    }

                    batch[i] ??= new byte[e.Length];
                    if (batch[i].Length != e.Length)
                    {
                        batch[i] = new byte[e.Length];
                    }

                    wire.AsSpan(e.Offset, e.Length).CopyTo(batch[i]);
                }

                long before = GC.GetAllocatedBytesForCurrentThread();
                sw.Restart();
                for (int i = 0; i < Batch; i++)
                {
                    if (!receive(batch[i]))
                    {
                        throw new InvalidOperationException($"{name}: packet {i} did not come out");
                    }
                }

                sw.Stop();
                if (round >= 0)
                {
                    allocated[s] += GC.GetAllocatedBytesForCurrentThread() - before;
                    times[s].Add(sw.Elapsed.TotalSeconds / Batch);
                }
            }
        }

        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(ci, "Gateway inbound (encrypted datagram -> IP packet for the TUN), {0} rounds x {1} packets, {2} CPUs", rounds, Batch, Environment.ProcessorCount));
        for (int s = 0; s < scenarios.Length; s++)
        {
            double median = PairedRounds.Median(times[s]);
            int size = scenarios[s].Packet.Length;
            Console.WriteLine(string.Format(ci, "  {0,-46}: {1,7:F0} ns/packet  {2,5:F2} Gbit/s  {3} bytes allocated per packet",
                scenarios[s].Name, median * 1e9, size * 8 / median / 1e9, allocated[s] / ((double)rounds * Batch)));
        }

        return 0;
    }

    private static byte[] Udp(IPAddress src, IPAddress dst, int size)
    {
        var packet = new byte[size];
        int header = src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 28 : 48;
        var payload = new byte[size - header];
        RandomNumberGenerator.Fill(payload);
        PacketBuilder.Udp(packet, src, dst, 5000, 443, payload);
        return packet;
    }

    /// <summary>Connects a client node to a gateway (or bare server node) in memory; transmits to the relay are dropped.</summary>
    private static void Connect(ClientNode client, ServerNode? server, ref TimeSpan now, Func<Offer, Answer> accept, Func<byte[], bool> deliver,
        Action<TimeSpan> timeout, Func<Transmit?> poll, Func<IReadOnlyList<string>?> candidates, Action<string, TimeSpan> addCandidate,
        ReadOnlyMemory<byte>? gatewayPublicKey = null)
    {
        var relay = new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Parse("198.18.3.1"), 3478), null, "unused", "unused");
        client.UpdateRelays([], [relay], now);
        client.AddLocalHostCandidate(ClientHost);
        if (server is not null)
        {
            server.UpdateRelays([], [relay], now);
            server.AddLocalHostCandidate(GatewayHost);
        }

        var offer = client.NewConnection(GatewayConnection, now, now);
        var answer = accept(offer);
        client.AcceptAnswer(GatewayConnection, (gatewayPublicKey ?? server!.PublicKey).Span, answer, now);
        var wire = new byte[Snownet.Node.BufferSize];
        var plain = new byte[Snownet.Node.BufferSize];
        var probe = Udp(ClientV4, Real4, 100);
        for (int step = 0; step < 20_000; step++)
        {
            now += TimeSpan.FromMilliseconds(1);
            if (step % 50 == 0)
            {
                var e = client.Encapsulate(GatewayConnection, probe, wire, now);
                if (e.Status == EncapsulateStatus.Send && e.Destination!.Equals(GatewayHost) && deliver(wire.AsSpan(e.Offset, e.Length).ToArray()))
                {
                    return;
                }
            }

            client.HandleTimeout(now);
            timeout(now);
            for (int round = 0; round < 100; round++)
            {
                bool progress = false;
                while (client.PollTransmit() is { } t)
                {
                    progress = true;
                    if (t.Destination.Equals(GatewayHost) && !deliver(t.Payload.ToArray()))
                    {
                        timeout(now);
                    }
                }

                while (poll() is { } t)
                {
                    progress = true;
                    if (t.Destination.Equals(ClientHost) && client.Decapsulate(t.Payload.Span, GatewayHost, ClientHost, plain, now).Status != DecapsulateStatus.Packet)
                    {
                        client.HandleTimeout(now);
                    }
                }

                while (client.PollEvent() is { } ce)
                {
                    progress = true;
                    if (ce is NewIceCandidate c)
                    {
                        addCandidate(c.Candidate, now);
                    }
                }

                while (candidates() is { } list)
                {
                    progress = true;
                    foreach (var c in list)
                    {
                        client.AddRemoteCandidate(GatewayConnection, c, now);
                    }
                }

                if (!progress)
                {
                    break;
                }
            }
        }

        throw new InvalidOperationException("the in-memory client and gateway did not connect");
    }
}
