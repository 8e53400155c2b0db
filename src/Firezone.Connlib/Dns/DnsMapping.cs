using System.Net;

namespace Firezone.Connlib.Dns;

/// <summary>
/// The bijection sentinel address ↔ DNS server socket the client intercepts DNS with (tunnel spec §4.3): applications
/// are told to use the sentinels; a query to a sentinel is answered by the stub resolver or forwarded to its server.
/// Immutable; lookups by sentinel bytes allocate nothing.
/// </summary>
internal sealed class DnsMapping
{
    private readonly Dictionary<IPAddress, IPEndPoint> _serverBySentinel = [];
    private readonly Dictionary<IPEndPoint, IPAddress> _sentinelByServer = [];
    private readonly Dictionary<uint, IPEndPoint> _serverByV4 = [];
    private readonly Dictionary<UInt128, IPEndPoint> _serverByV6 = [];

    /// <summary>The mapping of the given pairs in assignment order. A server listed twice keeps its last sentinel and a sentinel listed twice its last server (upstream collects into a <c>BiMap</c>, whose insert drops both older pairs).</summary>
    public DnsMapping(IEnumerable<(IPAddress Sentinel, IPEndPoint Server)> pairs)
    {
        var ordered = new List<(IPAddress Sentinel, IPEndPoint Server)>();
        foreach (var (sentinel, server) in pairs)
        {
            if (_serverBySentinel.Remove(sentinel, out var oldServer))
            {
                _sentinelByServer.Remove(oldServer);
                ordered.RemoveAll(p => p.Sentinel.Equals(sentinel));
            }

            if (_sentinelByServer.Remove(server, out var oldSentinel))
            {
                _serverBySentinel.Remove(oldSentinel);
                ordered.RemoveAll(p => p.Server.Equals(server));
            }

            _serverBySentinel[sentinel] = server;
            _sentinelByServer[server] = sentinel;
            ordered.Add((sentinel, server));
        }

        Entries = ordered;
        Span<byte> bytes = stackalloc byte[16];
        foreach (var (sentinel, server) in ordered)
        {
            var b = IpKey.Bytes(sentinel, bytes);
            if (b.Length == 4)
            {
                _serverByV4[IpKey.V4(b)] = server;
            }
            else
            {
                _serverByV6[IpKey.V6(b)] = server;
            }
        }
    }

    /// <summary>No DNS interception.</summary>
    public static DnsMapping Empty { get; } = new([]);

    /// <summary>The pairs, in the order the sentinels were assigned.</summary>
    public IReadOnlyList<(IPAddress Sentinel, IPEndPoint Server)> Entries { get; }

    /// <summary>The number of pairs.</summary>
    public int Count => Entries.Count;

    /// <summary>The sentinel addresses.</summary>
    public IEnumerable<IPAddress> Sentinels => Entries.Select(e => e.Sentinel);

    /// <summary>The servers.</summary>
    public IEnumerable<IPEndPoint> Servers => Entries.Select(e => e.Server);

    /// <summary>The server behind a sentinel (4 or 16 bytes, network order); allocation-free.</summary>
    public bool TryGetServer(ReadOnlySpan<byte> sentinel, out IPEndPoint server)
    {
        server = null!;
        return sentinel.Length switch
        {
            4 => _serverByV4.TryGetValue(IpKey.V4(sentinel), out server!),
            16 => _serverByV6.TryGetValue(IpKey.V6(sentinel), out server!),
            _ => false,
        };
    }

    /// <summary>The server behind a sentinel.</summary>
    public bool TryGetServer(IPAddress sentinel, out IPEndPoint server) => _serverBySentinel.TryGetValue(sentinel, out server!);

    /// <summary>The sentinel of a server socket.</summary>
    public bool TryGetSentinel(IPEndPoint server, out IPAddress sentinel) => _sentinelByServer.TryGetValue(server, out sentinel!);

    /// <summary>True when the mapping's servers are exactly <paramref name="servers"/> as a set (order and repeats ignored).</summary>
    public bool HasServerSet(IEnumerable<IPEndPoint> servers) => _sentinelByServer.Keys.ToHashSet().SetEquals(servers);
}
