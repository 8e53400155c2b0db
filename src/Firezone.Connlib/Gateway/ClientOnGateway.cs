using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Model;
using Firezone.Connlib.Routing;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// The state of one client on the gateway (tunnel spec §5.1, upstream <c>ClientOnGateway</c>): its tunnel addresses,
/// the resources it may use (with expiry), the filter table computed from them, its permanent DNS translations (proxy
/// IP → real IP), its NAT table and its pending <see cref="RefreshDns"/> events.
/// </summary>
/// <remarks>
/// Caps on what a client can grow: <see cref="MaxTranslations"/> proxy IPs, <see cref="MaxDomains"/> names resolved
/// through its DNS resources, <see cref="NatTable.MaxSessions"/> NAT sessions; one pending <see cref="RefreshDns"/> per
/// (name, resource).
/// </remarks>
internal sealed partial class ClientOnGateway
{
    /// <summary>Permanent translations (proxy IPs) per client at most.</summary>
    public const int MaxTranslations = 16_384;

    /// <summary>Names resolved through the client's DNS resources at most.</summary>
    public const int MaxDomains = 4_096;

    private readonly ILogger _logger;
    private readonly Dictionary<ResourceId, ResourceOnGateway> _resources = new();
    private readonly IpPrefixTable<FilterEngine> _filters = new();
    private readonly Dictionary<IpKey, TranslationState> _translations = new();
    private readonly NatTable _nat = new();
    private readonly Queue<RefreshDns> _events = new();
    private readonly HashSet<(ResourceId, string)> _pendingRefresh = new();
    private readonly IpKey _v4;
    private readonly IpKey _v6;
    private bool _internet;
    private int _domainCount;
    private IcmpAnswerBudget _icmpBudget;

    /// <summary>Creates the state of a client with its portal-assigned tunnel addresses.</summary>
    public ClientOnGateway(ClientId id, IPAddress ipv4, IPAddress ipv6, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(ipv4);
        ArgumentNullException.ThrowIfNull(ipv6);
        if (ipv4.AddressFamily != AddressFamily.InterNetwork || ipv6.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("A client needs an IPv4 and an IPv6 tunnel address.");
        }

        Id = id;
        IPv4 = ipv4;
        IPv6 = ipv6;
        _v4 = IpKey.From(ipv4);
        _v6 = IpKey.From(ipv6);
        _logger = logger;
    }

    /// <summary>The client's id (also its connection id on the node).</summary>
    public ClientId Id { get; }

    /// <summary>The client's IPv4 tunnel address: the only IPv4 source it may send from.</summary>
    public IPAddress IPv4 { get; }

    /// <summary>The client's IPv6 tunnel address: the only IPv6 source it may send from.</summary>
    public IPAddress IPv6 { get; }

    /// <summary>True when the client has no resource left (the peer is then removed).</summary>
    public bool IsEmpty => _resources.Count == 0;

    /// <summary>Pending <see cref="RefreshDns"/> events.</summary>
    public int PendingEvents => _events.Count;

    /// <summary><see cref="ResolveDns"/> events of this client the gateway queued and the host has not polled yet.</summary>
    public int PendingResolves { get; set; }

    /// <summary>The resources (tests and diagnostics).</summary>
    internal IReadOnlyDictionary<ResourceId, ResourceOnGateway> Resources => _resources;

    /// <summary>The permanent translations (tests and diagnostics).</summary>
    internal IReadOnlyDictionary<IpKey, TranslationState> Translations => _translations;

    /// <summary>The NAT table (tests and diagnostics).</summary>
    internal NatTable Nat => _nat;

    /// <summary>True when the client may use <paramref name="resource"/>.</summary>
    public bool HasResource(ResourceId resource) => _resources.ContainsKey(resource);

    /// <summary>Adds a resource, or takes the new filters of one it has (its expiry is kept, as upstream).</summary>
    public void AddResource(GatewayResource resource, DateTimeOffset? expiresAt)
    {
        LogAllowing(_logger, Id, resource.Id, expiresAt?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "never");
        if (_resources.TryGetValue(resource.Id, out var existing))
        {
            Update(existing, resource);
        }
        else
        {
            _resources.Add(resource.Id, ResourceOnGateway.Create(resource, expiresAt));
        }

        RecalculateFilters();
    }

    /// <summary>Removes a resource (its translations stay but no longer pass any filter).</summary>
    public void RemoveResource(ResourceId resource)
    {
        if (_resources.Remove(resource, out var removed) && removed is DnsOnGateway dns)
        {
            _domainCount -= dns.Domains.Count;
        }

        RecalculateFilters();
    }

    /// <summary>Takes the new filters of a resource the client has (portal <c>resource_updated</c>).</summary>
    public void UpdateResource(GatewayResource description)
    {
        if (!_resources.TryGetValue(description.Id, out var existing))
        {
            return;
        }

        Update(existing, description);
        RecalculateFilters();
    }

    private void Update(ResourceOnGateway existing, GatewayResource description)
    {
        if (!existing.TryUpdate(description))
        {
            LogKindChange(_logger, Id, description.Id, existing.Kind, description.GetType().Name);
        }
    }

    /// <summary>Drops the resources whose expiry is at or before <paramref name="utcNow"/>; true when any was dropped.</summary>
    public bool ExpireResources(DateTimeOffset utcNow)
    {
        List<ResourceId>? expired = null;
        foreach (var (id, resource) in _resources)
        {
            if (!resource.IsAllowedAt(utcNow))
            {
                (expired ??= new()).Add(id);
            }
        }

        if (expired is null)
        {
            return false;
        }

        foreach (var id in expired)
        {
            LogExpired(_logger, Id, id);
            if (_resources.Remove(id, out var removed) && removed is DnsOnGateway dns)
            {
                _domainCount -= dns.Domains.Count;
            }
        }

        RecalculateFilters();
        return true;
    }

    /// <summary>
    /// Sets up DNS-resource NAT for <paramref name="name"/> (tunnel spec §5.5, upstream <c>setup_nat</c>): the resource
    /// must be a DNS resource of this client whose pattern matches the name; IPv4 proxies pair cyclically with the
    /// resolved IPv4s (or, with none, the IPv6s: NAT46), IPv6 proxies with the IPv6s (or the IPv4s: NAT64); each pair
    /// becomes or replaces a permanent translation. The name's resolved list is stored and the filters recomputed.
    /// </summary>
    public DnsNatError SetupNat(string name, ResourceId resourceId, IReadOnlyList<IPAddress> resolvedIps, IReadOnlyList<IPAddress> proxyIps, TimeSpan now)
    {
        if (!_resources.TryGetValue(resourceId, out var resource))
        {
            return DnsNatError.UnknownResource;
        }

        if (resource is not DnsOnGateway dns)
        {
            return DnsNatError.NotADnsResource;
        }

        if (!DomainNameRules.TryNormalize(name, out string normalized))
        {
            return DnsNatError.InvalidDomain;
        }

        if (!dns.Matches(normalized))
        {
            return DnsNatError.DomainMismatch;
        }

        var v4 = resolvedIps.Where(ip => ip.AddressFamily == AddressFamily.InterNetwork).ToList();
        var v6 = resolvedIps.Where(ip => ip.AddressFamily == AddressFamily.InterNetworkV6).ToList();
        var forV4Proxies = v4.Count > 0 ? v4 : v6;
        var forV6Proxies = v6.Count > 0 ? v6 : v4;
        var pairs = new List<(IpKey Proxy, IpKey Real)>();
        int i4 = 0, i6 = 0;
        foreach (var proxy in proxyIps)
        {
            if (proxy.AddressFamily == AddressFamily.InterNetwork && forV4Proxies.Count > 0)
            {
                pairs.Add((IpKey.From(proxy), IpKey.From(forV4Proxies[i4++ % forV4Proxies.Count])));
            }
            else if (proxy.AddressFamily == AddressFamily.InterNetworkV6 && forV6Proxies.Count > 0)
            {
                pairs.Add((IpKey.From(proxy), IpKey.From(forV6Proxies[i6++ % forV6Proxies.Count])));
            }
        }

        int added = pairs.Select(p => p.Proxy).Distinct().Count(p => !_translations.ContainsKey(p));
        if (_translations.Count + added > MaxTranslations)
        {
            return DnsNatError.TooManyTranslations;
        }

        bool newDomain = !dns.Domains.ContainsKey(normalized);
        if (newDomain && _domainCount >= MaxDomains)
        {
            return DnsNatError.TooManyDomains;
        }

        foreach (var (proxy, real) in pairs)
        {
            LogTranslation(_logger, Id, normalized, proxy, real);
            _translations[proxy] = new TranslationState(resourceId, normalized, real, now);
        }

        dns.Domains[normalized] = [.. resolvedIps];
        if (newDomain)
        {
            _domainCount++;
        }

        LogNatSetUp(_logger, Id, normalized, resolvedIps.Count, proxyIps.Count);
        RecalculateFilters();
        return DnsNatError.None;
    }

    /// <summary>
    /// The host's answer to <see cref="RefreshDns"/> (upstream <c>refresh_translation</c>): nothing changes when the
    /// real IPs mapped for (name, resource) are the same set as <paramref name="resolvedIps"/>; otherwise NAT is set up
    /// again over every proxy IP mapped for the name.
    /// </summary>
    public DnsNatError RefreshTranslation(string name, ResourceId resourceId, IReadOnlyList<IPAddress> resolvedIps, TimeSpan now)
    {
        if (!_resources.TryGetValue(resourceId, out var resource))
        {
            return DnsNatError.UnknownResource;
        }

        if (resource is not DnsOnGateway)
        {
            return DnsNatError.NotADnsResource;
        }

        if (!DomainNameRules.TryNormalize(name, out string normalized))
        {
            return DnsNatError.InvalidDomain;
        }

        var mapped = _translations.Where(t => t.Value.Resource == resourceId && t.Value.Name == normalized).ToList();
        var oldIps = mapped.Select(t => t.Value.ResolvedIp).ToHashSet();
        var newIps = resolvedIps.Select(IpKey.From).ToHashSet();
        if (oldIps.SetEquals(newIps))
        {
            return DnsNatError.None;
        }

        var proxies = mapped.Select(t => t.Key).Order().Select(k => k.ToAddress()).ToList(); // upstream: BTreeMap order
        return SetupNat(normalized, resourceId, resolvedIps, proxies, now);
    }

    /// <summary>True when the source is exactly the client's tunnel address of the packet's family.</summary>
    public bool IsSourceAllowed(IpPacket packet) => (packet.IsIpv4 ? _v4 : _v6).Is(packet.SourceBytes);

    /// <summary>
    /// The destination check (tunnel spec §5.4 step 2): with the internet resource everything outside the proxy ranges
    /// passes; otherwise the longest-prefix filter entry for the destination must exist and allow the packet.
    /// </summary>
    public bool IsDestinationAllowed(IpPacket packet)
    {
        var destination = packet.DestinationBytes;
        if (_internet && !TunnelAddressRanges.IsProxy(destination))
        {
            return true;
        }

        return _filters.TryLongestMatchValue(destination, out var engine) && engine.IsAllowed(packet);
    }

    /// <summary>The translation of a proxy IP whose DNS resource the client still has.</summary>
    public bool TryGetActiveTranslation(IpKey proxy, out TranslationState state) =>
        _translations.TryGetValue(proxy, out state!) && _resources.TryGetValue(state.Resource, out var owner) && owner is DnsOnGateway;

    /// <summary>True when the client may be sent one more ICMP answer now (<see cref="IcmpAnswerBudget"/>).</summary>
    public bool TryTakeIcmpAnswer(TimeSpan now) => _icmpBudget.TryTake(now);

    /// <summary>
    /// Outbound DNS-resource NAT (tunnel spec §5.4 step 3): a packet to a proxy IP with a permanent translation gets
    /// the real IP as destination (NAT46/NAT64 in place when the families differ, the packet's start moving by 20
    /// bytes) and a NAT-table port or identifier as source; anything else passes unchanged.
    /// </summary>
    /// <remarks>
    /// Deliberate difference: a translation whose DNS resource is no longer granted (removed or expired) rewrites
    /// nothing. Upstream keeps NATing it, so a packet that another grant lets through to the proxy address (a CIDR
    /// resource covering part of the proxy range) still reached the revoked resource's real IP.
    /// </remarks>
    public GatewayPacketError TranslateOutbound(Span<byte> buffer, ref int offset, ref int length, TimeSpan now)
    {
        IpPacket.TryParse(buffer.Slice(offset, length), out var packet);
        var proxy = IpKey.From(packet.DestinationBytes);
        if (!TryGetActiveTranslation(proxy, out var state))
        {
            return GatewayPacketError.None; // no translation, or a stale one whose DNS resource is no longer granted
        }

        if (!NatKey.TryGetSource(packet, out var protocol, out ushort port))
        {
            return GatewayPacketError.UnsupportedProtocol;
        }

        if (!_nat.TranslateOutgoing(protocol, port, proxy, state.ResolvedIp, now, out var outside))
        {
            return GatewayPacketError.NatExhausted;
        }

        Span<byte> real = stackalloc byte[16];
        real = real[..state.ResolvedIp.WriteTo(real)];
        if (state.ResolvedIp.IsV6 != packet.IsIpv4)
        {
            packet.SetDestination(real);
        }
        else
        {
            Span<byte> source = stackalloc byte[16];
            source = source[..(state.ResolvedIp.IsV6 ? _v6 : _v4).WriteTo(source)];
            var error = IpTranslator.TranslateInPlace(buffer, offset, length, source, real, out int start, out int translated);
            if (error != TranslateError.None)
            {
                return error == TranslateError.TooLarge ? GatewayPacketError.PacketTooBig : GatewayPacketError.TranslationFailed;
            }

            offset = start;
            length = translated;
            IpPacket.TryParse(buffer.Slice(offset, length), out packet);
        }

        packet.TrySetSourcePort(outside.Port);
        state.OnOutgoing(now);
        return GatewayPacketError.None;
    }

    /// <summary>
    /// Inbound DNS-resource NAT (tunnel spec §5.4): a packet from the outside address of a live NAT session gets its
    /// proxy IP back as source (with IPv4↔IPv6 translation into <paramref name="scratch"/> when the families differ) and
    /// its original port or identifier as destination, and counts as incoming traffic of the translation.
    /// </summary>
    /// <remarks>
    /// Deliberate difference (§11 item 17): only packets whose source is the outside (real) address of a live NAT
    /// session are looked up, so they alone need a port or echo identifier; everything else (replies of CIDR and
    /// internet resources, including ICMP errors and other protocols) passes unchanged, where upstream requires a
    /// port or identifier of every packet and drops the rest.
    /// </remarks>
    /// <param name="packet">The packet; rewritten in place for a same-family translation.</param>
    /// <param name="scratch">Where a translated (other-family) packet is written (at least 1336 bytes).</param>
    /// <param name="now">The monotonic time.</param>
    /// <param name="inScratch">True when the result is in <paramref name="scratch"/>.</param>
    /// <param name="length">The result's length.</param>
    public GatewayPacketError TranslateInbound(Span<byte> packet, Span<byte> scratch, TimeSpan now, out bool inScratch, out int length)
    {
        inScratch = false;
        IpPacket.TryParse(packet, out var parsed);
        length = parsed.Length;
        var source = IpKey.From(parsed.SourceBytes);
        if (!_nat.HasOutsideAddress(source))
        {
            return GatewayPacketError.None;
        }

        if (!NatKey.TryGetDestination(parsed, out var protocol, out ushort port))
        {
            return GatewayPacketError.UnsupportedProtocol;
        }

        if (!_nat.TranslateIncoming(protocol, port, source, now, out var inside))
        {
            return GatewayPacketError.None;
        }

        Span<byte> proxy = stackalloc byte[16];
        proxy = proxy[..inside.Address.WriteTo(proxy)];
        if (inside.Address.IsV6 != parsed.IsIpv4)
        {
            parsed.SetSource(proxy);
        }
        else
        {
            Span<byte> client = stackalloc byte[16];
            client = client[..(inside.Address.IsV6 ? _v6 : _v4).WriteTo(client)];
            var error = inside.Address.IsV6
                ? IpTranslator.Ipv4ToIpv6(parsed.Bytes, scratch, proxy, client, out length)
                : IpTranslator.Ipv6ToIpv4(parsed.Bytes, scratch, proxy, client, out length);
            if (error != TranslateError.None)
            {
                return error == TranslateError.TooLarge ? GatewayPacketError.PacketTooBig : GatewayPacketError.TranslationFailed;
            }

            inScratch = true;
            IpPacket.TryParse(scratch[..length], out parsed);
        }

        parsed.TrySetDestinationPort(inside.Port);
        if (!_translations.TryGetValue(inside.Address, out var state))
        {
            return GatewayPacketError.NoTranslationState;
        }

        state.OnIncoming(now);
        return GatewayPacketError.None;
    }

    /// <summary>
    /// The per-second housekeeping (tunnel spec §5.5–§5.6): queue <see cref="RefreshDns"/> for every (name, resource)
    /// with an expired translation whose translations all had no incoming traffic for 120 s (at most one pending per
    /// pair), then expire idle NAT sessions. Returns how many events were queued.
    /// </summary>
    public int HandleTimeout(TimeSpan now)
    {
        int queued = 0;
        Dictionary<(ResourceId, string), (bool AnyExpired, bool AllSilent)>? groups = null;
        foreach (var state in _translations.Values)
        {
            if (state.IsExpired(now))
            {
                groups = new();
                break;
            }
        }

        if (groups is not null)
        {
            foreach (var state in _translations.Values)
            {
                var key = (state.Resource, state.Name);
                var (anyExpired, allSilent) = groups.TryGetValue(key, out var g) ? g : (false, true);
                groups[key] = (anyExpired || state.IsExpired(now), allSilent && state.NoIncomingFor(now));
            }

            foreach (var ((resource, name), (anyExpired, allSilent)) in groups.OrderBy(g => g.Key.Item2, StringComparer.Ordinal).ThenBy(g => g.Key.Item1))
            {
                if (anyExpired && allSilent && _pendingRefresh.Add((resource, name)))
                {
                    LogRefreshing(_logger, Id, name, resource);
                    _events.Enqueue(new RefreshDns(name, Id, resource));
                    queued++;
                }
            }
        }

        _nat.HandleTimeout(now);
        return queued;
    }

    /// <summary>The next pending <see cref="RefreshDns"/>, or null.</summary>
    public RefreshDns? PollEvent()
    {
        if (!_events.TryDequeue(out var e))
        {
            return null;
        }

        _pendingRefresh.Remove((e.Resource, e.Name));
        return e;
    }

    /// <summary>
    /// Rebuilds the filter table from scratch (tunnel spec §5.3): for every CIDR network N, the union of the filters of
    /// every resource whose addresses contain N (DNS resources by their resolved host routes, the internet resource by
    /// both default routes); then every proxy IP whose DNS resource still exists gets that resource's filters alone.
    /// </summary>
    private void RecalculateFilters()
    {
        _filters.Clear();
        foreach (var resource in _resources.Values)
        {
            if (resource is not CidrOnGateway cidr)
            {
                continue;
            }

            var contributing = _resources.Values.Where(r => r.Covers(cidr.Network)).Select(r => r.Filters);
            _filters.Set(cidr.Network, FilterEngine.From(contributing));
        }

        foreach (var (proxy, state) in _translations)
        {
            // Upstream only asserts (in debug builds) that the resource is still a DNS resource; an id re-used for another
            // kind must not lend its filters to a proxy IP.
            if (_resources.TryGetValue(state.Resource, out var resource) && resource is DnsOnGateway)
            {
                _filters.Set(new IPNetwork(proxy.ToAddress(), proxy.IsV6 ? 128 : 32), FilterEngine.From([resource.Filters]));
            }
        }

        _internet = _resources.Values.Any(r => r is InternetOnGateway);
    }

    /// <summary>The filter table (tests and diagnostics).</summary>
    internal List<(IPNetwork Network, FilterEngine Engine)> FilterEntries() => _filters.Entries();

    [LoggerMessage(Level = LogLevel.Information, Message = "Allowing access of client {Client} to resource {Resource} (expires {ExpiresAt})")]
    private static partial void LogAllowing(ILogger logger, ClientId client, ResourceId resource, string expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Access of client {Client} to resource {Resource} expired")]
    private static partial void LogExpired(ILogger logger, ClientId client, ResourceId resource);

    [LoggerMessage(Level = LogLevel.Error, Message = "Resources cannot change type: client {Client}, resource {Resource} is {Current}, update is {New}")]
    private static partial void LogKindChange(ILogger logger, ClientId client, ResourceId resource, string current, string @new);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client}: {Name} proxy {Proxy} -> {Real}")]
    private static partial void LogTranslation(ILogger logger, ClientId client, string name, IpKey proxy, IpKey real);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client}: set up DNS resource NAT for {Name} ({Resolved} resolved IPs, {Proxies} proxy IPs)")]
    private static partial void LogNatSetUp(ILogger logger, ClientId client, string name, int resolved, int proxies);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client}: refreshing DNS of {Name} (resource {Resource})")]
    private static partial void LogRefreshing(ILogger logger, ClientId client, string name, ResourceId resource);
}
