using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>Tunnel spec §5.3 (filters per client) and upstream peer.rs' filter tests, on the per-client state.</summary>
public sealed class FilterTests
{
    internal static readonly IPAddress SourceV4 = IPAddress.Parse("100.64.0.1");
    internal static readonly IPAddress SourceV6 = IPAddress.Parse("fd00:2021:1111::1");
    private static readonly ResourceId R1 = new(Guid.Parse("9d4b79f6-1db7-4cb3-a077-712102204d73"));
    private static readonly ResourceId R2 = new(Guid.Parse("ed29c148-2acf-4ceb-8db5-d796c2671631"));
    private static readonly ResourceId Internet = new(Guid.Parse("ed29c148-2acf-4ceb-8db5-d796c267163a"));

    internal static ClientOnGateway NewPeer() => new(new ClientId(Guid.NewGuid()), SourceV4, SourceV6, NullLogger.Instance);

    internal static byte[] Udp(IPAddress dst, ushort port, IPAddress? src = null)
    {
        var b = new byte[1280];
        int n = PacketBuilder.Udp(b, src ?? Source(dst), dst, 1, port, new byte[8]);
        return b[..n];
    }

    internal static byte[] Tcp(IPAddress dst, ushort port, IPAddress? src = null)
    {
        var b = new byte[1280];
        int n = PacketBuilder.Tcp(b, src ?? Source(dst), dst, 5401, port, new byte[100]);
        return b[..n];
    }

    internal static byte[] Echo(IPAddress dst, ushort id = 1, IPAddress? src = null)
    {
        var b = new byte[1280];
        int n = PacketBuilder.EchoRequest(b, src ?? Source(dst), dst, id, 0, []);
        return b[..n];
    }

    internal static byte[] Raw(IPAddress dst, byte protocol)
    {
        var b = new byte[1280];
        int n = PacketBuilder.Raw(b, Source(dst), dst, protocol, new byte[8]);
        return b[..n];
    }

    private static IPAddress Source(IPAddress dst) => dst.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? SourceV4 : SourceV6;

    internal static bool Allowed(ClientOnGateway peer, byte[] packet)
    {
        IpPacket.TryParse(packet, out var p);
        return peer.IsDestinationAllowed(p);
    }

    private static GatewayCidrResource Cidr(ResourceId id, string network, params Filter[] filters) => new(id, IPNetwork.Parse(network), "cidr", filters);

    [Fact]
    public void Gateway_filters_expire_individually()
    {
        var peer = NewPeer();
        var now = new DateTimeOffset(2024, 11, 29, 12, 0, 0, TimeSpan.Zero);
        var then = now + TimeSpan.FromSeconds(10);
        var afterThen = then + TimeSpan.FromSeconds(10);
        peer.AddResource(Cidr(R1, "10.0.0.0/24", Filter.Tcp(20, 100)), then);
        peer.AddResource(Cidr(R2, "10.0.0.0/24", Filter.Udp(20, 100)), afterThen);
        var tcp = Tcp(IPAddress.Parse("10.0.0.1"), 80);
        var udp = Udp(IPAddress.Parse("10.0.0.1"), 80);

        peer.ExpireResources(now);
        Assert.True(Allowed(peer, tcp));
        Assert.True(Allowed(peer, udp));
        peer.ExpireResources(then);
        Assert.False(Allowed(peer, tcp));
        Assert.True(Allowed(peer, udp));
        peer.ExpireResources(afterThen);
        Assert.False(Allowed(peer, tcp));
        Assert.False(Allowed(peer, udp));
    }

    [Fact]
    public void Dns_and_cidr_filters_mix()
    {
        var peer = NewPeer();
        peer.AddResource(new GatewayDnsResource(R1, "foo.com", "foo", [Filter.Udp(80, 80)]), null);
        peer.AddResource(Cidr(R2, "10.0.0.0/24", Filter.Udp(443, 443)), null);
        Assert.Equal(DnsNatError.None, peer.SetupNat("foo.com", R1, [IPAddress.Parse("10.0.0.1")], [IPAddress.Parse("100.96.0.1")], TimeSpan.Zero));

        Assert.True(Allowed(peer, Udp(IPAddress.Parse("10.0.0.1"), 443)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("10.0.0.1"), 80)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 443)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 80)));
    }

    [Fact]
    public void Internet_resource_does_not_allow_all_traffic_for_dns_resources()
    {
        var peer = NewPeer();
        peer.AddResource(new GatewayDnsResource(R1, "foo.com", "foo", [Filter.Udp(80, 80)]), null);
        peer.AddResource(new GatewayInternetResource(Internet), null);
        peer.SetupNat("foo.com", R1, [IPAddress.Parse("10.0.0.1")], [IPAddress.Parse("100.96.0.1")], TimeSpan.Zero);

        Assert.True(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 80)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 600)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("1.1.1.1"), 600)));
    }

    [Fact]
    public void Internet_resource_bypasses_filters_for_every_destination_except_the_proxy_ranges()
    {
        var peer = NewPeer();
        peer.AddResource(new GatewayInternetResource(Internet), null);
        Assert.True(Allowed(peer, Raw(IPAddress.Parse("198.51.100.1"), 47)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("2001:db8::1"), 9)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 9)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.127.255.254"), 9)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("fd00:2021:1111:8000::5"), 9)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("100.95.255.255"), 9))); // just below 100.96.0.0/11
    }

    [Fact]
    public void Internet_resource_makes_every_cidr_resource_permit_all_for_that_client()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "100.96.0.0/24", Filter.Tcp(22, 22)), null); // inside the proxy range: filters apply
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.96.0.7"), 53)));
        peer.AddResource(new GatewayInternetResource(Internet), null);
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("100.96.0.7"), 53)));
        Assert.True(peer.FilterEntries().All(e => e.Engine.IsPermitAll));
    }

    [Fact]
    public void Empty_filter_list_permits_all_and_wins_the_union()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "10.0.0.0/24", Filter.Tcp(22, 22)), null);
        Assert.False(Allowed(peer, Raw(IPAddress.Parse("10.0.0.9"), 47)));
        peer.AddResource(Cidr(R2, "10.0.0.0/24"), null);
        Assert.True(Allowed(peer, Raw(IPAddress.Parse("10.0.0.9"), 47)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("10.0.0.9"), 1)));
    }

    [Fact]
    public void Filters_are_unions_across_overlapping_resources_including_supernets()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "10.0.0.0/8", Filter.Udp(53, 53)), null);
        peer.AddResource(Cidr(R2, "10.1.0.0/16", Filter.Tcp(443, 443)), null);
        // In the /16: its own filters plus the supernet's.
        Assert.True(Allowed(peer, Tcp(IPAddress.Parse("10.1.2.3"), 443)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("10.1.2.3"), 53)));
        // Outside the /16: only the supernet's (the narrower resource does not widen it).
        Assert.False(Allowed(peer, Tcp(IPAddress.Parse("10.2.0.1"), 443)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("10.2.0.1"), 53)));
    }

    [Fact]
    public void Longest_prefix_filter_entry_decides_and_a_dns_resources_resolved_ip_contributes_to_a_host_route()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "10.0.0.5/32", Filter.Tcp(22, 22)), null);
        peer.AddResource(new GatewayDnsResource(R2, "*.foo.com", "foo", [Filter.Udp(80, 80)]), null);
        peer.SetupNat("a.foo.com", R2, [IPAddress.Parse("10.0.0.5")], [], TimeSpan.Zero);
        Assert.True(Allowed(peer, Tcp(IPAddress.Parse("10.0.0.5"), 22)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("10.0.0.5"), 80)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("10.0.0.6"), 80)));
    }

    [Fact]
    public void Dns_proxy_ips_get_their_dns_resources_filters_alone()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "100.96.0.0/24"), null); // permit-all CIDR over the proxy
        peer.AddResource(new GatewayDnsResource(R2, "foo.com", "foo", [Filter.Udp(80, 80)]), null);
        peer.SetupNat("foo.com", R2, [IPAddress.Parse("10.0.0.1")], [IPAddress.Parse("100.96.0.1")], TimeSpan.Zero);
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 81)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 80)));
        Assert.True(Allowed(peer, Udp(IPAddress.Parse("100.96.0.2"), 81)));
    }

    [Fact]
    public void Icmp_filter_allows_icmp_and_icmpv6_and_other_protocols_are_denied_under_filters()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "10.0.0.0/24", Filter.Icmp), null);
        peer.AddResource(Cidr(R2, "2001:db8::/64", Filter.Icmp), null);
        Assert.True(Allowed(peer, Echo(IPAddress.Parse("10.0.0.1"))));
        Assert.True(Allowed(peer, Echo(IPAddress.Parse("2001:db8::1"))));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("10.0.0.1"), 1)));
        Assert.False(Allowed(peer, Raw(IPAddress.Parse("10.0.0.1"), 47)));
        Assert.False(Allowed(peer, Raw(IPAddress.Parse("2001:db8::1"), 47)));
    }

    [Fact]
    public void Destination_without_any_filter_entry_is_denied()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "10.0.0.0/24"), null);
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("10.0.1.1"), 1)));
        Assert.False(Allowed(peer, Udp(IPAddress.Parse("100.96.0.1"), 1))); // a proxy IP without translation
    }

    [Fact]
    public void Update_resource_replaces_filters_only_and_a_kind_change_is_ignored()
    {
        var peer = NewPeer();
        peer.AddResource(Cidr(R1, "10.0.0.0/24", Filter.Tcp(22, 22)), null);
        peer.UpdateResource(Cidr(R1, "10.9.0.0/24", Filter.Tcp(80, 80))); // address change is not applied
        Assert.True(Allowed(peer, Tcp(IPAddress.Parse("10.0.0.1"), 80)));
        Assert.False(Allowed(peer, Tcp(IPAddress.Parse("10.0.0.1"), 22)));
        Assert.False(Allowed(peer, Tcp(IPAddress.Parse("10.9.0.1"), 80)));
        peer.UpdateResource(new GatewayDnsResource(R1, "foo.com", "x", [Filter.Udp(1, 1)])); // kind change
        Assert.True(Allowed(peer, Tcp(IPAddress.Parse("10.0.0.1"), 80)));
        Assert.IsType<CidrOnGateway>(peer.Resources[R1]);
    }

    [Fact]
    public void Allow_access_for_an_existing_resource_updates_its_filters_and_keeps_its_expiry()
    {
        var peer = NewPeer();
        var expiry = new DateTimeOffset(2024, 11, 29, 12, 0, 0, TimeSpan.Zero);
        peer.AddResource(Cidr(R1, "10.0.0.0/24", Filter.Tcp(22, 22)), expiry);
        peer.AddResource(Cidr(R1, "10.0.0.0/24", Filter.Tcp(80, 80)), expiry + TimeSpan.FromDays(1));
        Assert.True(Allowed(peer, Tcp(IPAddress.Parse("10.0.0.1"), 80)));
        Assert.Equal(expiry, peer.Resources[R1].ExpiresAt);
    }

    // ---- upstream peer.rs proptests, on the destination check only ----------------------------------------------

    private static readonly Gen<(IPNetwork Network, IPAddress Host)> CidrWithHost =
        from v6 in Gen.Elements(false, true)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), v6 ? 16 : 4)
        from length in Gen.Choose(8, v6 ? 128 : 32)
        from hostBytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), v6 ? 16 : 4)
        select MakeCidrWithHost(bytes, length, hostBytes);

    private static (IPNetwork, IPAddress) MakeCidrWithHost(byte[] bytes, int length, byte[] hostBytes)
    {
        var network = new IPNetwork(Mask(bytes, length), length);
        var host = new byte[bytes.Length];
        var baseBytes = network.BaseAddress.GetAddressBytes();
        for (int i = 0; i < host.Length; i++)
        {
            int bitsHere = Math.Clamp(length - (i * 8), 0, 8);
            byte keep = (byte)(0xFF << (8 - bitsHere));
            host[i] = (byte)((baseBytes[i] & keep) | (hostBytes[i] & ~keep));
        }

        return (network, new IPAddress(host));
    }

    private static IPAddress Mask(byte[] bytes, int length)
    {
        var masked = (byte[])bytes.Clone();
        for (int i = 0; i < masked.Length; i++)
        {
            int bitsHere = Math.Clamp(length - (i * 8), 0, 8);
            masked[i] &= (byte)(0xFF << (8 - bitsHere));
        }

        return new IPAddress(masked);
    }

    private static readonly Gen<Filter> OneFilter = Gen.OneOf(
        Gen.Constant(Filter.Icmp),
        from s in Gen.Choose(0, 65535) from e in Gen.Choose(s, 65535) select Filter.Udp((ushort)s, (ushort)e),
        from s in Gen.Choose(0, 65535) from e in Gen.Choose(s, 65535) select Filter.Tcp((ushort)s, (ushort)e));

    private static readonly Gen<Filter[]> Filters = from n in Gen.Choose(0, 20) from f in Gen.ArrayOf(OneFilter, n) select f;

    /// <summary>(protocol, port) of a packet one of the filters permits (any protocol when there are none).</summary>
    private static Gen<(int Protocol, ushort Port)> AllowedBy(Filter[] filters) => filters.Length == 0
        ? from p in Gen.Choose(0, 2) from port in Gen.Choose(0, 65535) select (p, (ushort)port)
        : from f in Gen.Elements(filters)
          from port in Gen.Choose(f.PortStart, f.PortEnd)
          select (f.Protocol switch { FilterProtocol.Tcp => 0, FilterProtocol.Udp => 1, _ => 2 }, (ushort)port);

    private static byte[] PacketOf(IPAddress dst, (int Protocol, ushort Port) p) => p.Protocol switch
    {
        0 => Tcp(dst, p.Port),
        1 => Udp(dst, p.Port),
        _ => Echo(dst),
    };

    private static readonly Gen<(Filter[] Filters, (int, ushort) Packet)> FiltersWithAllowed =
        from filters in Filters from packet in AllowedBy(filters) select (filters, packet);

    [Fact]
    public void Gateway_accepts_allowed_packet_of_five_cidr_resources()
    {
        var gen = from rs in Gen.ArrayOf(Gen.Zip(CidrWithHost, FiltersWithAllowed), 5) select rs;
        Prop.ForAll(gen.ToArbitrary(), resources =>
        {
            var peer = NewPeer();
            for (int i = 0; i < resources.Length; i++)
            {
                peer.AddResource(Cidr(new ResourceId(Guid.NewGuid()), resources[i].Item1.Network.ToString(), resources[i].Item2.Filters), null);
            }

            foreach (var ((_, host), (_, packet)) in resources)
            {
                Assert.True(Allowed(peer, PacketOf(host, packet)));
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Gateway_accepts_different_resources_with_the_same_network()
    {
        var gen = from net in CidrWithHost from n in Gen.Choose(1, 10) from configs in Gen.ArrayOf(FiltersWithAllowed, n) select (net, configs);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var peer = NewPeer();
            foreach (var (filters, _) in c.configs)
            {
                peer.AddResource(Cidr(new ResourceId(Guid.NewGuid()), c.net.Network.ToString(), filters), null);
            }

            foreach (var (_, packet) in c.configs)
            {
                Assert.True(Allowed(peer, PacketOf(c.net.Host, packet)));
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true));
    }

    /// <summary>Ports of a protocol that none of the filters cover (the gaps), as an oracle independent of the port sets.</summary>
    private static List<(ushort, ushort)> Gaps(Filter[] filters, FilterProtocol protocol)
    {
        var covered = new bool[65536];
        foreach (var f in filters.Where(f => f.Protocol == protocol))
        {
            for (int p = f.PortStart; p <= f.PortEnd; p++)
            {
                covered[p] = true;
            }
        }

        var gaps = new List<(ushort, ushort)>();
        for (int p = 0; p <= 65535; p++)
        {
            if (!covered[p])
            {
                int start = p;
                while (p < 65535 && !covered[p + 1])
                {
                    p++;
                }

                gaps.Add(((ushort)start, (ushort)p));
            }
        }

        return gaps;
    }

    [Fact]
    public void Gateway_rejects_a_packet_in_the_gaps_of_a_resources_filters()
    {
        var gen =
            from net in CidrWithHost
            from n in Gen.Choose(1, 20)
            from filters in Gen.ArrayOf(OneFilter, n)
            from kind in Gen.Elements(filters.Any(f => f.Protocol == FilterProtocol.Icmp) ? [0, 1] : new[] { 0, 1, 2 })
            let gaps = kind == 2 ? [] : Gaps(filters, kind == 0 ? FilterProtocol.Tcp : FilterProtocol.Udp)
            where kind == 2 || gaps.Count > 0
            from gap in kind == 2 ? Gen.Constant(((ushort)0, (ushort)0)) : Gen.Elements(gaps.ToArray())
            from port in Gen.Choose(gap.Item1, gap.Item2)
            select (net, filters, kind, (ushort)port);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var peer = NewPeer();
            peer.AddResource(Cidr(R1, c.net.Network.ToString(), c.filters), null);
            Assert.False(Allowed(peer, PacketOf(c.net.Host, (c.kind, c.Item4))));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Gateway_rejects_removed_filter_packet_and_keeps_the_supernets()
    {
        // Resource A on the supernet of B; B's filters lie only in A's gaps. After removing B, A's packet passes, B's not.
        var gen =
            from net in CidrWithHost.Where(n => n.Network.PrefixLength > 8)
            from n in Gen.Choose(1, 10)
            from filtersA in Gen.ArrayOf(OneFilter, n)
            from packetA in AllowedBy(filtersA)
            let tcpGaps = Gaps(filtersA, FilterProtocol.Tcp)
            let udpGaps = Gaps(filtersA, FilterProtocol.Udp)
            let hasIcmp = filtersA.Any(f => f.Protocol == FilterProtocol.Icmp)
            let choices = (tcpGaps.Count > 0 ? new[] { 0 } : []).Concat(udpGaps.Count > 0 ? [1] : []).Concat(hasIcmp ? [] : new[] { 2 }).ToArray()
            where choices.Length > 0
            from kindB in Gen.Elements(choices)
            from gap in kindB == 2 ? Gen.Constant(((ushort)0, (ushort)0)) : Gen.Elements((kindB == 0 ? tcpGaps : udpGaps).ToArray())
            from portB in Gen.Choose(gap.Item1, gap.Item2)
            select (net, filtersA, packetA, kindB, gap, (ushort)portB);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var peer = NewPeer();
            var supernet = new IPNetwork(Mask(c.net.Network.BaseAddress.GetAddressBytes(), c.net.Network.PrefixLength - 1), c.net.Network.PrefixLength - 1);
            var filterB = c.kindB switch
            {
                0 => Filter.Tcp(c.gap.Item1, c.gap.Item2),
                1 => Filter.Udp(c.gap.Item1, c.gap.Item2),
                _ => Filter.Icmp,
            };
            peer.AddResource(Cidr(R1, supernet.ToString(), c.filtersA), null);
            peer.AddResource(Cidr(R2, c.net.Network.ToString(), filterB), null);
            var packetB = PacketOf(c.net.Host, (c.kindB, c.Item6));
            Assert.True(Allowed(peer, packetB));
            peer.RemoveResource(R2);
            Assert.True(Allowed(peer, PacketOf(c.net.Host, c.packetA)));
            Assert.False(Allowed(peer, packetB));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true));
    }
}
