using System.Net;

using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Testing;

/// <summary>
/// FsCheck generators for the DNS records of a tunnel simulation (tunnel spec §9.2). Record sets are name → records
/// maps sorted by name (ordinal), so enumerating them is deterministic. Deterministic per FsCheck seed.
/// </summary>
public static class DnsRecordGenerators
{
    private static readonly IPNetwork[] ReservedV4 =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.0.2.0/24"),
        IPNetwork.Parse("192.88.99.0/24"), IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("198.51.100.0/24"),
        IPNetwork.Parse("203.0.113.0/24"), IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
    ];

    private static readonly IPNetwork[] ReservedV6 =
    [
        IPNetwork.Parse("2001::/23"), IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("2002::/16"),
    ];

    /// <summary>An address for a DNS resource's name: a host of 198.51.100.0/24 (.1–.254) or one of the first 256 addresses of 2001:db80::/32.</summary>
    public static Gen<IPAddress> ResourceAddress { get; } = Gen.OneOf(
        Gen.Choose(1, 254).Select(h => new IPAddress([198, 51, 100, (byte)h])),
        Gen.Choose(0, 255).Select(h => new IPAddress([0x20, 0x01, 0xdb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)h])));

    /// <summary>A public (non-reserved) address: IPv4 outside private, shared, loopback, link-local, documentation, benchmarking, multicast and reserved ranges; IPv6 global unicast (2000::/3) outside 2001::/23, 2001:db8::/32 and 2002::/16.</summary>
    public static Gen<IPAddress> PublicAddress { get; } = Gen.OneOf(
        PacketGenerators.AddressIn(IPNetwork.Parse("0.0.0.0/0")).Where(a => !ReservedV4.Any(r => r.Contains(a))),
        PacketGenerators.AddressIn(IPNetwork.Parse("2000::/3")).Where(a => !ReservedV6.Any(r => r.Contains(a))));

    /// <summary>A TXT record of 6–10 strings of 255 characters (always too large for a UDP answer, §9.2).</summary>
    public static Gen<SimDnsRecord> LargeTxt { get; } =
        Gen.Choose(6, 10).SelectMany(n => Gen.Choose('a', 'z').Select(c => new string((char)c, 255)).ArrayOf(n))
            .Select(s => SimDnsRecord.ForText(s));

    /// <summary>A record of a global name: A/AAAA on a <see cref="PublicAddress"/> (weight 3) or a <see cref="LargeTxt"/> (weight 1).</summary>
    public static Gen<SimDnsRecord> GlobalRecord { get; } =
        Gen.Frequency((3, PublicAddress.Select(SimDnsRecord.ForAddress)), (1, LargeTxt));

    /// <summary>
    /// The records of a DNS resource (§9.2): a wildcard pattern (<c>*.</c>/<c>**.</c>) gets 1–3 names <c>label.base</c>,
    /// a plain one its own name; each name gets 1–5 distinct A/AAAA records of <see cref="ResourceAddress"/>.
    /// </summary>
    public static Gen<IReadOnlyDictionary<string, IReadOnlyList<SimDnsRecord>>> ForResource(DnsResource resource)
    {
        string pattern = resource.Address;
        string? wildcardBase = pattern.StartsWith("**.", StringComparison.Ordinal) ? pattern[3..]
            : pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : null;
        Gen<string[]> names = wildcardBase is null
            ? Gen.Constant(new[] { pattern })
            : Gen.Choose(1, 3).SelectMany(n => ResourceGenerators.Label.ArrayOf(n)).Select(l => l.Distinct().Select(x => $"{x}.{wildcardBase}").ToArray());
        var addresses = Gen.Choose(1, 5).SelectMany(n => ResourceAddress.ArrayOf(n))
            .Select(a => (IReadOnlyList<SimDnsRecord>)a.Distinct().Select(SimDnsRecord.ForAddress).ToArray());
        return from n in names
               from records in addresses.ArrayOf(n.Length)
               select Sorted(n.Zip(records));
    }

    /// <summary>Global records (§9.2): 0–4 names (<see cref="ResourceGenerators.PlainName"/>) with 1–5 <see cref="GlobalRecord"/>s each.</summary>
    public static Gen<IReadOnlyDictionary<string, IReadOnlyList<SimDnsRecord>>> Global { get; } =
        from count in Gen.Choose(0, 4)
        from names in ResourceGenerators.PlainName.ArrayOf(count)
        from records in Gen.Choose(1, 5).SelectMany(n => GlobalRecord.ArrayOf(n)).ArrayOf(count)
        select Sorted(names.Zip(records.Select(r => (IReadOnlyList<SimDnsRecord>)r)).DistinctBy(p => p.First));

    /// <summary>Global records merged with the records of every DNS resource in <paramref name="resources"/> (a resource's names win a clash).</summary>
    public static Gen<IReadOnlyDictionary<string, IReadOnlyList<SimDnsRecord>>> ForPortal(IEnumerable<ClientResource> resources) =>
        resources.OfType<DnsResource>().Select(ForResource).Aggregate(Global, (acc, next) =>
            from a in acc
            from b in next
            select Sorted(a.Where(kv => !b.ContainsKey(kv.Key)).Select(kv => (kv.Key, kv.Value)).Concat(b.Select(kv => (kv.Key, kv.Value)))));

    private static IReadOnlyDictionary<string, IReadOnlyList<SimDnsRecord>> Sorted(IEnumerable<(string Name, IReadOnlyList<SimDnsRecord> Records)> entries)
    {
        var map = new SortedDictionary<string, IReadOnlyList<SimDnsRecord>>(StringComparer.Ordinal);
        foreach (var (name, records) in entries)
        {
            map[name] = records;
        }

        return map;
    }

}
