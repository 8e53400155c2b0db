using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>The kind of a generated grant.</summary>
internal enum GrantKind
{
    Cidr,
    Dns,
    Internet,
}

/// <summary>When a generated grant expires, relative to the wall-clock instant T of the expiry check.</summary>
internal enum Expiry
{
    Never,
    BeforeT,
    AtT,
    AfterT,
}

/// <summary>A generated grant: what the portal authorises, written as plain data.</summary>
internal sealed record GrantSpec(GrantKind Kind, string Network, Filter[] Filters, Expiry Expiry, string[] Proxies, string[] Resolved)
{
    public override string ToString() => Kind switch
    {
        GrantKind.Cidr => $"cidr {Network} [{string.Join(",", Filters)}] {Expiry}",
        GrantKind.Dns => $"dns [{string.Join(",", Filters)}] {Expiry} proxies {string.Join(",", Proxies)} -> {string.Join(",", Resolved)}",
        _ => $"internet {Expiry}",
    };
}

/// <summary>A generated client packet: destination, transport, destination port, source choice.</summary>
internal sealed record PacketSpec(string Destination, int Transport, ushort Port, int Source)
{
    public const int Tcp = 0, Udp = 1, Echo = 2, Other = 3;

    public override string ToString() => $"{new[] { "tcp", "udp", "echo", "gre" }[Transport]} -> {Destination}:{Port} src#{Source}";
}

/// <summary>
/// An independent reference model of what a gateway must forward (tunnel spec §5.3–§5.5 restated as one predicate over
/// the list of active grants, evaluated by linear scans for every packet), and the generators of grants and packets.
/// It shares no code with the filter engine: no prefix table, no port-range sets, no precomputed entries.
/// </summary>
internal static class GrantModel
{
    public static readonly IPAddress ClientV4 = GatewayHarness.ClientV4;
    public static readonly IPAddress ClientV6 = GatewayHarness.ClientV6;

    private static readonly string[] V4Networks = ["198.18.0.0/15", "198.18.0.0/16", "198.18.5.0/24", "198.18.5.7/32", "198.19.0.0/16", "100.96.0.0/30"];
    private static readonly string[] V6Networks = ["2001:2::/48", "2001:2:0:1::/64", "2001:2:0:1::7/128"];
    private static readonly ushort[] Ports = [0, 22, 53, 80, 443, 1000, 65535];
    private static readonly string[] ProxyPool = ["100.96.0.1", "100.96.0.2", "100.96.0.3", "100.96.0.4", "fd00:2021:1111:8000::1", "fd00:2021:1111:8000::2", "fd00:2021:1111:8000::3", "fd00:2021:1111:8000::4"];
    private static readonly string[] RealPool = ["198.18.5.7", "198.18.9.9", "198.19.1.1", "2001:2:0:1::7", "2001:2::9"];

    /// <summary>Destinations: hosts inside and outside the pools' networks, proxies with and without translations, both families.</summary>
    public static readonly string[] Destinations =
    [
        "198.18.5.7", "198.18.5.8", "198.18.200.1", "198.19.1.1", "198.18.9.9", "198.51.100.1",
        "100.96.0.1", "100.96.0.2", "100.96.0.3", "100.96.0.4", "100.96.0.9",
        "2001:2:0:1::7", "2001:2:0:1::8", "2001:2:5::1", "2001:2::9", "2001:db8::1",
        "fd00:2021:1111:8000::1", "fd00:2021:1111:8000::3", "fd00:2021:1111:8000::9",
    ];

    private static readonly IPNetwork ProxyV4 = IPNetwork.Parse("100.96.0.0/11");
    private static readonly IPNetwork ProxyV6 = IPNetwork.Parse("fd00:2021:1111:8000::/107");

    public static Gen<Filter> FilterGen { get; } = Gen.OneOf(
        Gen.Constant(Filter.Icmp),
        from a in Gen.Elements(Ports)
        from b in Gen.Elements(Ports)
        from tcp in Gen.Elements(true, false)
        select tcp ? Filter.Tcp(Math.Min(a, b), Math.Max(a, b)) : Filter.Udp(Math.Min(a, b), Math.Max(a, b)));

    public static Gen<Filter[]> FiltersGen { get; } = Gen.Frequency(
        (1, Gen.Constant(Array.Empty<Filter>())),
        (4, from n in Gen.Choose(1, 3) from f in Gen.ArrayOf(FilterGen, n) select f));

    public static Gen<Expiry> ExpiryGen { get; } = Gen.Frequency(
        (5, Gen.Constant(Expiry.Never)), (1, Gen.Constant(Expiry.BeforeT)), (1, Gen.Constant(Expiry.AtT)), (2, Gen.Constant(Expiry.AfterT)));

    public static Gen<GrantSpec> GrantGen { get; } = Gen.Frequency(
        (6, from net in Gen.Frequency((3, Gen.Elements(V4Networks)), (1, Gen.Elements(V6Networks)))
            from filters in FiltersGen
            from expiry in ExpiryGen
            select new GrantSpec(GrantKind.Cidr, net, filters, expiry, [], [])),
        (3, from filters in FiltersGen
            from expiry in ExpiryGen
            from pn in Gen.Choose(0, 4)
            from proxies in Gen.ArrayOf(Gen.Elements(ProxyPool), pn)
            from rn in Gen.Choose(0, 3)
            from resolved in Gen.ArrayOf(Gen.Elements(RealPool), rn)
            select new GrantSpec(GrantKind.Dns, "", filters, expiry, proxies.Distinct().ToArray(), resolved.Distinct().ToArray())),
        (1, from expiry in ExpiryGen select new GrantSpec(GrantKind.Internet, "", [], expiry, [], [])));

    public static Gen<PacketSpec> PacketGen { get; } =
        from dst in Gen.Elements(Destinations)
        from transport in Gen.Frequency((4, Gen.Constant(PacketSpec.Tcp)), (4, Gen.Constant(PacketSpec.Udp)), (2, Gen.Constant(PacketSpec.Echo)), (1, Gen.Constant(PacketSpec.Other)))
        from port in Gen.Elements(Ports)
        from source in Gen.Frequency((8, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)))
        select new PacketSpec(dst, transport, port, source);

    /// <summary>The grant's description for the gateway (ids are the grant's index).</summary>
    public static GatewayResource Resource(GrantSpec grant, int index)
    {
        var id = IdOf(index);
        return grant.Kind switch
        {
            GrantKind.Cidr => new GatewayCidrResource(id, IPNetwork.Parse(grant.Network), $"cidr{index}", grant.Filters),
            GrantKind.Dns => new GatewayDnsResource(id, "*.example.com", $"dns{index}", grant.Filters),
            _ => new GatewayInternetResource(id),
        };
    }

    public static ResourceId IdOf(int index) => new(new Guid(index + 1, 0, 0, new byte[8]));

    public static DnsResourceNatEntry? NatEntry(GrantSpec grant) => grant.Kind == GrantKind.Dns
        ? new DnsResourceNatEntry("app.example.com", grant.Proxies.Select(IPAddress.Parse).ToList(), grant.Resolved.Select(IPAddress.Parse).ToList())
        : null;

    /// <summary>The wall-clock expiry of a grant for an expiry check at <paramref name="t"/>.</summary>
    public static DateTimeOffset? ExpiresAt(GrantSpec grant, DateTimeOffset t) => grant.Expiry switch
    {
        Expiry.BeforeT => t - TimeSpan.FromSeconds(10),
        Expiry.AtT => t,
        Expiry.AfterT => t + TimeSpan.FromSeconds(100),
        _ => null,
    };

    /// <summary>Source address of a packet: the client's tunnel address of the family, or one of three spoofed ones.</summary>
    public static IPAddress SourceOf(PacketSpec packet)
    {
        bool v6 = IPAddress.Parse(packet.Destination).AddressFamily == AddressFamily.InterNetworkV6;
        return packet.Source switch
        {
            0 => v6 ? ClientV6 : ClientV4,
            1 => IPAddress.Parse(v6 ? "fd00:2021:1111::2" : "100.64.0.2"), // another client's tunnel address
            2 => IPAddress.Parse(v6 ? "2001:2:0:9::1" : "198.18.77.77"),
            _ => IPAddress.Parse(v6 ? "fd00:2021:1111::1:1" : "100.64.0.3"),
        };
    }

    /// <summary>Writes the packet; returns its length.</summary>
    public static int Build(PacketSpec packet, Span<byte> buffer)
    {
        var src = SourceOf(packet);
        var dst = IPAddress.Parse(packet.Destination);
        ReadOnlySpan<byte> payload = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        return packet.Transport switch
        {
            PacketSpec.Tcp => PacketBuilder.Tcp(buffer, src, dst, 40000, packet.Port, payload),
            PacketSpec.Udp => PacketBuilder.Udp(buffer, src, dst, 40000, packet.Port, payload),
            PacketSpec.Echo => PacketBuilder.EchoRequest(buffer, src, dst, 7, 1, payload),
            _ => PacketBuilder.Raw(buffer, src, dst, 47, payload),
        };
    }

    /// <summary>The model's translations: proxy → (grant index, real IP); later grants overwrite earlier ones (cyclic pairing per family, cross-family fallback).</summary>
    public static Dictionary<IPAddress, (int Grant, IPAddress Real)> Translations(IReadOnlyList<GrantSpec> grants)
    {
        var map = new Dictionary<IPAddress, (int, IPAddress)>();
        for (int g = 0; g < grants.Count; g++)
        {
            if (grants[g].Kind != GrantKind.Dns)
            {
                continue;
            }

            var resolved = grants[g].Resolved.Select(IPAddress.Parse).ToList();
            var v4 = resolved.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToList();
            var v6 = resolved.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6).ToList();
            int i4 = 0, i6 = 0;
            foreach (var proxy in grants[g].Proxies.Select(IPAddress.Parse))
            {
                bool proxyV4 = proxy.AddressFamily == AddressFamily.InterNetwork;
                var targets = proxyV4 ? (v4.Count > 0 ? v4 : v6) : (v6.Count > 0 ? v6 : v4);
                if (targets.Count > 0)
                {
                    map[proxy] = (g, targets[(proxyV4 ? i4++ : i6++) % targets.Count]);
                }
            }
        }

        return map;
    }

    /// <summary>
    /// The reference predicate: may the gateway forward <paramref name="packet"/> under the grants marked active? When it
    /// may and the destination is a translated proxy IP of an active DNS grant, <paramref name="natTo"/> is the real IP.
    /// </summary>
    public static bool Allows(IReadOnlyList<GrantSpec> grants, bool[] active, PacketSpec packet, out IPAddress? natTo)
    {
        natTo = null;
        var dst = IPAddress.Parse(packet.Destination);
        bool v6 = dst.AddressFamily == AddressFamily.InterNetworkV6;
        if (!SourceOf(packet).Equals(v6 ? ClientV6 : ClientV4) || !active.Any(a => a))
        {
            return false; // §5.4 step 1; no grant left = no peer at all
        }

        var translations = Translations(grants);
        IPAddress? NatTarget() =>
            translations.TryGetValue(dst, out var t) && active[t.Grant] ? t.Real : null;

        bool inProxyRange = (v6 ? ProxyV6 : ProxyV4).Contains(dst);
        if (!inProxyRange && Enumerable.Range(0, grants.Count).Any(g => active[g] && grants[g].Kind == GrantKind.Internet))
        {
            natTo = NatTarget();
            return true;
        }

        // The longest entry containing dst: networks of active CIDR grants, and host routes of translated proxies whose
        // DNS grant is active (which win over a CIDR host route of the same address).
        int bestLength = -1;
        IPNetwork? bestNetwork = null;
        int proxyGrant = -1;
        for (int g = 0; g < grants.Count; g++)
        {
            if (active[g] && grants[g].Kind == GrantKind.Cidr)
            {
                var n = IPNetwork.Parse(grants[g].Network);
                if (n.BaseAddress.AddressFamily == dst.AddressFamily && n.Contains(dst) && n.PrefixLength > bestLength)
                {
                    (bestLength, bestNetwork) = (n.PrefixLength, n);
                }
            }
        }

        if (translations.TryGetValue(dst, out var tr) && active[tr.Grant])
        {
            int full = v6 ? 128 : 32;
            if (full >= bestLength)
            {
                proxyGrant = tr.Grant;
            }
        }

        bool allowed;
        if (proxyGrant >= 0)
        {
            allowed = Permits(grants[proxyGrant].Filters, packet, v6);
        }
        else if (bestNetwork is { } network)
        {
            allowed = Enumerable.Range(0, grants.Count).Where(g => active[g] && Covers(grants[g], network))
                .Any(g => grants[g].Filters.Length == 0 || Permits(grants[g].Filters, packet, v6));
        }
        else
        {
            allowed = false;
        }

        if (allowed)
        {
            natTo = NatTarget();
        }

        return allowed;
    }

    /// <summary>Does a grant's address set contain the whole network?</summary>
    private static bool Covers(GrantSpec grant, IPNetwork network)
    {
        switch (grant.Kind)
        {
            case GrantKind.Internet:
                return true;
            case GrantKind.Cidr:
                var own = IPNetwork.Parse(grant.Network);
                return own.BaseAddress.AddressFamily == network.BaseAddress.AddressFamily && own.PrefixLength <= network.PrefixLength
                    && own.Contains(network.BaseAddress);
            default:
                int full = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
                return network.PrefixLength == full && grant.Resolved.Select(IPAddress.Parse).Contains(network.BaseAddress);
        }
    }

    private static bool Permits(Filter[] filters, PacketSpec packet, bool v6)
    {
        if (filters.Length == 0)
        {
            return true;
        }

        foreach (var f in filters)
        {
            switch (f.Protocol)
            {
                case FilterProtocol.Tcp when packet.Transport == PacketSpec.Tcp && packet.Port >= f.PortStart && packet.Port <= f.PortEnd:
                case FilterProtocol.Udp when packet.Transport == PacketSpec.Udp && packet.Port >= f.PortStart && packet.Port <= f.PortEnd:
                case FilterProtocol.Icmp when packet.Transport == PacketSpec.Echo:
                    return true;
            }
        }

        return false;
    }
}
