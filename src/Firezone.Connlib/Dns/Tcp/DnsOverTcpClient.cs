using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Tcp;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Dns.Tcp;

/// <summary>Why a TCP DNS query got no answer (the caller answers SERVFAIL, tunnel spec §4.7).</summary>
internal enum DnsTcpFailure
{
    /// <summary>Answered.</summary>
    None,
    /// <summary>No answer within the query timeout.</summary>
    Timeout,
    /// <summary>The connection was refused, reset, timed out or closed by the server before the answer.</summary>
    ConnectionLost,
    /// <summary><see cref="DnsOverTcpClient.Reset"/> (or a re-configuration) failed everything in flight.</summary>
    Reset,
}

/// <summary>Why <see cref="DnsOverTcpClient.SendQuery"/> refused a query.</summary>
internal enum DnsTcpSendError
{
    /// <summary>Sent (or queued behind the handshake).</summary>
    None,
    /// <summary>The server is not a configured resolver (its answers would not be claimed).</summary>
    UnknownResolver,
    /// <summary>No tunnel IP of the server's family.</summary>
    NoSourceAddress,
    /// <summary>Shorter than 2 bytes (no query id) or longer than 65535.</summary>
    BadLength,
    /// <summary>A query with this id is already in flight to this server.</summary>
    DuplicateQueryId,
    /// <summary>The in-flight cap is reached.</summary>
    TooManyInFlight,
    /// <summary>No connection could be opened (socket table full or no free port).</summary>
    NoConnection,
}

/// <summary>The outcome of one query: the response bytes (owned by the caller), or a failure.</summary>
internal readonly record struct DnsTcpResult(TcpEndpoint Server, ushort QueryId, byte[]? Response, DnsTcpFailure Failure);

/// <summary>
/// connlib's DNS-over-TCP client (tunnel spec §4.3, §4.7, §11 item 10): sends queries to upstream resolvers through
/// the tunnel from the tunnel IPs, one connection per resolver opened on demand and reused, queries pipelined on it
/// (RFC 7766 §6.2.1.1), answers matched back by (server, query id). It reads only the first two bytes of a message.
/// Sans-IO over a <see cref="TcpSocketSet"/>: the caller encapsulates <see cref="PollTransmit"/> output and hands in
/// every packet <see cref="Claims"/> accepts.
/// </summary>
/// <remarks>
/// Caps: <see cref="MaxInFlight"/> queries in flight (tunnel spec §2: 1000); each fails after the query timeout (5 s,
/// like upstream's recursive queries). A connection with no query in flight for <see cref="IdleClose"/> is closed.
/// Ephemeral ports 49152–65535, random; <see cref="Reset"/> never reuses a port that was in use when it was called.
/// </remarks>
internal sealed partial class DnsOverTcpClient
{
    /// <summary>Queries in flight at most.</summary>
    public const int MaxInFlight = 1000;
    /// <summary>Idle connections are closed after this long.</summary>
    public static readonly TimeSpan IdleClose = TimeSpan.FromSeconds(30);

    private readonly TcpSocketSet _set;
    private readonly Action<Span<byte>> _random;
    private readonly ILogger _logger;
    private readonly TimeSpan _queryTimeout;
    private readonly Dictionary<TcpEndpoint, Connection> _byServer = [];
    private readonly Dictionary<int, Connection> _byHandle = [];
    private readonly Dictionary<(TcpEndpoint Server, ushort Id), InFlight> _inFlight = [];
    private readonly Queue<DnsTcpResult> _results = new();
    private readonly HashSet<ushort> _excludedPorts = [];
    private HashSet<TcpEndpoint> _resolvers = [];
    private TcpEndpoint? _sourceV4, _sourceV6;
    private TimeSpan _now;

    public DnsOverTcpClient(Action<Span<byte>> random, TcpOptions? options = null, TimeSpan? queryTimeout = null, ILogger? logger = null)
    {
        _random = random;
        _set = new TcpSocketSet(options ?? new TcpOptions(), random);
        _queryTimeout = queryTimeout ?? TimeSpan.FromSeconds(5);
        _logger = logger ?? NullLogger.Instance;
    }

    internal TcpSocketSet Sockets => _set;
    public int InFlightCount => _inFlight.Count;
    public int ConnectionCount => _byServer.Count;

    /// <summary>Local port of the connection to <paramref name="server"/>, if one is open.</summary>
    public ushort? LocalPort(TcpEndpoint server) => _byServer.TryGetValue(server, out var c) ? c.LocalPort : null;

    /// <summary>
    /// Re-initialisation (tunnel spec §4.3): the tunnel IPs to source from and the resolvers whose packets are claimed.
    /// Any change fails every query in flight (like <see cref="Reset"/>); the same configuration again is a no-op.
    /// </summary>
    public void Configure(IPAddress? sourceV4, IPAddress? sourceV6, IEnumerable<TcpEndpoint> resolvers, TimeSpan now)
    {
        TcpEndpoint? v4 = sourceV4 is null ? null : TcpEndpoint.From(sourceV4, 0);
        TcpEndpoint? v6 = sourceV6 is null ? null : TcpEndpoint.From(sourceV6, 0);
        if (v4 is { IsIPv6: true } || v6 is { IsIPv6: false }) throw new ArgumentException("Source addresses of the wrong family.");
        var set = new HashSet<TcpEndpoint>(resolvers);
        if (v4 == _sourceV4 && v6 == _sourceV6 && set.SetEquals(_resolvers)) return;
        Reset(now);
        _sourceV4 = v4;
        _sourceV6 = v6;
        _resolvers = set;
    }

    /// <summary>§11 item 10: any TCP packet from a configured resolver socket to a tunnel IP is ours.</summary>
    public bool Claims(Span<byte> packet)
    {
        if (IpPacket.TryParse(packet, out IpPacket ip) != IpParseError.None || !ip.TryGetTcp(out TcpSegment tcp)) return false;
        var from = TcpEndpoint.FromBytes(ip.SourceBytes, tcp.SourcePort);
        var to = TcpEndpoint.FromBytes(ip.DestinationBytes, 0);
        return _resolvers.Contains(from) && (to == _sourceV4 || to == _sourceV6);
    }

    /// <summary>Sends <paramref name="message"/> (a DNS query; its first two bytes are the id) to <paramref name="server"/>.</summary>
    public DnsTcpSendError SendQuery(TcpEndpoint server, ReadOnlySpan<byte> message, TimeSpan now)
    {
        _now = now;
        if (message.Length is < 2 or > DnsTcpFraming.MaxMessageLength) return DnsTcpSendError.BadLength;
        if (!_resolvers.Contains(server)) return DnsTcpSendError.UnknownResolver;
        if ((server.IsIPv6 ? _sourceV6 : _sourceV4) is not { } source) return DnsTcpSendError.NoSourceAddress;
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(message);
        if (_inFlight.ContainsKey((server, id))) return DnsTcpSendError.DuplicateQueryId;
        if (_inFlight.Count >= MaxInFlight) return DnsTcpSendError.TooManyInFlight;
        if (!_byServer.TryGetValue(server, out var c) || c.Closing)
        {
            if (Open(source, server, now) is not { } opened) return DnsTcpSendError.NoConnection;
            c = opened;
        }
        c.Framing.Write(_set, message);
        c.Outstanding++;
        _inFlight[(server, id)] = new InFlight(c, now + _queryTimeout);
        return DnsTcpSendError.None;
    }

    private Connection? Open(TcpEndpoint source, TcpEndpoint server, TimeSpan now)
    {
        var options = _set.Options;
        int count = options.EphemeralPortLast - options.EphemeralPortFirst + 1;
        Span<byte> r = stackalloc byte[4];
        _random(r);
        int start = (int)(BinaryPrimitives.ReadUInt32LittleEndian(r) % (uint)count);
        for (int i = 0; i < count; i++)
        {
            ushort port = (ushort)(options.EphemeralPortFirst + (start + i) % count);
            if (_excludedPorts.Contains(port)) continue;
            if (_set.Connect(source.WithPort(port), server, now) is not { } h) continue;
            var c = new Connection(h, server, port);
            if (_byServer.TryGetValue(server, out var old)) old.Replaced = true;
            _byServer[server] = c;
            _byHandle[h.Id] = c;
            return c;
        }
        return null;
    }

    /// <summary>Processes a claimed packet; false (untouched) if <see cref="Claims"/> rejects it.</summary>
    public bool HandleInput(Span<byte> packet, TimeSpan now)
    {
        if (!Claims(packet)) return false;
        _now = now;
        _set.HandleInput(packet, now);
        Process(now);
        return true;
    }

    public void HandleTimeout(TimeSpan now)
    {
        _now = now;
        _set.HandleTimeout(now);
        Process(now);
        List<(TcpEndpoint, ushort)>? expired = null;
        foreach (var (key, q) in _inFlight)
            if (now >= q.Deadline) (expired ??= []).Add(key);
        if (expired is not null)
        {
            foreach (var key in expired) Fail(key, DnsTcpFailure.Timeout);
        }
        foreach (Connection c in _byHandle.Values.ToList())
        {
            if (c.Outstanding == 0 && c.IdleSince is { } idle && now >= idle + IdleClose) Forget(c, abort: false);
        }
    }

    public TimeSpan? PollTimeout()
    {
        TimeSpan? t = _set.PollTimeout();
        foreach (InFlight q in _inFlight.Values) if (t is null || q.Deadline < t) t = q.Deadline;
        foreach (Connection c in _byHandle.Values)
            if (c.Outstanding == 0 && c.IdleSince is { } idle && (t is null || idle + IdleClose < t)) t = idle + IdleClose;
        return t;
    }

    /// <summary>The next IP packet to encapsulate towards the resolver's gateway (0: none).</summary>
    public int PollTransmit(Span<byte> destination) => _set.PollTransmit(destination);

    public bool TryPollResult(out DnsTcpResult result) => _results.TryDequeue(out result);

    /// <summary>
    /// Tunnel spec §4.7/§4.8: fails every query in flight (<see cref="DnsTcpFailure.Reset"/>), aborts every connection
    /// (RST) and makes later connections use ports other than the ones in use now.
    /// </summary>
    public void Reset(TimeSpan now)
    {
        _now = now;
        _excludedPorts.Clear();
        foreach (var key in _inFlight.Keys.ToList()) Fail(key, DnsTcpFailure.Reset);
        foreach (Connection c in _byHandle.Values.ToList())
        {
            _excludedPorts.Add(c.LocalPort);
            Forget(c, abort: true);
        }
        if (_excludedPorts.Count > 0) Log.ResetConnections(_logger, _excludedPorts.Count);
    }

    private void Process(TimeSpan now)
    {
        while (_set.TryPollEvent(out TcpEvent ev))
        {
            if (!_byHandle.TryGetValue(ev.Handle.Id, out var c)) continue;
            switch (ev.Kind)
            {
                case TcpEventKind.Readable:
                    ReadResponses(c, now);
                    break;
                case TcpEventKind.Writable:
                    c.Framing.Flush(_set);
                    break;
                case TcpEventKind.Closed or TcpEventKind.Reset or TcpEventKind.TimedOut:
                    Forget(c, abort: false);
                    break;
            }
        }
    }

    private void ReadResponses(Connection c, TimeSpan now)
    {
        TcpResult r;
        while (c.Framing.TryReadMessage(_set, out ReadOnlySpan<byte> message, out r))
        {
            if (message.Length < 2) continue;
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(message);
            if (!_inFlight.Remove((c.Server, id), out var q) || q.Connection != c) continue; // unsolicited or late
            c.Outstanding--;
            if (c.Outstanding == 0) c.IdleSince = now;
            _results.Enqueue(new DnsTcpResult(c.Server, id, message.ToArray(), DnsTcpFailure.None));
        }
        if (_byHandle.ContainsKey(c.Handle.Id) && r is TcpResult.EndOfStream or TcpResult.ConnectionClosed)
            Forget(c, abort: false); // the server closed: what is still in flight on it fails
    }

    private void Fail((TcpEndpoint Server, ushort Id) key, DnsTcpFailure failure)
    {
        if (!_inFlight.Remove(key, out var q)) return;
        q.Connection.Outstanding--;
        if (q.Connection.Outstanding == 0) q.Connection.IdleSince = _now;
        _results.Enqueue(new DnsTcpResult(key.Server, key.Id, null, failure));
        Log.QueryFailed(_logger, key.Id, failure);
    }

    /// <summary>Removes a connection; queries still in flight on it fail with <see cref="DnsTcpFailure.ConnectionLost"/>.</summary>
    private void Forget(Connection c, bool abort)
    {
        if (!_byHandle.Remove(c.Handle.Id)) return;
        if (_byServer.TryGetValue(c.Server, out var current) && current == c) _byServer.Remove(c.Server);
        c.Closing = true;
        foreach (var key in _inFlight.Where(e => e.Value.Connection == c).Select(e => e.Key).ToList()) Fail(key, DnsTcpFailure.ConnectionLost);
        if (abort) _set.Abort(c.Handle);
        _set.Release(c.Handle);
        c.Framing.Dispose();
    }

    private sealed class Connection(TcpSocketHandle handle, TcpEndpoint server, ushort localPort)
    {
        public TcpSocketHandle Handle { get; } = handle;
        public TcpEndpoint Server { get; } = server;
        public ushort LocalPort { get; } = localPort;
        public DnsTcpFraming Framing { get; } = new(handle);
        public int Outstanding;
        public TimeSpan? IdleSince;
        public bool Closing, Replaced;
    }

    private sealed record InFlight(Connection Connection, TimeSpan Deadline);

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "TCP DNS query {QueryId} failed: {Failure}")]
        public static partial void QueryFailed(ILogger logger, ushort queryId, DnsTcpFailure failure);

        [LoggerMessage(Level = LogLevel.Debug, Message = "TCP DNS client reset: {Count} connections aborted")]
        public static partial void ResetConnections(ILogger logger, int count);
    }
}
