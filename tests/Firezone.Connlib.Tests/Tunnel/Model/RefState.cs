using System.Net;
using Firezone.Connlib.Model;

using Firezone.Testing;

namespace Firezone.Connlib.Tests.Tunnel.Model;

/// <summary>A resource of the stub portal: what the client gets, what the gateway gets, and for DNS resources the names and their records.</summary>
internal sealed record PortalResource(int Index, ClientResource Client, GatewayResource Gateway, IReadOnlyList<string> Names, IReadOnlyDictionary<string, IPAddress[]> Records, int Site = 0)
{
    public override string ToString() => $"site {Site} " + Client switch
    {
        CidrResource c => $"#{Index} CIDR {c.Address}{(Gateway.Filters.Count == 0 ? "" : " filters " + string.Join(",", Gateway.Filters.Select(f => f.Protocol == FilterProtocol.Icmp ? "icmp" : $"{f.Protocol.ToString().ToLowerInvariant()} {f.PortStart}-{f.PortEnd}")))}",
        DnsResource d => $"#{Index} DNS {d.Address} names [{string.Join(", ", Names.Select(n => $"{n} → {string.Join("/", Records[n].Select(a => a.ToString()))}"))}]",
        _ => $"#{Index} Internet",
    };
}

/// <summary>An exchange the reference expects to happen: a request that reaches the resource side and its reply that reaches the client.</summary>
internal sealed record ExpectedExchange(ulong Payload, Proto Proto, IPAddress? Destination, string? Name, string Branch, int Site = 0);

/// <summary>
/// The reference state of the tunnel test (tunnel spec §9.2–§9.3, RefClient + stub portal), pure: the portal's resources,
/// what the client has, which resources (and names) are connected, what the client resolved, and what is expected.
/// </summary>
internal sealed class RefState
{
    public RefState(IReadOnlyList<PortalResource> portal, bool dropDirect, IReadOnlyDictionary<string, IPAddress[]> globalRecords)
    {
        Portal = portal;
        DropDirect = dropDirect;
        GlobalRecords = globalRecords;
    }

    /// <summary>The client's known hosts (§9.2: 1–2 of api.firezone.dev / api.firez.one with 1–2 addresses each).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IPAddress>> KnownHosts { get; init; } = new Dictionary<string, IReadOnlyList<IPAddress>>();

    /// <summary>Names that are no resource, with the addresses the host's resolver answers (§9.2 global DNS records).</summary>
    public IReadOnlyDictionary<string, IPAddress[]> GlobalRecords { get; }

    /// <summary>The addresses of <paramref name="name"/> of one family, in record order.</summary>
    public IPAddress[] GlobalAddresses(string name, bool ipv6) =>
        [.. GlobalRecords[name].Where(a => (a.AddressFamily == global::System.Net.Sockets.AddressFamily.InterNetworkV6) == ipv6)];

    /// <summary>The server behind the first IPv4 sentinel, where the application sends its queries: the first IPv4 server of <see cref="ExpectedServers"/> (§4.3: sentinels assigned in list order, per family).</summary>
    public IPEndPoint? FirstV4Server => ExpectedServers.FirstOrDefault(s => s.AddressFamily == global::System.Net.Sockets.AddressFamily.InterNetwork);

    /// <summary>
    /// The resource a forwarded query (a name that is no resource, a PTR of an address nobody has) goes through (§11.8):
    /// only portal servers are reached through the tunnel, through the most specific enabled CIDR resource holding the
    /// server or the enabled internet resource; null: the host resolves it.
    /// </summary>
    public int? ForwardedQueryResource => Upstream.Count > 0 && FirstV4Server is { } server ? ResourceFor(server.Address) : null;

    /// <summary>
    /// Whether a forwarded query may be sent now: a v4 server exists and, when it goes through the tunnel, the resource
    /// does not filter (the model leaves the gateway's filter decision on DNS queries to the packet transitions).
    /// </summary>
    public bool ForwardedQueryValid => FirstV4Server is not null
        && (ForwardedQueryResource is not { } r || Portal[r].Gateway.Filters.Count == 0);

    /// <summary>
    /// A forwarded query (§9.4 SendDnsQueries): answered when the host resolves it or its resource is connected (the
    /// connection then carries data); otherwise the client drops it and connects the resource.
    /// </summary>
    /// <returns>Whether an answer is expected.</returns>
    private bool OnForwardedQuery()
    {
        if (ForwardedQueryResource is not { } r)
        {
            return true;
        }

        int gateway = Portal[r].Site;
        if (IsConnected(r))
        {
            QuietSeconds[gateway] = 0;
            ForwardedThroughTunnel++;
            return true;
        }

        Connect(r, null);
        return false;
    }

    /// <summary>Names whose answer cannot fit one UDP datagram through the TUN: the application gets it truncated (TC, no records).</summary>
    public static bool IsOversized(string name) => name.EndsWith(".big.other", StringComparison.Ordinal);

    /// <summary>Forwarded queries expected to be answered through the tunnel so far (for the coverage report).</summary>
    public int ForwardedThroughTunnel { get; private set; }

    public IReadOnlyList<PortalResource> Portal { get; }

    /// <summary>DNS servers to choose from (none inside a resource, so queries for other names go to the host).</summary>
    public static readonly IPEndPoint[] ServerPool =
    [
        TunnelWorld.UpstreamDns,
        new(IPAddress.Parse("198.18.53.54"), 53),
        new(IPAddress.Parse("2001:2:0:35::53"), 53),
        new(IPAddress.Parse("198.18.53.55"), 5353),
    ];

    public List<IPEndPoint> Upstream { get; private set; } = [TunnelWorld.UpstreamDns];

    public List<IPAddress> SystemDns { get; private set; } = [];

    /// <summary>§4.3: the portal's servers if any, else the system resolvers on port 53.</summary>
    public IReadOnlyList<IPEndPoint> ExpectedServers => Upstream.Count > 0 ? Upstream : [.. SystemDns.Select(ip => new IPEndPoint(ip, 53))];

    public bool DropDirect { get; }

    public List<int> Active { get; } = [];

    public HashSet<int> Disabled { get; private set; } = [];

    public HashSet<int> ConnectedCidr { get; } = [];

    public bool InternetConnected { get; set; }

    public HashSet<(int Resource, string Name)> ConnectedNames { get; } = [];

    /// <summary>Names the application resolved, per family.</summary>
    public HashSet<(string Name, bool IPv6)> Resolved { get; } = [];

    public List<ExpectedExchange> Expected { get; } = [];

    public List<ushort> ExpectedDns { get; } = [];

    /// <summary>Payloads the gateway must refuse (its filters do not allow them): never forwarded, answered at most with ICMP prohibited.</summary>
    public HashSet<ulong> Refused { get; } = [];

    /// <summary>Resources the gateway has granted the client (grants stay when the client disables or forgets a resource).</summary>
    public HashSet<int> Granted { get; } = [];

    /// <summary>
    /// Grants of a connection the client dropped by roaming: the gateway forgets them when its side of that connection
    /// fails, which may or may not have happened before the client connects again. Where they would change the filter
    /// decision, either outcome is accepted (<see cref="Tolerated"/>).
    /// </summary>
    public HashSet<int> StaleGrants { get; } = [];

    /// <summary>Payloads that may be forwarded (and answered) once or refused: the decision depends on <see cref="StaleGrants"/>.</summary>
    public HashSet<ulong> Tolerated { get; } = [];

    /// <summary>Sites whose gateway the client may have a connection to (a connection outlives its resources, §11.12).</summary>
    public HashSet<int> ConnectionSites { get; } = [];

    public HashSet<ulong> UsedPayloads { get; } = [];

    public HashSet<(Proto, ushort, ushort)> UsedIds { get; } = [];

    public bool IsEnabled(int index) => Active.Contains(index) && !Disabled.Contains(index);

    /// <summary>Per site (gateway): seconds since its connection last carried data (roughly: 3 s per step, the idle time of Idle steps).</summary>
    public Dictionary<int, int> QuietSeconds { get; } = [];

    /// <summary>
    /// A connection that carries no data expires after about 540 s on both sides (snownet, as upstream). Idle steps last
    /// 360 s and a case has at most 15 other steps (≈ 45 s), so the quiet time is either under 410 s or over 720 s: never
    /// near the limit.
    /// </summary>
    public const int IdleExpiry = 540;

    public int? InternetIndex => Portal.FirstOrDefault(p => p.Client is InternetResource)?.Index;

    /// <summary>The resource a packet to an IP goes to: the most specific enabled CIDR resource, else the enabled internet resource.</summary>
    public int? ResourceFor(IPAddress destination)
    {
        var cidr = Portal.Where(p => p.Client is CidrResource c && IsEnabled(p.Index) && c.Address.Contains(destination))
            .OrderByDescending(p => ((CidrResource)p.Client).Address.PrefixLength).FirstOrDefault();
        if (cidr is not null)
        {
            return cidr.Index;
        }

        return InternetIndex is { } i && IsEnabled(i) ? i : null;
    }

    /// <summary>The DNS resource that owns <paramref name="name"/> (every generated name has exactly one owner).</summary>
    public PortalResource OwnerOf(string name) => Portal.Single(p => p.Names.Contains(name));

    /// <summary>Every expected route: enabled CIDR networks, the four fixed ranges, default routes for an enabled internet resource.</summary>
    public (List<string> V4, List<string> V6) ExpectedRoutes()
    {
        var v4 = new SortedSet<string>(StringComparer.Ordinal) { "100.96.0.0/11", "100.100.111.0/24" };
        var v6 = new SortedSet<string>(StringComparer.Ordinal) { "fd00:2021:1111:8000::/107", "fd00:2021:1111:8000:100:100:111:0/120" };
        foreach (var p in Portal.Where(p => IsEnabled(p.Index)))
        {
            switch (p.Client)
            {
                case CidrResource c:
                    (c.Address.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? v4 : v6).Add(c.Address.ToString());
                    break;
                case InternetResource:
                    v4.Add("0.0.0.0/0");
                    v6.Add("::/0");
                    break;
            }
        }

        return ([.. v4], [.. v6]);
    }

    /// <summary>Whether <paramref name="t"/> may run now (re-checked after shrinking: an invalid step is skipped).</summary>
    public bool IsValid(Transition t) => t switch
    {
        ActivateResource a => !Active.Contains(a.Index),
        DeactivateResource d => Active.Contains(d.Index),
        DisableResources => true,
        SendToIp s => FreshPacket(s.Proto, s.Id1, s.Id2, s.Payload),
        QueryName q => IsEnabled(OwnerOf(q.Name).Index) && !ExpectedDns.Contains(q.QueryId)
            && ExpectedServers.Any(s => s.AddressFamily == global::System.Net.Sockets.AddressFamily.InterNetwork),
        SendToName s => FreshPacket(s.Proto, s.Id1, s.Id2, s.Payload) && Resolved.Contains((s.Name, s.IPv6)) && IsEnabled(OwnerOf(s.Name).Index),
        QueryKnownHost q => !ExpectedDns.Contains(q.QueryId)
            && ExpectedServers.Any(s => s.AddressFamily == global::System.Net.Sockets.AddressFamily.InterNetwork),
        QueryPtr { Target: PtrTarget.Proxy } q => !ExpectedDns.Contains(q.QueryId) && Resolved.Contains((q.Name, q.IPv6)) && IsEnabled(OwnerOf(q.Name).Index)
            && ExpectedServers.Any(s => s.AddressFamily == global::System.Net.Sockets.AddressFamily.InterNetwork),
        QueryPtr { Target: PtrTarget.KnownHost } q => !ExpectedDns.Contains(q.QueryId) && KnownHosts.ContainsKey(q.Name)
            && ExpectedServers.Any(s => s.AddressFamily == global::System.Net.Sockets.AddressFamily.InterNetwork),
        QueryPtr q => ForwardedQueryValid && !ExpectedDns.Contains(q.QueryId),
        QueryGlobalName q => ForwardedQueryValid && !ExpectedDns.Contains(q.QueryId),
        QueryMx q => ForwardedQueryValid && !ExpectedDns.Contains(q.QueryId),
        SendToResolvedIp s => FreshPacket(s.Proto, s.Id1, s.Id2, s.Payload) && Resolved.Contains((s.Name, s.IPv6)) && GlobalAddresses(s.Name, s.IPv6).Length > 0,
        _ => true,
    };

    private bool FreshPacket(Proto proto, ushort id1, ushort id2, ulong payload) =>
        !UsedPayloads.Contains(payload) && !UsedIds.Any(u => u.Item1 == proto && (u.Item2 == id1 || u.Item3 == id2));

    /// <summary>Applies a valid transition to the reference state.</summary>
    public void Apply(Transition t)
    {
        foreach (var site in QuietSeconds.Keys.Order().ToList())
        {
            QuietSeconds[site] += t is Idle idle ? idle.Seconds : 3;
            if (QuietSeconds[site] >= IdleExpiry)
            {
                ResetConnections(site);
            }
        }

        switch (t)
        {
            case ActivateResource a:
                Active.Add(a.Index);
                foreach (var name in Portal[a.Index].Names)
                {
                    Resolved.Remove((name, false));
                    Resolved.Remove((name, true));
                }

                break;
            case DeactivateResource d:
                Active.Remove(d.Index);
                Disconnect(d.Index);
                break;
            case DisableResources s:
                Disabled = [.. s.Indices.Where(Active.Contains)];
                foreach (var i in Disabled)
                {
                    Disconnect(i);
                }

                break;
            case SendToIp s:
                OnPacket(s.Proto, s.Payload, s.Id1, s.Id2, ResourceFor(s.Destination), s.FromTunnelIp, s.Destination, null,
                    s.Destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);
                break;
            case SendToName s:
                OnPacket(s.Proto, s.Payload, s.Id1, s.Id2, OwnerOf(s.Name).Index, true, null, s.Name, s.IPv6);
                break;
            case QueryName q:
                ExpectedDns.Add(q.QueryId);
                Resolved.Add((q.Name, q.Aaaa));
                break;
            case QueryKnownHost q:
                ExpectedDns.Add(q.QueryId);
                break;
            case QueryPtr { Target: PtrTarget.Other } q:
                if (OnForwardedQuery())
                {
                    ExpectedDns.Add(q.QueryId);
                }

                break;
            case QueryPtr q:
                ExpectedDns.Add(q.QueryId);
                break;
            case QueryMx q:
                if (OnForwardedQuery())
                {
                    ExpectedDns.Add(q.QueryId);
                }

                break;
            case QueryGlobalName q:
                if (OnForwardedQuery())
                {
                    ExpectedDns.Add(q.QueryId);
                    if (!IsOversized(q.Name))
                    {
                        Resolved.Add((q.Name, q.Aaaa)); // an oversized answer arrives truncated: nothing to send to
                    }
                }

                break;
            case SendToResolvedIp s:
                var addresses = GlobalAddresses(s.Name, s.IPv6);
                var target = addresses[s.Pick % addresses.Length];
                OnPacket(s.Proto, s.Payload, s.Id1, s.Id2, ResourceFor(target), true, target, null, s.IPv6);
                break;
            case UpdateUpstreamDns u:
                Upstream = [.. u.Servers.Distinct().Select(i => ServerPool[i])];
                break;
            case UpdateSystemDns u:
                SystemDns = [.. u.Servers.Distinct().Select(i => ServerPool[i].Address).Distinct()];
                break;
            case DeployNewRelay or PartitionRelays when DropDirect:
                // Relayed connections fail with their relay; the gateways drop the client's peer and its grants.
                foreach (var site in Portal.Select(p => p.Site).Distinct().Order())
                {
                    ResetConnections(site);
                }

                break;
            case RoamClient:
                // The client drops its connections; each gateway's side fails at its ICE timeout and may take the grants
                // with it before the client comes back, or not.
                StaleGrants.UnionWith(Granted);
                foreach (var site in Portal.Select(p => p.Site).Distinct().Order())
                {
                    ResetConnections(site);
                }

                break;
        }
    }

    /// <summary>
    /// The gateway's filter decision (tunnel spec §5.3), modelled independently: the union of the filters of every granted
    /// resource whose network holds the destination, an empty list permitting everything, a granted internet resource
    /// permitting everything outside the proxy ranges.
    /// </summary>
    private bool GatewayPermits(int site, Proto proto, ushort port, IPAddress destination, bool stale)
    {
        foreach (var r in Granted.Concat(stale ? StaleGrants : []).Where(r => Portal[r].Site == site))
        {
            switch (Portal[r].Gateway)
            {
                case GatewayInternetResource:
                    return true;
                case GatewayCidrResource c when c.Address.Contains(destination):
                    if (c.Filters.Count == 0 || c.Filters.Any(f => Matches(f, proto, port)))
                    {
                        return true;
                    }

                    break;
            }
        }

        return false;

        static bool Matches(Filter f, Proto proto, ushort port) => (f.Protocol, proto) switch
        {
            (FilterProtocol.Icmp, Proto.Icmp) => true,
            (FilterProtocol.Tcp, Proto.Tcp) or (FilterProtocol.Udp, Proto.Udp) => port >= f.PortStart && port <= f.PortEnd,
            _ => false,
        };
    }

    /// <summary>The connection to a site's gateway is gone on both sides: its resources are not connected and the gateway forgot its grants.</summary>
    private void ResetConnections(int site)
    {
        QuietSeconds.Remove(site); // the next connection starts its own idle timer
        ConnectionSites.Remove(site);
        foreach (var p in Portal.Where(p => p.Site == site))
        {
            ConnectedCidr.Remove(p.Index);
            ConnectedNames.RemoveWhere(c => c.Resource == p.Index);
            Granted.Remove(p.Index);
            if (p.Index == InternetIndex)
            {
                InternetConnected = false;
            }
        }
    }

    private bool IsConnected(int index) =>
        ConnectedCidr.Contains(index) || ConnectedNames.Any(c => c.Resource == index) || (index == InternetIndex && InternetConnected);

    private void Disconnect(int index)
    {
        ConnectedCidr.Remove(index);
        ConnectedNames.RemoveWhere(c => c.Resource == index);
        if (index == InternetIndex)
        {
            InternetConnected = false;
        }
    }

    private void OnPacket(Proto proto, ulong payload, ushort id1, ushort id2, int? resource, bool fromTunnel, IPAddress? destination, string? name, bool ipv6)
    {
        UsedPayloads.Add(payload);
        UsedIds.Add((proto, id1, id2));
        if (resource is not { } r)
        {
            return;
        }

        var kind = Portal[r].Client;
        bool connected = kind switch
        {
            CidrResource => ConnectedCidr.Contains(r),
            InternetResource => InternetConnected,
            _ => ConnectedNames.Contains((r, name!)),
        };
        int gateway = Portal[r].Site;
        if (connected)
        {
            QuietSeconds[gateway] = 0; // the packet goes through the connection, whatever the gateway does with it
            bool permits = destination is null || GatewayPermits(gateway, proto, id2, destination, stale: false);
            if (fromTunnel && destination is not null && permits != GatewayPermits(gateway, proto, id2, destination, stale: true))
            {
                Tolerated.Add(payload);
            }
            else if (fromTunnel && !permits)
            {
                Refused.Add(payload);
            }
            else if (fromTunnel)
            {
                string family = ipv6 ? "v6" : "v4";
                string branch = $"{(kind is CidrResource ? "cidr" : kind is InternetResource ? "internet" : "dns")}/{(DropDirect ? "relayed" : "direct")}/{family}/{proto.ToString().ToLowerInvariant()}";
                Expected.Add(new ExpectedExchange(payload, proto, destination, name, branch, gateway));
            }

            return;
        }

        Connect(r, name);
    }

    /// <summary>
    /// The triggering packet is dropped and the resource gets connected (§11.1). Without a peer for the gateway (no
    /// connected resource there) the client opens a new connection, which starts its idle timer; with one, only the
    /// portal is asked (no data crosses the connection).
    /// </summary>
    private void Connect(int r, string? name)
    {
        var kind = Portal[r].Client;
        int gateway = Portal[r].Site;
        bool hasPeer = Portal.Any(p => p.Site == gateway && IsConnected(p.Index));
        ConnectionSites.Add(gateway);
        if (!hasPeer)
        {
            QuietSeconds[gateway] = 0;
        }

        Granted.Add(r);
        switch (kind)
        {
            case CidrResource:
                ConnectedCidr.Add(r);
                break;
            case InternetResource:
                InternetConnected = true;
                break;
            default:
                ConnectedNames.Add((r, name!));
                break;
        }
    }
}
