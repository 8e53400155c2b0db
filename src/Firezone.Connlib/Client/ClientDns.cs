using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>
/// The client state's DNS tables (tunnel spec §4.3, §4.7): the stub resolver (patterns, proxy IPs, local answers), the
/// current sentinel → server mapping, the "mangled" records of UDP queries forwarded through the tunnel, and the queue
/// of recursive queries the host performs. Sans-IO; every packet-path lookup reads span bytes and allocates nothing.
/// </summary>
internal sealed class ClientDns
{
    /// <summary>A tunnel-forwarded UDP query's record lives this long (upstream's <c>IDS_EXPIRE</c>).</summary>
    public static readonly TimeSpan MangledQueryLifetime = TimeSpan.FromSeconds(60);

    /// <summary>At most this many recursive queries wait for the host to poll them (the driver's own in-flight cap is 1,000 too).</summary>
    public const int MaxQueuedRecursiveQueries = 1000;

    private readonly ILogger _logger;
    private readonly Dictionary<MangledKey, MangledRecord> _mangled = [];
    private readonly Queue<DnsQuery> _recursive = new();
    private TimeSpan? _earliestMangledExpiry;

    public ClientDns(IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? knownHosts, ILogger logger)
    {
        _logger = logger;
        Resolver = new StubResolver(knownHosts, logger);
    }

    public StubResolver Resolver { get; }

    public DnsMapping Mapping { get; private set; } = DnsMapping.Empty;

    public int MangledCount => _mangled.Count;

    /// <summary>Registers a pattern; false when it was registered already (then it is re-pointed) or is invalid.</summary>
    public bool RegisterPattern(string pattern, ResourceId resource) => Resolver.AddResource(resource, pattern);

    public void UnregisterPatterns(ResourceId resource) => Resolver.RemoveResource(resource);

    public bool TryGetProxyResource(ReadOnlySpan<byte> address, out ResourceId resource) =>
        Resolver.TryGetResourceByProxyIp(address, out resource);

    public ResolveRequest? ResolveRequestFor(ReadOnlySpan<byte> address) => Resolver.GetResolveRequest(address);

    /// <summary>The server a mapped sentinel stands for (only sentinels of the current mapping are intercepted, §11.15).</summary>
    public bool TryGetServer(ReadOnlySpan<byte> sentinel, out IPEndPoint server) => Mapping.TryGetServer(sentinel, out server);

    /// <summary>
    /// Recomputes the mapping (§4.3 steps 1–4): a new mapping clears every mangled record and is returned; an unchanged
    /// set of servers returns null; running out of sentinels is logged as an error and keeps the current mapping
    /// (upstream panics).
    /// </summary>
    public DnsMapping? RecomputeMapping(IReadOnlyList<IPEndPoint> upstream, IReadOnlyList<IPAddress> system)
    {
        var effective = SentinelDnsMapping.EffectiveServers(upstream, system, _logger);
        var update = SentinelDnsMapping.Update(Mapping, effective);
        switch (update.Status)
        {
            case DnsMappingStatus.Changed:
                Mapping = update.Mapping;
                _mangled.Clear();
                _earliestMangledExpiry = null;
                return Mapping;
            case DnsMappingStatus.SentinelsExhausted:
                ClientDnsLog.SentinelsExhausted(_logger, update.Error ?? "sentinels exhausted");
                return null;
            default:
                return null;
        }
    }

    /// <summary>Remembers a UDP query forwarded through the tunnel to a server, so its response is un-mangled.</summary>
    public void RecordMangled(ReadOnlySpan<byte> serverIp, ushort serverPort, ushort queryId, IPAddress sentinel, TimeSpan now)
    {
        var expiry = now + MangledQueryLifetime;
        _mangled[MangledKey.From(serverIp, serverPort, queryId)] = new MangledRecord(sentinel, expiry);
        if (_earliestMangledExpiry is not { } earliest || expiry < earliest)
        {
            _earliestMangledExpiry = expiry;
        }
    }

    /// <summary>Takes the record of a response from <paramref name="serverIp"/>:<paramref name="serverPort"/> with <paramref name="queryId"/>; allocation-free.</summary>
    public bool TryTakeMangled(ReadOnlySpan<byte> serverIp, ushort serverPort, ushort queryId, TimeSpan now, out IPAddress sentinel)
    {
        if (_mangled.Count > 0 && _mangled.Remove(MangledKey.From(serverIp, serverPort, queryId), out var record) && record.Expiry > now)
        {
            sentinel = record.Sentinel;
            return true;
        }

        sentinel = IPAddress.None;
        return false;
    }

    /// <summary>The earliest mangled-record expiry (part of the client's <c>PollTimeout</c>), or null.</summary>
    public TimeSpan? PollTimeout() => _earliestMangledExpiry;

    /// <summary>Purges expired mangled records.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        if (_earliestMangledExpiry is not { } earliest || earliest > now)
        {
            return;
        }

        TimeSpan? next = null;
        List<MangledKey>? expired = null;
        foreach (var (key, record) in _mangled)
        {
            if (record.Expiry <= now)
            {
                (expired ??= []).Add(key);
            }
            else if (next is not { } n || record.Expiry < n)
            {
                next = record.Expiry;
            }
        }

        foreach (var key in expired ?? [])
        {
            _mangled.Remove(key);
        }

        _earliestMangledExpiry = next;
    }

    /// <summary>Queues a recursive query for the host; false (and a debug log) when the queue is full.</summary>
    public bool EnqueueRecursive(DnsQuery query)
    {
        if (_recursive.Count >= MaxQueuedRecursiveQueries)
        {
            ClientDnsLog.RecursiveQueueFull(_logger, query.Server);
            return false;
        }

        _recursive.Enqueue(query);
        return true;
    }

    public DnsQuery? PollRecursive() => _recursive.TryDequeue(out var q) ? q : null;

    /// <summary>A forwarded query's key: the server's address and port and the query id.</summary>
    private readonly record struct MangledKey(UInt128 Address, bool IsV4, ushort Port, ushort Id)
    {
        public static MangledKey From(ReadOnlySpan<byte> ip, ushort port, ushort id) =>
            ip.Length == 4 ? new MangledKey(IpKey.V4(ip), true, port, id) : new MangledKey(IpKey.V6(ip), false, port, id);
    }

    private readonly record struct MangledRecord(IPAddress Sentinel, TimeSpan Expiry);
}

internal static partial class ClientDnsLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "DNS mapping not changed: {Error}")]
    public static partial void SentinelsExhausted(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Recursive DNS query to {Server} dropped: too many queued")]
    public static partial void RecursiveQueueFull(ILogger logger, IPEndPoint server);

    [LoggerMessage(Level = LogLevel.Trace, Message = "DNS packet to sentinel {Sentinel} dropped: {Reason}")]
    public static partial void BadDnsPacket(ILogger logger, string sentinel, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DNS response for {Destination} dropped: {Reason}")]
    public static partial void DnsResponseDropped(ILogger logger, IPEndPoint destination, string reason);
}
