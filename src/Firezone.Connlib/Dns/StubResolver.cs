using System.Net;
using Firezone.Connlib.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Dns;

/// <summary>
/// The client's stub DNS resolver (tunnel spec §4.7; upstream's <c>StubResolver</c>). It answers a query that reached a
/// sentinel address when the answer is ours to give and tells the caller to forward it otherwise:
/// <list type="number">
/// <item>exactly one question in a query (QR clear), else SERVFAIL;</item>
/// <item><c>use-application-dns.net</c> → NXDOMAIN (Firefox then keeps DoH off);</item>
/// <item>known hosts: A, AAAA, and PTR of one of their addresses;</item>
/// <item>a name matching a DNS-resource pattern (first match in priority order): A → its 4 IPv4 proxy addresses,
/// AAAA → its 4 IPv6 ones (all 8 assigned together on the first A or AAAA, permanently; each such query re-tags them
/// with the resource matching now), HTTPS → NOERROR without answers, any other type → forwarded;</item>
/// <item>PTR of a handed-out proxy address → the name; any other PTR → forwarded;</item>
/// <item>anything else → forwarded.</item>
/// </list>
/// Local answers copy the id and question, set QR and RA, NOERROR, records of class IN with a TTL of 1 s.
/// <para>
/// Sans-IO and single-threaded. <see cref="Handle"/> allocates nothing once a name has its addresses (the first A or
/// AAAA for a name allocates its entry), and no input makes it throw. Bounds: the name table grows only by names of
/// resources that local applications query, and at most until the proxy ranges are used up (about 524,000 names by
/// IPv4); patterns are the portal's resources.
/// </para>
/// </summary>
internal sealed partial class StubResolver
{
    private readonly ILogger _logger;
    private readonly KnownHosts _knownHosts;
    private readonly ProxyIpAllocator _allocator;
    private readonly List<PatternEntry> _patterns = [];
    private readonly Dictionary<ResourceId, int> _patternsPerResource = [];
    private readonly Dictionary<string, ProxiedName> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProxiedName>.AlternateLookup<ReadOnlySpan<char>> _namesBySpan;
    private readonly Dictionary<uint, ProxiedName> _byV4 = [];
    private readonly Dictionary<UInt128, ProxiedName> _byV6 = [];
    private long _patternVersion;

    /// <summary>A resolver with the given known hosts (null: none), logger and proxy-address allocator (default: the production ranges).</summary>
    public StubResolver(
        IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? knownHosts = null,
        ILogger? logger = null,
        ProxyIpAllocator? allocator = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _knownHosts = new KnownHosts(knownHosts);
        _allocator = allocator ?? ProxyIpAllocator.ForResources();
        _namesBySpan = _names.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The number of names that have proxy addresses.</summary>
    public int NameCount => _names.Count;

    /// <summary>The registered patterns in resolution order (first match wins), with their resources.</summary>
    public IReadOnlyList<(string Pattern, ResourceId Resource)> Patterns => [.. _patterns.Select(p => (p.Pattern.Text, p.Resource))];

    /// <summary>
    /// Registers the pattern of a DNS resource. Returns true when the pattern was new. A pattern that is already
    /// registered (by any resource) is re-pointed to <paramref name="resource"/> and false is returned ("not added":
    /// upstream then emits no route update). An invalid pattern logs a warning and returns false.
    /// </summary>
    public bool AddResource(ResourceId resource, string pattern)
    {
        if (!DomainPattern.TryParse(pattern, out var parsed))
        {
            Log.InvalidPattern(_logger, pattern);
            return false;
        }

        _patternVersion++;
        int index = FindPattern(parsed.Text);
        if (index >= 0)
        {
            Release(_patterns[index].Resource);
            _patterns[index] = new PatternEntry(parsed, resource);
            Retain(resource);
            return false;
        }

        _patterns.Insert(~index, new PatternEntry(parsed, resource));
        Retain(resource);
        return true;
    }

    /// <summary>Unregisters every pattern of <paramref name="resource"/>. Proxy addresses already handed out stay assigned.</summary>
    public void RemoveResource(ResourceId resource)
    {
        if (_patterns.RemoveAll(p => p.Resource == resource) > 0)
        {
            _patternVersion++;
            _patternsPerResource.Remove(resource);
        }
    }

    /// <summary>True when a pattern of <paramref name="resource"/> is registered.</summary>
    public bool KnowsResource(ResourceId resource) => _patternsPerResource.ContainsKey(resource);

    /// <summary>The resource a proxy address (4 or 16 bytes, network order) was last tagged with; false when the address was never handed out. Allocation-free (packet path).</summary>
    public bool TryGetResourceByProxyIp(ReadOnlySpan<byte> address, out ResourceId resource)
    {
        if (TryGetName(address, out var name))
        {
            resource = name.Resource;
            return true;
        }

        resource = default;
        return false;
    }

    /// <inheritdoc cref="TryGetResourceByProxyIp(ReadOnlySpan{byte}, out ResourceId)"/>
    public bool TryGetResourceByProxyIp(IPAddress address, out ResourceId resource) =>
        TryGetResourceByProxyIp(IpKey.Bytes(address, stackalloc byte[16]), out resource);

    /// <summary>The name a proxy address was handed out for and all its proxy addresses (upstream's <c>get_fqdn</c>), or null. The request is built once per name.</summary>
    public ResolveRequest? GetResolveRequest(ReadOnlySpan<byte> address) => TryGetName(address, out var name) ? name.Request : null;

    /// <inheritdoc cref="GetResolveRequest(ReadOnlySpan{byte})"/>
    public ResolveRequest? GetResolveRequest(IPAddress address) => GetResolveRequest(IpKey.Bytes(address, stackalloc byte[16]));

    /// <summary>
    /// Handles one DNS query (the UDP payload or TCP message). A local answer is written to <paramref name="response"/>
    /// (give at least <see cref="DnsMessages.MinResponseBufferLength"/> bytes; an answer that does not fit becomes
    /// SERVFAIL, as upstream's builder error does).
    /// </summary>
    public DnsResolution Handle(ReadOnlySpan<byte> query, Span<byte> response)
    {
        if (response.Length < DnsHeader.Length)
        {
            throw new ArgumentException("The response buffer must hold at least a DNS header.", nameof(response));
        }

        if (!DnsHeader.TryRead(query, out var header))
        {
            return DnsResolution.Drop;
        }

        Span<byte> wire = stackalloc byte[DnsName.MaxWireLength];
        if (header.IsResponse || header.QuestionCount != 1 || !DnsQuestion.TryRead(query, DnsHeader.Length, wire, out var question))
        {
            Log.NotASingleQuestionQuery(_logger, header.Id);
            return Local(DnsMessages.WriteServFail(query, response), header.Id, default);
        }

        wire = wire[..question.NameLength];
        Span<char> text = stackalloc char[DnsName.MaxPresentationLength];
        int textLength = DnsName.FormatPresentation(wire, text, lowercase: false);
        Span<char> lower = stackalloc char[DnsName.MaxPresentationLength];
        if (textLength < 0)
        {
            return Local(DnsMessages.WriteServFail(query, response), header.Id, question.Type);
        }

        text = text[..textLength];
        lower = lower[..textLength];
        for (int i = 0; i < textLength; i++)
        {
            char c = text[i];
            lower[i] = c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;
        }

        if (lower.SequenceEqual(DnsRanges.DohCanaryDomain))
        {
            return Local(DnsMessages.WriteNxDomain(query, response), header.Id, question.Type);
        }

        var type = question.Type;
        var writer = new DnsResponseWriter(response, header, DnsResponseCode.NoError, recursionAvailable: true);
        bool fits = writer.AddQuestion(wire, type, question.Class);

        // Known hosts come first.
        if (type is DnsRecordType.A or DnsRecordType.Aaaa && _knownHosts.TryGetAddresses(lower, out var hostV4, out var hostV6))
        {
            fits &= AddAddresses(ref writer, type == DnsRecordType.A ? hostV4 : hostV6, type == DnsRecordType.A ? 4 : 16);
            return Answer(fits, writer.Length, query, response, header.Id, type);
        }

        if (type == DnsRecordType.Ptr && TryGetKnownHostPtr(text, out byte[] hostName))
        {
            fits &= writer.AddPtr(hostName, DnsRanges.LocalAnswerTtl);
            return Answer(fits, writer.Length, query, response, header.Id, type);
        }

        var entry = _namesBySpan.TryGetValue(lower, out var existing) ? existing : null;
        ResourceId? match = Match(lower, entry);
        switch (type)
        {
            case DnsRecordType.A or DnsRecordType.Aaaa when match is { } resource:
                entry ??= Assign(lower, wire, resource);
                entry.Resource = resource;
                fits &= AddAddresses(ref writer, type == DnsRecordType.A ? entry.V4Bytes : entry.V6Bytes, type == DnsRecordType.A ? 4 : 16);
                return Answer(fits, writer.Length, query, response, header.Id, type);
            case DnsRecordType.Ptr:
                if (!TryGetProxyPtr(text, out var proxied))
                {
                    return new DnsResolution(DnsResolutionKind.Recurse, 0, header.Id, type);
                }

                fits &= writer.AddPtr(proxied.WireName, DnsRanges.LocalAnswerTtl);
                return Answer(fits, writer.Length, query, response, header.Id, type);
            case DnsRecordType.Https when match is not null:
                // No HTTPS records: clients fall back to A/AAAA and so reach the proxy addresses.
                return Answer(fits, writer.Length, query, response, header.Id, type);
            default:
                return new DnsResolution(DnsResolutionKind.Recurse, 0, header.Id, type);
        }
    }

    /// <summary>The first registered pattern (in priority order) that matches a lowercase presentation name.</summary>
    internal ResourceId? MatchLinear(ReadOnlySpan<char> name)
    {
        foreach (var p in _patterns)
        {
            if (p.Pattern.Matches(name))
            {
                return p.Resource;
            }
        }

        return null;
    }

    private static DnsResolution Local(int length, ushort id, DnsRecordType type) =>
        new(DnsResolutionKind.LocalAnswer, length, id, type);

    private static DnsResolution Answer(bool fits, int length, ReadOnlySpan<byte> query, Span<byte> response, ushort id, DnsRecordType type) =>
        Local(fits ? length : DnsMessages.WriteServFail(query, response), id, type);

    private static bool AddAddresses(ref DnsResponseWriter writer, ReadOnlySpan<byte> addresses, int size)
    {
        for (int i = 0; i + size <= addresses.Length; i += size)
        {
            if (!writer.AddAddress(addresses.Slice(i, size), DnsRanges.LocalAnswerTtl))
            {
                return false;
            }
        }

        return true;
    }

    private ResourceId? Match(ReadOnlySpan<char> lower, ProxiedName? entry)
    {
        if (entry is null)
        {
            return MatchLinear(lower);
        }

        if (entry.MatchVersion != _patternVersion)
        {
            entry.CachedMatch = MatchLinear(lower);
            entry.MatchVersion = _patternVersion;
        }

        return entry.CachedMatch;
    }

    private ProxiedName Assign(ReadOnlySpan<char> lower, ReadOnlySpan<byte> wire, ResourceId resource)
    {
        var v4 = new List<uint>(DnsRanges.ProxyIpsPerFamily);
        var v6 = new List<UInt128>(DnsRanges.ProxyIpsPerFamily);
        while (v4.Count < DnsRanges.ProxyIpsPerFamily && _allocator.TryNextV4(out uint a))
        {
            v4.Add(a);
        }

        while (v6.Count < DnsRanges.ProxyIpsPerFamily && _allocator.TryNextV6(out UInt128 a))
        {
            v6.Add(a);
        }

        string name = new(lower);
        if (v4.Count < DnsRanges.ProxyIpsPerFamily || v6.Count < DnsRanges.ProxyIpsPerFamily)
        {
            Log.IpExhaustion(_logger, name, v4.Count, v6.Count);
        }

        byte[] wireName = wire.ToArray();
        DnsName.LowercaseInPlace(wireName);
        var entry = new ProxiedName(name, wireName, [.. v4], [.. v6], resource);
        _names.Add(name, entry);
        foreach (uint a in entry.V4)
        {
            _byV4.Add(a, entry);
        }

        foreach (UInt128 a in entry.V6)
        {
            _byV6.Add(a, entry);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.AssignedProxyIps(_logger, name, string.Join(", ", entry.Request.ProxyIps));
        }

        return entry;
    }

    private bool TryGetName(ReadOnlySpan<byte> address, out ProxiedName name)
    {
        name = null!;
        return address.Length switch
        {
            4 => _byV4.TryGetValue(IpKey.V4(address), out name!),
            16 => _byV6.TryGetValue(IpKey.V6(address), out name!),
            _ => false,
        };
    }

    private bool TryGetKnownHostPtr(ReadOnlySpan<char> name, out byte[] wireName)
    {
        wireName = null!;
        if (_knownHosts.Count == 0)
        {
            return false;
        }

        if (ReverseDnsName.TryParseV4(name, out uint v4))
        {
            return _knownHosts.TryGetName(v4, out wireName);
        }

        return ReverseDnsName.TryParseV6(name, out UInt128 v6) && _knownHosts.TryGetName(v6, out wireName);
    }

    private bool TryGetProxyPtr(ReadOnlySpan<char> name, out ProxiedName proxied)
    {
        proxied = null!;
        if (ReverseDnsName.TryParseV4(name, out uint v4))
        {
            return _byV4.TryGetValue(v4, out proxied!);
        }

        return ReverseDnsName.TryParseV6(name, out UInt128 v6) && _byV6.TryGetValue(v6, out proxied!);
    }

    private int FindPattern(string text)
    {
        int lo = 0, hi = _patterns.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = DomainPattern.ComparePriority(_patterns[mid].Pattern.Text, text);
            if (c == 0)
            {
                return mid;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }

    private void Retain(ResourceId resource) =>
        _patternsPerResource[resource] = _patternsPerResource.GetValueOrDefault(resource) + 1;

    private void Release(ResourceId resource)
    {
        if (_patternsPerResource.TryGetValue(resource, out int count))
        {
            if (count <= 1)
            {
                _patternsPerResource.Remove(resource);
            }
            else
            {
                _patternsPerResource[resource] = count - 1;
            }
        }
    }

    private sealed record PatternEntry(DomainPattern Pattern, ResourceId Resource);

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Domain pattern is not valid: {Pattern}")]
        public static partial void InvalidPattern(ILogger logger, string pattern);

        [LoggerMessage(Level = LogLevel.Trace, Message = "Failed to handle DNS query {QueryId}: expected a query with a single question; answering SERVFAIL")]
        public static partial void NotASingleQuestionQuery(ILogger logger, ushort queryId);

        [LoggerMessage(Level = LogLevel.Error, Message = "IP exhaustion: Please reset your client (name {Domain} got {V4Count} IPv4 and {V6Count} IPv6 proxy addresses)")]
        public static partial void IpExhaustion(ILogger logger, string domain, int v4Count, int v6Count);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Assigning proxy IPs for {Domain}: {Ips}")]
        public static partial void AssignedProxyIps(ILogger logger, string domain, string ips);
    }
}
