using System.Net;
using Firezone.Connlib.Model;

using Firezone.Testing;

namespace Firezone.Connlib.Tests.Tunnel.Model;

/// <summary>A generated case: the portal's resources, the relayed-only flag and the transitions.</summary>
internal sealed record TunnelCase(int Seed, IReadOnlyList<PortalResource> Portal, bool DropDirect, IReadOnlyDictionary<string, IPAddress[]> GlobalRecords, IReadOnlyList<Transition> Transitions, int Sites = 1)
{
    /// <summary>The client's known hosts.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IPAddress>> KnownHosts { get; init; } = new Dictionary<string, IReadOnlyList<IPAddress>>();

    public string Describe() =>
        $"seed {Seed}, {Sites} site(s) with a gateway each, {(DropDirect ? "relayed only" : "direct allowed")}\nportal:\n  {string.Join("\n  ", Portal)}\n" +
        $"other names:\n  {string.Join("\n  ", GlobalRecords.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} → {string.Join("/", kv.Value.Select(a => a.ToString()))}"))}\ntransitions:\n  {string.Join("\n  ", Transitions.Select((t, i) => $"{i + 1}. {t}"))}";
}

/// <summary>
/// Generates tunnel test cases from a seed (tunnel spec §9.2 initial state, §9.4 transitions with their weights), each
/// transition from the reference state the earlier ones produced. Deterministic: one seed, one case (only ordered
/// collections and <see cref="Random"/> seeded from the case seed).
/// </summary>
internal static class TunnelCaseGenerator
{
    private static readonly Site TheSite = TunnelWorld.TheSite;

    public static TunnelCase Generate(int seed)
    {
        var random = new Random(seed);
        int sites = random.Next(1, 4);
        var portal = GeneratePortal(random, sites);
        bool dropDirect = random.Next(4) == 0;
        var globals = GenerateGlobalRecords(random, portal);
        var knownHosts = GenerateKnownHosts(random);
        var model = new RefState(portal, dropDirect, globals) { KnownHosts = knownHosts };
        var transitions = new List<Transition>();
        int steps = random.Next(5, 16);
        for (int attempt = 0; transitions.Count < steps && attempt < steps * 20; attempt++)
        {
            var t = Next(random, model);
            if (t is null || !model.IsValid(t))
            {
                continue; // a local reject: generate another
            }

            model.Apply(t);
            transitions.Add(t);
        }

        return new TunnelCase(seed, portal, dropDirect, globals, transitions, sites) { KnownHosts = knownHosts };
    }

    private static IReadOnlyDictionary<string, IReadOnlyList<IPAddress>> GenerateKnownHosts(Random random)
    {
        var hosts = new SortedDictionary<string, IReadOnlyList<IPAddress>>(StringComparer.Ordinal);
        foreach (var name in new[] { "api.firezone.dev", "api.firez.one" }.Where((_, i) => i == 0 || random.Next(2) == 0))
        {
            var ips = new List<IPAddress>();
            for (int k = random.Next(1, 3); k > 0; k--)
            {
                ips.Add(random.Next(2) == 0 ? new IPAddress([198, 18, 60, (byte)random.Next(1, 255)]) : IPAddress.Parse($"2001:2:0:60::{random.Next(1, 255):x}"));
            }

            hosts[name] = [.. ips.DistinctBy(a => a.ToString())];
        }

        return hosts;
    }

    /// <summary>0–3 names that are no resource; their addresses lie inside a CIDR resource's network or outside all (the internet resource's).</summary>
    private static IReadOnlyDictionary<string, IPAddress[]> GenerateGlobalRecords(Random random, IReadOnlyList<PortalResource> portal)
    {
        var records = new Dictionary<string, IPAddress[]>(StringComparer.Ordinal);
        var cidrs = portal.Where(p => p.Client is CidrResource).Select(p => ((CidrResource)p.Client).Address).ToList();
        for (int i = random.Next(0, 4); i > 0; i--)
        {
            var ips = new List<IPAddress>();
            for (int k = random.Next(1, 4); k > 0; k--)
            {
                ips.Add(random.Next(3) == 0 && cidrs.Count > 0 ? Host(random, cidrs[random.Next(cidrs.Count)])
                    : random.Next(2) == 0 ? new IPAddress([198, 18, (byte)random.Next(128, 255), (byte)random.Next(1, 255)])
                    : IPAddress.Parse($"2001:2:0:ee{random.Next(0, 255):x2}::{random.Next(1, 255):x}"));
            }

            records[$"{Label(random)}{i}.other"] = [.. ips.DistinctBy(a => a.ToString())];
        }

        if (random.Next(3) == 0)
        {
            // An answer too big for one UDP datagram through the TUN (§11.9): 100 A and 100 AAAA records.
            records[$"{Label(random)}.big.other"] =
            [
                .. Enumerable.Range(1, 100).Select(k => new IPAddress([198, 18, 240, (byte)k])),
                .. Enumerable.Range(1, 100).Select(k => IPAddress.Parse($"2001:2:0:f0::{k:x}")),
            ];
        }

        return records;
    }

    private static IReadOnlyList<PortalResource> GeneratePortal(Random random, int sites)
    {
        var list = new List<PortalResource>();
        var networks = new HashSet<string>(StringComparer.Ordinal);
        int v4 = random.Next(1, 4), v6 = random.Next(0, 3);
        for (int i = 0; i < v4 + v6; i++)
        {
            IPNetwork network;
            do
            {
                network = i < v4
                    ? Align(new IPNetwork(new IPAddress([198, 19, (byte)random.Next(0, 128), 0]), random.Next(25, 33)))
                    : Align(new IPNetwork(IPAddress.Parse($"2001:2:0:{random.Next(1, 200):x}::"), random.Next(121, 129)));
            }
            while (!networks.Add(network.ToString()));

            var id = new ResourceId(new Guid(list.Count + 1, 0, 0, new byte[8]));
            int site = random.Next(sites);
            list.Add(new PortalResource(list.Count, new CidrResource(id, network, $"cidr{list.Count}", null, [TunnelWorld.SiteOf(site)]),
                new GatewayCidrResource(id, network, $"cidr{list.Count}", Filters(random)), [], new Dictionary<string, IPAddress[]>(), site));
        }

        int dns = random.Next(1, 3);
        for (int i = 0; i < dns; i++)
        {
            string base_ = $"{Label(random)}{i}.test";
            int kind = random.Next(3);
            string pattern = kind switch { 0 => base_, 1 => "*." + base_, _ => "**." + base_ };
            var names = kind == 0 ? [base_] : Enumerable.Range(0, random.Next(1, 4)).Select(k => $"{Label(random)}{k}.{base_}").Distinct().ToList();
            var records = new Dictionary<string, IPAddress[]>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                int families = random.Next(3); // 0 v4 only, 1 v6 only, 2 both: NAT64/NAT46 get exercised
                var ips = new List<IPAddress>();
                for (int k = random.Next(1, 3); k > 0; k--)
                {
                    if (families != 1)
                    {
                        ips.Add(new IPAddress([198, 19, 200, (byte)random.Next(1, 255)]));
                    }

                    if (families != 0)
                    {
                        ips.Add(IPAddress.Parse($"2001:2:0:c8::{random.Next(1, 255):x}"));
                    }
                }

                records[name] = [.. ips.DistinctBy(a => a.ToString())];
            }

            var id = new ResourceId(new Guid(list.Count + 1, 0, 0, new byte[8]));
            int site = random.Next(sites);
            list.Add(new PortalResource(list.Count, new DnsResource(id, pattern, $"dns{list.Count}", null, [TunnelWorld.SiteOf(site)]),
                new GatewayDnsResource(id, pattern, $"dns{list.Count}", []), names, records, site));
        }

        if (random.Next(3) != 0)
        {
            var id = new ResourceId(new Guid(list.Count + 1, 0, 0, new byte[8]));
            int site = random.Next(sites);
            list.Add(new PortalResource(list.Count, new InternetResource(id, InternetResource.DefaultName, [TunnelWorld.SiteOf(site)]),
                new GatewayInternetResource(id), [], new Dictionary<string, IPAddress[]>(), site));
        }

        return list;
    }

    /// <summary>Half the CIDR resources filter: one or two of ICMP, a TCP range, a UDP range (the upstream test never filters, §11.26).</summary>
    private static IReadOnlyList<Filter> Filters(Random random)
    {
        if (random.Next(2) == 0)
        {
            return [];
        }

        var filters = new List<Filter>();
        for (int i = random.Next(1, 3); i > 0; i--)
        {
            ushort start = (ushort)random.Next(1, 40000);
            ushort end = (ushort)Math.Min(65535, start + random.Next(0, 30000));
            filters.Add(random.Next(3) switch { 0 => Filter.Icmp, 1 => Filter.Tcp(start, end), _ => Filter.Udp(start, end) });
        }

        return filters;
    }

    private static IPNetwork Align(IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        for (int bit = network.PrefixLength; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), network.PrefixLength);
    }

    private static string Label(Random random) =>
        new([.. Enumerable.Range(0, random.Next(3, 7)).Select(_ => (char)('a' + random.Next(26)))]);

    /// <summary>One transition, weighted as §9.4 (only offered when its inputs exist).</summary>
    private static Transition? Next(Random random, RefState model)
    {
        var options = new List<(int Weight, Func<Transition?> Make)>();
        var inactive = model.Portal.Where(p => !model.Active.Contains(p.Index)).ToList();
        if (inactive.Count > 0)
        {
            options.Add((5, () => new ActivateResource(inactive[random.Next(inactive.Count)].Index)));
        }

        if (model.Active.Count > 0)
        {
            options.Add((1, () => new DeactivateResource(model.Active[random.Next(model.Active.Count)])));
            options.Add((1, () => new DisableResources([.. model.Active.Where(_ => random.Next(3) == 0).Order()])));
        }

        foreach (bool v6 in new[] { false, true })
        {
            var cidrs = model.Portal.Where(p => model.Active.Contains(p.Index) && p.Client is CidrResource c
                && (c.Address.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == v6).ToList();
            if (cidrs.Count > 0)
            {
                options.Add((10, () => Packet(random, Host(random, ((CidrResource)cidrs[random.Next(cidrs.Count)].Client).Address))));
            }

            var resolved = model.Resolved.Where(r => r.IPv6 == v6 && !model.GlobalRecords.ContainsKey(r.Name) && model.IsEnabled(model.OwnerOf(r.Name).Index)).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
            if (resolved.Count > 0)
            {
                options.Add((10, () =>
                {
                    var (proto, id1, id2, payload) = Ids(random);
                    return new SendToName(proto, resolved[random.Next(resolved.Count)].Name, v6, random.Next(4), id1, id2, payload);
                }));
            }
        }

        // Anywhere else: the internet resource's business, or nobody's.
        bool internet = model.InternetIndex is { } inet && model.Active.Contains(inet);
        options.Add((internet ? 6 : 1, () => Packet(random, random.Next(2) == 0
            ? new IPAddress([198, 18, (byte)random.Next(128, 255), (byte)random.Next(1, 255)])
            : IPAddress.Parse($"2001:2:0:ff{random.Next(0, 255):x2}::{random.Next(1, 255):x}"))));

        var names = model.Portal.Where(p => model.IsEnabled(p.Index)).SelectMany(p => p.Names).ToList();
        if (names.Count > 0)
        {
            options.Add((5, () => new QueryName(names[random.Next(names.Count)], random.Next(2) == 0, (ushort)random.Next(1, 65536), Tcp: random.Next(3) == 0)));
        }

        if (model.GlobalRecords.Count > 0)
        {
            var globalNames = model.GlobalRecords.Keys.Order(StringComparer.Ordinal).ToList();
            options.Add((3, () => new QueryGlobalName(globalNames[random.Next(globalNames.Count)], random.Next(2) == 0, (ushort)random.Next(1, 65536))));
            var resolvedGlobal = model.Resolved.Where(r => model.GlobalRecords.ContainsKey(r.Name)).OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.IPv6).ToList();
            if (resolvedGlobal.Count > 0)
            {
                options.Add((3, () =>
                {
                    var (proto, id1, id2, payload) = Ids(random);
                    var r = resolvedGlobal[random.Next(resolvedGlobal.Count)];
                    return new SendToResolvedIp(proto, r.Name, r.IPv6, random.Next(4), id1, id2, payload);
                }));
            }
        }

        var known = model.KnownHosts.Keys.ToList();
        options.Add((2, () => new QueryKnownHost(known[random.Next(known.Count)], random.Next(2) == 0, (ushort)random.Next(1, 65536))));

        // MX (§9.4 SendDnsQueries "one of PTR/MX/A/AAAA"): of a resource's name or another name; always forwarded.
        var mxNames = model.Portal.SelectMany(p => p.Names).Concat(model.GlobalRecords.Keys).Order(StringComparer.Ordinal).ToList();
        if (mxNames.Count > 0)
        {
            options.Add((1, () => new QueryMx(mxNames[random.Next(mxNames.Count)], (ushort)random.Next(1, 65536))));
        }

        // PTR (§9.4 SendDnsQueries): of a proxy IP handed out, of a known host's address, or of an address nobody has.
        var proxied = model.Resolved.Where(r => !model.GlobalRecords.ContainsKey(r.Name) && model.IsEnabled(model.OwnerOf(r.Name).Index))
            .OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.IPv6).ToList();
        if (proxied.Count > 0)
        {
            options.Add((2, () =>
            {
                var r = proxied[random.Next(proxied.Count)];
                return new QueryPtr(PtrTarget.Proxy, r.Name, r.IPv6, random.Next(8), (ushort)random.Next(1, 65536));
            }));
        }

        options.Add((1, () => random.Next(2) == 0
            ? new QueryPtr(PtrTarget.KnownHost, known[random.Next(known.Count)], false, random.Next(4), (ushort)random.Next(1, 65536))
            : new QueryPtr(PtrTarget.Other, "", random.Next(2) == 0, random.Next(1, 255), (ushort)random.Next(1, 65536))));
        options.Add((1, () => new UpdateUpstreamDns([.. Enumerable.Range(0, RefState.ServerPool.Length).Where(_ => random.Next(2) == 0)])));
        options.Add((1, () => new UpdateSystemDns([.. Enumerable.Range(0, RefState.ServerPool.Length).Where(_ => random.Next(2) == 0)])));
        options.Add((1, () => new ReconnectPortal()));
        options.Add((1, () => new DeployNewRelay()));
        options.Add((1, () => random.Next(2) == 0 ? new PartitionRelays() : new PartitionRelays(Reboot: true, NewAddresses: random.Next(2) == 0)));
        options.Add((1, () => new RoamClient(random.Next(1, 200))));
        options.Add((1, () => new Idle(360))); // upstream: 6 minutes

        int total = options.Sum(o => o.Weight);
        int pick = random.Next(total);
        foreach (var (weight, make) in options)
        {
            if (pick < weight)
            {
                return make();
            }

            pick -= weight;
        }

        return null;
    }

    private static IPAddress Host(Random random, IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        int hostBits = bytes.Length * 8 - network.PrefixLength;
        for (int bit = 0; bit < hostBits; bit++)
        {
            if (random.Next(2) == 0)
            {
                int index = bytes.Length * 8 - 1 - bit;
                bytes[index / 8] |= (byte)(0x80 >> (index % 8));
            }
        }

        return new IPAddress(bytes);
    }

    private static SendToIp Packet(Random random, IPAddress destination)
    {
        var (proto, id1, id2, payload) = Ids(random);
        return new SendToIp(proto, destination, random.Next(11) != 0, id1, id2, payload);
    }

    private static (Proto, ushort, ushort, ulong) Ids(Random random)
    {
        var proto = (Proto)random.Next(3);
        ushort id1 = (ushort)random.Next(1, 65536);
        ushort id2 = (ushort)random.Next(1, 65536);
        if (proto != Proto.Icmp && id2 == 53)
        {
            id2 = 54; // never the DNS port
        }

        return (proto, id1, id2, (ulong)random.NextInt64());
    }
}
