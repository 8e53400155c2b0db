using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// The resource → client direction (tunnel spec §5.4 second half, §5.5 NAT inbound, fix (c)) over random DNS-resource
/// translations (also NAT46/NAT64), random client traffic that opens NAT sessions and random replies, with real
/// WireGuard traffic. The oracle is a table of the sessions as the client saw them leave (original source port and
/// proxy → the port and real IP on the wire), not the gateway's NAT table. 1,000 cases.
/// </summary>
public sealed class GatewayReplyProperties : IDisposable
{
    private const int Cases = 1000;
    private const int Tcp = 0, Udp = 1, Echo = 2, Other = 3, IcmpError = 4;
    private static readonly ResourceId DnsId = new(Guid.Parse("00000000-0000-0000-0000-0000000000d1"));
    private static readonly string[] ProxyPool = ["100.96.0.1", "100.96.0.2", "100.96.0.3", "100.96.0.4", "fd00:2021:1111:8000::1", "fd00:2021:1111:8000::2", "fd00:2021:1111:8000::3", "fd00:2021:1111:8000::4"];
    private static readonly string[] RealPool = ["198.18.5.7", "198.18.9.9", "2001:2:0:1::7", "2001:2::9"];
    private static readonly string[] OtherHosts = ["198.18.77.1", "2001:2::77"];
    private static readonly ushort[] Ports = [1, 53, 80, 1000, 65535];
    private readonly GatewayHarness _h = GatewayHarness.Connect(seed: 17);
    private readonly byte[] _packet = new byte[1500];

    public void Dispose() => _h.Dispose();

    private sealed record Outgoing(int Proxy, int Transport, ushort Port);

    private sealed record Reply(int Source, int Transport, int PortChoice);

    private static readonly Arbitrary<(string[] Resolved, Outgoing[] Out, Reply[] Replies)> CaseArb = (
        from rn in Gen.Choose(1, 3)
        from resolved in Gen.ArrayOf(Gen.Elements(RealPool), rn)
        from outCount in Gen.Choose(1, 12)
        from outgoing in Gen.ArrayOf(
            from proxy in Gen.Choose(0, ProxyPool.Length - 1)
            from transport in Gen.Elements(Tcp, Udp, Echo)
            from port in Gen.Elements(Ports)
            select new Outgoing(proxy, transport, port), outCount)
        from pn in Gen.Choose(1, 20)
        from replies in Gen.ArrayOf(
            from source in Gen.Choose(0, RealPool.Length + OtherHosts.Length - 1)
            from transport in Gen.Frequency((3, Gen.Constant(Tcp)), (3, Gen.Constant(Udp)), (2, Gen.Constant(Echo)), (1, Gen.Constant(Other)), (1, Gen.Constant(IcmpError)))
            from portChoice in Gen.Choose(0, 30)
            select new Reply(source, transport, portChoice), pn)
        select (resolved.Distinct().ToArray(), outgoing, replies)).ToArbitrary();

    [Fact]
    public void Replies_are_un_nated_exactly_for_live_sessions_and_everything_else_reaches_the_client_unchanged()
    {
        Prop.ForAll(CaseArb, c =>
        {
            _h.Gateway.CleanupConnection(GatewayHarness.ClientId);
            _h.Allow(new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("198.18.0.0/15"), "v4", []));
            _h.Allow(new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("2001:2::/48"), "v6", []));
            var proxies = ProxyPool.Select(IPAddress.Parse).ToArray();
            Assert.Equal(DnsNatError.None, _h.Allow(new GatewayDnsResource(DnsId, "*.example.com", "dns", []),
                nat: new DnsResourceNatEntry("a.example.com", proxies, c.Resolved.Select(IPAddress.Parse).ToArray())));

            // The sessions as seen on the wire: (transport, port on the wire, real IP) → (original port, proxy).
            var sessions = new Dictionary<(int, ushort, IPAddress), (ushort Port, IPAddress Proxy)>();
            foreach (var o in c.Out)
            {
                var proxy = proxies[o.Proxy];
                var src = proxy.AddressFamily == AddressFamily.InterNetwork ? GatewayHarness.ClientV4 : GatewayHarness.ClientV6;
                int n = o.Transport switch
                {
                    Tcp => PacketBuilder.Tcp(_packet, src, proxy, o.Port, 443, new byte[10]),
                    Udp => PacketBuilder.Udp(_packet, src, proxy, o.Port, 443, new byte[10]),
                    _ => PacketBuilder.EchoRequest(_packet, src, proxy, o.Port, 1, new byte[10]),
                };
                var (r, forwarded) = _h.Send(_packet.AsSpan(0, n));
                Assert.Equal(NetworkInputStatus.Packet, r.Status);
                Assert.Equal(IpParseError.None, IpPacket.TryParse(forwarded!, out var f));
                ushort wirePort = o.Transport switch
                {
                    Tcp => f.TryGetTcp(out var t) ? t.SourcePort : throw new InvalidOperationException(),
                    Udp => f.TryGetUdp(out var u) ? u.SourcePort : throw new InvalidOperationException(),
                    _ => f.TryGetIcmp(out var i) ? i.Identifier : throw new InvalidOperationException(),
                };
                var key = (o.Transport, wirePort, f.Destination);
                Assert.True(!sessions.TryGetValue(key, out var existing) || existing == (o.Port, proxy), $"two sessions share {key}");
                sessions[key] = (o.Port, proxy);
            }

            var outsidePorts = sessions.Keys.Select(k => k.Item2).Distinct().ToArray();
            var reals = sessions.Keys.Select(k => k.Item3).ToHashSet();
            foreach (var reply in c.Replies)
            {
                var source = IPAddress.Parse(reply.Source < RealPool.Length ? RealPool[reply.Source] : OtherHosts[reply.Source - RealPool.Length]);
                var dst = source.AddressFamily == AddressFamily.InterNetwork ? GatewayHarness.ClientV4 : GatewayHarness.ClientV6;
                ushort port = reply.PortChoice < 20 && outsidePorts.Length > 0 ? outsidePorts[reply.PortChoice % outsidePorts.Length] : Ports[reply.PortChoice % Ports.Length];
                int n = reply.Transport switch
                {
                    Tcp => PacketBuilder.Tcp(_packet, source, dst, 443, port, new byte[10]),
                    Udp => PacketBuilder.Udp(_packet, source, dst, 443, port, new byte[10]),
                    Echo => PacketBuilder.EchoReply(_packet, source, dst, port, 1, new byte[10]),
                    Other => PacketBuilder.Raw(_packet, source, dst, 47, new byte[10]),
                    _ => PacketBuilder.Icmp(_packet, source, dst, (byte)(source.AddressFamily == AddressFamily.InterNetwork ? 3 : 1), 1, [0, 0, 0, 0], new byte[28]),
                };
                var original = _packet.AsSpan(0, n).ToArray();
                var (r, atClient) = _h.Reply(original);
                string context = $"reply {reply} from {source} to port {port}; sessions [{string.Join(", ", sessions.Select(s => $"{s.Key}->{s.Value}"))}] -> {r.Status} {r.Error}";

                bool hasPort = reply.Transport is Tcp or Udp or Echo;
                if (hasPort && sessions.TryGetValue((reply.Transport, port, source), out var inside))
                {
                    Assert.True(r.Status == TunInputStatus.Send, context);
                    Assert.Equal(IpParseError.None, IpPacket.TryParse(atClient!, out var p));
                    var clientAddress = inside.Proxy.AddressFamily == AddressFamily.InterNetwork ? GatewayHarness.ClientV4 : GatewayHarness.ClientV6;
                    Assert.True((inside.Proxy, clientAddress).Equals((p.Source, p.Destination)), context);
                    ushort got = reply.Transport switch
                    {
                        Tcp => p.TryGetTcp(out var t) ? t.DestinationPort : (ushort)0,
                        Udp => p.TryGetUdp(out var u) ? u.DestinationPort : (ushort)0,
                        _ => p.TryGetIcmp(out var i) ? i.Identifier : (ushort)0,
                    };
                    Assert.True(inside.Port == got, context);
                    Assert.True(p.ChecksumsValid(), context);
                }
                else if (!hasPort && reals.Contains(source))
                {
                    Assert.True(r.Status == TunInputStatus.Error && r.Error == GatewayPacketError.UnsupportedProtocol, context);
                }
                else
                {
                    Assert.True(r.Status == TunInputStatus.Send, context);
                    Assert.True(original.AsSpan().SequenceEqual(atClient), context);
                }
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
    }
}
