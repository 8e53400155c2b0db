using System.Net;
using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Testing;

/// <summary>
/// FsCheck generators for Connlib resources as the tunnel test draws them (tunnel spec §9.2): CIDR resources on a random
/// IPv4 /25–/32 or IPv6 /121–/128 network whose network address is neither in a DNS-resource proxy range
/// (100.96.0.0/11, fd00:2021:1111:8000::/107) nor in a documentation range (192.0.2.0/24, 198.51.100.0/24,
/// 203.0.113.0/24, 2001:db8::/32); DNS resources with a pattern that is plain (<c>l1.l2[.l3]</c>), <c>*.</c> + plain or
/// <c>**.</c> + plain, labels of 3–6 lowercase letters; the internet resource. Every resource has exactly one site.
/// Deterministic per FsCheck seed.
/// </summary>
public static class ResourceGenerators
{
    private static readonly IPNetwork[] Excluded =
    [
        IPNetwork.Parse("100.96.0.0/11"), IPNetwork.Parse("fd00:2021:1111:8000::/107"),
        IPNetwork.Parse("192.0.2.0/24"), IPNetwork.Parse("198.51.100.0/24"), IPNetwork.Parse("203.0.113.0/24"),
        IPNetwork.Parse("2001:db8::/32"),
    ];

    /// <summary>A random resource id.</summary>
    public static Gen<ResourceId> ResourceId { get; } = Guid().Select(g => new ResourceId(g));

    /// <summary>A site with a random id and the name <c>site-</c> + the id's first 8 hex digits.</summary>
    public static Gen<Site> Site { get; } = Guid().Select(g => new Site(new SiteId(g), $"site-{g.ToString("N")[..8]}"));

    /// <summary>1–3 sites with distinct ids (the portal's sites, §9.2).</summary>
    public static Gen<IReadOnlyList<Site>> Sites { get; } =
        Gen.Choose(1, 3).SelectMany(n => Site.ArrayOf(n)).Where(s => s.Select(x => x.Id).Distinct().Count() == s.Length)
            .Select(s => (IReadOnlyList<Site>)s);

    /// <summary>A CIDR resource network: IPv4 /25–/32 or IPv6 /121–/128, never <see cref="IsExcluded"/>.</summary>
    public static Gen<IPNetwork> CidrNetwork { get; } =
        (from v4 in Gen.Elements(true, false)
         from prefix in v4 ? Gen.Choose(25, 32) : Gen.Choose(121, 128)
         from address in PacketGenerators.AddressIn(new IPNetwork(v4 ? IPAddress.Any : IPAddress.IPv6Any, 0))
         select Network(address, prefix)).Where(n => !IsExcluded(n));

    /// <summary>True when the network address of <paramref name="network"/> lies in a proxy or documentation range.</summary>
    public static bool IsExcluded(IPNetwork network) => Excluded.Any(e => e.Contains(network.BaseAddress));

    /// <summary>A label of 3–6 lowercase ASCII letters.</summary>
    public static Gen<string> Label { get; } =
        Gen.Choose(3, 6).SelectMany(n => Gen.Choose('a', 'z').ArrayOf(n)).Select(c => new string(c.Select(x => (char)x).ToArray()));

    /// <summary>A plain name of 2 or 3 labels (<c>l1.l2[.l3]</c>).</summary>
    public static Gen<string> PlainName { get; } = Gen.Choose(2, 3).SelectMany(n => Label.ArrayOf(n)).Select(l => string.Join('.', l));

    /// <summary>A DNS resource pattern: plain, <c>*.</c> + plain or <c>**.</c> + plain, equally likely.</summary>
    public static Gen<string> DnsPattern { get; } =
        from prefix in Gen.Elements("", "*.", "**.")
        from name in PlainName
        select prefix + name;

    /// <summary>A CIDR resource on one of <paramref name="sites"/>.</summary>
    public static Gen<CidrResource> Cidr(IReadOnlyList<Site> sites) =>
        from id in ResourceId
        from network in CidrNetwork
        from site in Gen.Elements(sites.ToArray())
        select new CidrResource(id, network, $"cidr {network}", null, [site]);

    /// <summary>A DNS resource on one of <paramref name="sites"/>.</summary>
    public static Gen<DnsResource> Dns(IReadOnlyList<Site> sites) =>
        from id in ResourceId
        from pattern in DnsPattern
        from site in Gen.Elements(sites.ToArray())
        select new DnsResource(id, pattern, $"dns {pattern}", null, [site]);

    /// <summary>The internet resource on one of <paramref name="sites"/>.</summary>
    public static Gen<InternetResource> Internet(IReadOnlyList<Site> sites) =>
        from id in ResourceId
        from site in Gen.Elements(sites.ToArray())
        select new InternetResource(id, Firezone.Connlib.Model.InternetResource.DefaultName, [site]);

    /// <summary>
    /// A portal's resource list (§9.2): 1–4 CIDR, 1–4 DNS resources and one internet resource on <paramref name="sites"/>,
    /// ids pairwise distinct; in that order (CIDR, DNS, internet).
    /// </summary>
    public static Gen<IReadOnlyList<ClientResource>> Resources(IReadOnlyList<Site> sites) =>
        (from cidrCount in Gen.Choose(1, 4)
         from cidr in Cidr(sites).ArrayOf(cidrCount)
         from dnsCount in Gen.Choose(1, 4)
         from dns in Dns(sites).ArrayOf(dnsCount)
         from internet in Internet(sites)
         select (IReadOnlyList<ClientResource>)[.. cidr, .. dns, internet])
        .Where(r => r.Select(x => x.Id).Distinct().Count() == r.Count);

    private static Gen<Guid> Guid() => Gen.Choose(0, 255).ArrayOf(16).Select(b => new Guid(b.Select(x => (byte)x).ToArray()));

    private static IPNetwork Network(IPAddress address, int prefix)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPNetwork(new IPAddress(bytes), prefix);
    }
}
