using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Firezone.Connlib.Client;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using ClientAdded = Firezone.Connlib.Client.AddedIceCandidates;
using GatewayAdded = Firezone.Connlib.Gateway.AddedIceCandidates;

namespace Firezone.Benchmarks.States;

/// <summary>
/// <c>tunnel-paired</c>: one 1280-byte UDP packet from the client's TUN device to the gateway's TUN device through the
/// Connlib states — <see cref="ClientState.HandleTunInput"/> (resource lookup, encryption) then
/// <see cref="GatewayState.HandleNetworkInput"/> (decryption, source and filter checks) — against the bare Snownet pair
/// (<see cref="ClientNode.Encapsulate"/> then <see cref="ServerNode.Decapsulate"/>) in alternating batches (ABBA), for
/// a CIDR resource and for a DNS resource (proxy IP → real IP rewrite at the gateway). Connected in memory through the
/// public API and a minimal inline portal. Prints the median Gbit/s of each, the ratio and the bytes allocated.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- tunnel-paired</c>.
/// </summary>
public static class TunnelPairedThroughput
{
    private const int Batch = 200;
    private const int Rounds = 1500;
    private static readonly ClientId ClientIdentity = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));
    private static readonly GatewayId GatewayIdentity = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly IPAddress TunnelV4 = IPAddress.Parse("100.64.0.1");
    private static readonly IPAddress TunnelV6 = IPAddress.Parse("fd00:2021:1111::1");
    private static readonly IPEndPoint ClientHost = new(IPAddress.Parse("198.18.1.1"), 40001);
    private static readonly IPEndPoint GatewayHost = new(IPAddress.Parse("198.18.2.1"), 40002);

    /// <summary>Runs the measurement and prints the figures.</summary>
    public static int Run()
    {
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(ci, "Tunnel paired throughput (client TUN → gateway TUN), 1280-byte UDP packets, one core, {0} rounds x {1} packets (ABBA), {2} CPUs", Rounds, Batch, Environment.ProcessorCount));
        foreach (bool dns in new[] { false, true })
        {
            Measure(dns);
        }

        return 0;
    }

    private static void Measure(bool dnsResource)
    {
        var now = TimeSpan.FromSeconds(1);
        var utc = DateTimeOffset.UtcNow;
        using var world = new Pair(now, utc);
        var site = new Site(new SiteId(Guid.NewGuid()), "site");
        var id = new ResourceId(Guid.NewGuid());
        IPAddress destination;
        if (dnsResource)
        {
            world.Records["web.example.com"] = [IPAddress.Parse("198.19.9.9")];
            world.Resources[id] = new GatewayDnsResource(id, "web.example.com", "web", []);
            world.Client.AddResource(new DnsResource(id, "web.example.com", "web", null, [site]), world.Now);
            destination = world.ResolveA("web.example.com");
        }
        else
        {
            world.Resources[id] = new GatewayCidrResource(id, IPNetwork.Parse("198.19.0.0/16"), "lab", []);
            world.Client.AddResource(new CidrResource(id, IPNetwork.Parse("198.19.0.0/16"), "lab", null, [site]), world.Now);
            destination = IPAddress.Parse("198.19.4.4");
        }

        var packet = new byte[1280];
        int length = PacketBuilder.Udp(packet, TunnelV4, destination, 50000, 443, new byte[1280 - 28]);
        world.Connect(packet[..length], site.Id);

        // The reference: a bare, connected node pair.
        using var refClient = new ClientNode(RandomNumberGenerator.GetBytes(32), world.Now, utc);
        using var refServer = new ServerNode(RandomNumberGenerator.GetBytes(32), world.Now, utc);
        var refConnection = new ConnectionId(GatewayIdentity.Value);
        Pair.ConnectNodes(refClient, refServer, refConnection, new ConnectionId(ClientIdentity.Value), world.Now);

        var work = new byte[1280];
        var wire = new byte[Firezone.Snownet.Node.BufferSize];
        var plain = new byte[Firezone.Snownet.Node.BufferSize];
        var t = world.Now;
        void Reference()
        {
            for (int i = 0; i < Batch; i++)
            {
                var e = refClient.Encapsulate(refConnection, packet.AsSpan(0, length), wire, t);
                var d = refServer.Decapsulate(wire.AsSpan(e.Offset, e.Length), ClientHost, GatewayHost, plain, t);
                if (d.Status != DecapsulateStatus.Packet)
                {
                    throw new InvalidOperationException($"reference: {e.Status} {d.Status}");
                }
            }
        }

        void Tunnel()
        {
            for (int i = 0; i < Batch; i++)
            {
                packet.AsSpan(0, length).CopyTo(work);
                var e = world.Client.HandleTunInput(work.AsSpan(0, length), wire, t);
                var d = world.Gateway.HandleNetworkInput(wire.AsSpan(e.Offset, e.Length), ClientHost, GatewayHost, plain, t);
                if (d.Status != NetworkInputStatus.Packet)
                {
                    throw new InvalidOperationException($"tunnel: {e.Status} {d.Status} {d.Error}");
                }
            }
        }

        var (reference, tunnel, allocated) = PairedRounds.Run(Reference, Tunnel, Rounds);
        static double Gbps(double seconds) => Batch * 1280 * 8 / seconds / 1e9;
        var ci = CultureInfo.InvariantCulture;
        string kind = dnsResource ? "DNS resource (proxy IP → real IP at the gateway)" : "CIDR resource";
        Console.WriteLine($"  {kind}:");
        Console.WriteLine(string.Format(ci, "    bare node pair encapsulate+decapsulate      : {0:F2} Gbit/s (median)", Gbps(PairedRounds.Median(reference))));
        Console.WriteLine(string.Format(ci, "    ClientState + GatewayState (public API)     : {0:F2} Gbit/s (median)", Gbps(PairedRounds.Median(tunnel))));
        Console.WriteLine(string.Format(ci, "    states / nodes (median of round ratios)     : {0:F1} %", PairedRounds.MedianRatio(reference, tunnel) * 100));
        Console.WriteLine(string.Format(ci, "    bytes allocated by {0} tunnel packets   : {1}", (long)Rounds * Batch, allocated));
    }

    /// <summary>A ClientState and a GatewayState connected in memory with a minimal inline portal (direct path only).</summary>
    private sealed class Pair : IDisposable
    {
        private readonly byte[] _buffer = new byte[Firezone.Snownet.Node.BufferSize];
        private readonly Queue<Action> _portal = new();

        public Pair(TimeSpan now, DateTimeOffset utc)
        {
            Now = now;
            Client = new ClientState(RandomNumberGenerator.GetBytes(32), now, utc);
            Gateway = new GatewayState(RandomNumberGenerator.GetBytes(32), now, utc);
            var relay = new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Parse("198.18.3.1"), 3478), null, "unused", "unused");
            Client.UpdateRelays([], [relay], now);
            Gateway.UpdateRelays([], [relay], now);
            Client.AddLocalHostCandidate(ClientHost);
            Gateway.AddLocalHostCandidate(GatewayHost);
            Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [new IPEndPoint(IPAddress.Parse("198.18.53.53"), 53)]));
        }

        public ClientState Client { get; }

        public GatewayState Gateway { get; }

        public TimeSpan Now { get; private set; }

        public Dictionary<ResourceId, GatewayResource> Resources { get; } = [];

        public Dictionary<string, IPAddress[]> Records { get; } = [];

        public IPAddress ResolveA(string name)
        {
            var query = new List<byte> { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
            foreach (var label in name.Split('.'))
            {
                query.Add((byte)label.Length);
                query.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
            }

            query.AddRange([0, 0, 1, 0, 1]);
            var p = new byte[100 + query.Count];
            var sentinel = Client.TunConfig!.DnsServers.First();
            int n = PacketBuilder.Udp(p, TunnelV4, sentinel, 5353, 53, query.ToArray());
            Client.HandleTunInput(p.AsSpan(0, n), _buffer, Now);
            var answer = Client.PollPacket() ?? throw new InvalidOperationException("no DNS answer");
            var bytes = answer.ToArray();
            return new IPAddress(bytes.AsSpan(bytes.Length - 4)); // the last A record's address
        }

        /// <summary>Sends <paramref name="probe"/> every 100 ms until it reaches the gateway's TUN device.</summary>
        public void Connect(byte[] probe, SiteId site)
        {
            for (int step = 0; step < 20_000; step++)
            {
                Now += TimeSpan.FromMilliseconds(1);
                if (step % 100 == 0)
                {
                    var e = Client.HandleTunInput(probe.ToArray(), _buffer, Now);
                    if (e.Status == EncapsulateStatus.Send && ToGateway(_buffer.AsSpan(e.Offset, e.Length).ToArray()))
                    {
                        return;
                    }
                }

                Client.HandleTimeout(Now);
                Gateway.HandleTimeout(Now, DateTimeOffset.UtcNow);
                Pump(site);
            }

            throw new InvalidOperationException("the states did not connect");
        }

        private bool ToGateway(byte[] datagram)
        {
            var r = Gateway.HandleNetworkInput(datagram, ClientHost, GatewayHost, _buffer, Now);
            if (r.Status != NetworkInputStatus.Packet)
            {
                Gateway.HandleTimeout(Now, DateTimeOffset.UtcNow);
            }

            return r.Status == NetworkInputStatus.Packet;
        }

        private void Pump(SiteId site)
        {
            for (int round = 0; round < 100; round++)
            {
                bool progress = false;
                while (Client.PollTransmit() is { } t)
                {
                    progress = true;
                    if (t.Destination.Equals(GatewayHost))
                    {
                        ToGateway(t.Payload.ToArray());
                    }
                }

                while (Gateway.PollTransmit() is { } t)
                {
                    progress = true;
                    if (t.Destination.Equals(ClientHost) && Client.HandleNetworkInput(t.Payload.ToArray(), GatewayHost, ClientHost, _buffer, Now).Status != ClientPacketStatus.Packet)
                    {
                        Client.HandleTimeout(Now);
                    }
                }

                while (Client.PollEvent() is { } e)
                {
                    progress = true;
                    switch (e)
                    {
                        case ConnectionIntent intent:
                            _portal.Enqueue(() => Client.OnRoutingDetails(intent.Resource, GatewayIdentity, site, Now));
                            break;
                        case RequestConnection request:
                            _portal.Enqueue(() =>
                            {
                                var answer = Gateway.Accept(ClientIdentity, request.Offer, Client.PublicKey.Span, Now);
                                var nat = request.Domain is { } d ? new DnsResourceNatEntry(d, Records.GetValueOrDefault(d.Name) ?? []) : null;
                                Gateway.AllowAccess(ClientIdentity, TunnelV4, TunnelV6, null, Resources[request.Resource], nat, Now);
                                Client.AcceptAnswer(request.Resource, Gateway.PublicKey.Span, answer, Now);
                            });
                            break;
                        case ClientAdded added:
                            _portal.Enqueue(() => added.Candidates.ToList().ForEach(c => Gateway.AddIceCandidate(ClientIdentity, c, Now)));
                            break;
                    }
                }

                while (Gateway.PollEvent() is { } e)
                {
                    progress = true;
                    if (e is GatewayAdded added)
                    {
                        _portal.Enqueue(() => added.Candidates.ToList().ForEach(c => Client.AddIceCandidate(GatewayIdentity, c, Now)));
                    }
                }

                while (_portal.TryDequeue(out var action))
                {
                    progress = true;
                    action();
                }

                if (!progress)
                {
                    return;
                }
            }
        }

        /// <summary>Connects two bare nodes in memory (offer/answer, host candidates, handshake).</summary>
        public static void ConnectNodes(ClientNode client, ServerNode server, ConnectionId toServer, ConnectionId toClient, TimeSpan now)
        {
            var relay = new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Parse("198.18.3.1"), 3478), null, "unused", "unused");
            client.UpdateRelays([], [relay], now);
            server.UpdateRelays([], [relay], now);
            client.AddLocalHostCandidate(ClientHost);
            server.AddLocalHostCandidate(GatewayHost);
            var offer = client.NewConnection(toServer, now, now);
            var answer = server.AcceptConnection(toClient, offer, client.PublicKey.Span, now);
            client.AcceptAnswer(toServer, server.PublicKey.Span, answer, now);
            var buffer = new byte[Firezone.Snownet.Node.BufferSize];
            var probe = new byte[28];
            probe[0] = 0x45;
            probe[3] = 28;
            for (int step = 0; step < 20_000; step++)
            {
                now += TimeSpan.FromMilliseconds(1);
                if (step % 100 == 0)
                {
                    var e = client.Encapsulate(toServer, probe, buffer, now);
                    if (e.Status == EncapsulateStatus.Send && server.Decapsulate(buffer.AsSpan(e.Offset, e.Length).ToArray(), ClientHost, GatewayHost, buffer, now).Status == DecapsulateStatus.Packet)
                    {
                        return;
                    }
                }

                client.HandleTimeout(now);
                server.HandleTimeout(now);
                for (int round = 0; round < 100; round++)
                {
                    bool progress = false;
                    while (client.PollTransmit() is { } t)
                    {
                        progress = true;
                        if (t.Destination.Equals(GatewayHost) && server.Decapsulate(t.Payload.ToArray(), ClientHost, GatewayHost, buffer, now).Status != DecapsulateStatus.Packet)
                        {
                            server.HandleTimeout(now);
                        }
                    }

                    while (server.PollTransmit() is { } t)
                    {
                        progress = true;
                        if (t.Destination.Equals(ClientHost) && client.Decapsulate(t.Payload.ToArray(), GatewayHost, ClientHost, buffer, now).Status != DecapsulateStatus.Packet)
                        {
                            client.HandleTimeout(now);
                        }
                    }

                    while (client.PollEvent() is { } e)
                    {
                        progress = true;
                        if (e is NewIceCandidate c)
                        {
                            server.AddRemoteCandidate(toClient, c.Candidate, now);
                        }
                    }

                    while (server.PollEvent() is { } e)
                    {
                        progress = true;
                        if (e is NewIceCandidate c)
                        {
                            client.AddRemoteCandidate(toServer, c.Candidate, now);
                        }
                    }

                    if (!progress)
                    {
                        break;
                    }
                }
            }

            throw new InvalidOperationException("the bare nodes did not connect");
        }

        public void Dispose()
        {
            Client.Dispose();
            Gateway.Dispose();
        }
    }
}
