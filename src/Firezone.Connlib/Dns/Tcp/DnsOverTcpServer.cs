using Firezone.Connlib.Tcp;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Dns.Tcp;

/// <summary>Identifies the connection a TCP DNS query arrived on, to answer it (the query id is kept for logs and
/// for matching forwarded answers, tunnel spec §4.7).</summary>
internal readonly record struct DnsTcpQueryHandle(TcpSocketHandle Socket, ushort QueryId);

/// <summary>A DNS message received over TCP: its bytes (owned by the caller), where to answer, and both endpoints.</summary>
internal sealed record DnsTcpQuery(byte[] Message, DnsTcpQueryHandle Handle, TcpEndpoint Local, TcpEndpoint Remote);

/// <summary>
/// connlib's DNS-over-TCP server (tunnel spec §4.3, §4.7): listens on (sentinel IP, 53) endpoints with 10 concurrent
/// clients each and yields every framed message received (RFC 7766: several queries per connection, pipelined, answered
/// in any order). Reads nothing of a message but its first two bytes (the query id). Sans-IO over a
/// <see cref="TcpSocketSet"/>: IP packets from the TUN device in, IP packets for the TUN device out.
/// </summary>
/// <remarks>
/// Caps: 10 connections per endpoint (the 11th concurrent client's SYN is refused with RST, as smoltcp does when no
/// listening socket is free); at most <see cref="MaxOutstandingQueriesPerConnection"/> unanswered queries per
/// connection (beyond it the server stops reading, so the client's window closes); the socket set's own caps.
/// A client that half-closes is answered and then closed.
/// </remarks>
internal sealed partial class DnsOverTcpServer
{
    /// <summary>Concurrent TCP DNS clients per sentinel socket (tunnel spec §2).</summary>
    public const int MaxConcurrentClientsPerEndpoint = 10;
    /// <summary>Unanswered queries read from one connection at most.</summary>
    public const int MaxOutstandingQueriesPerConnection = 16;

    private readonly TcpSocketSet _set;
    private readonly ILogger _logger;
    private readonly HashSet<TcpEndpoint> _endpoints = [];
    private readonly Dictionary<int, Connection> _connections = [];
    private readonly Queue<DnsTcpQuery> _queries = new();

    public DnsOverTcpServer(Action<Span<byte>> random, TcpOptions? options = null, ILogger? logger = null)
    {
        _set = new TcpSocketSet(options ?? new TcpOptions(), random);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The endpoints listened on.</summary>
    public IReadOnlyCollection<TcpEndpoint> ListenEndpoints => _endpoints;
    internal TcpSocketSet Sockets => _set;
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Re-initialisation (tunnel spec §4.3): listens on exactly <paramref name="endpoints"/>. Connections of endpoints
    /// that are no longer listened on are aborted (RST); those of endpoints kept stay.
    /// </summary>
    public void SetListenEndpoints(IEnumerable<TcpEndpoint> endpoints)
    {
        var wanted = new HashSet<TcpEndpoint>(endpoints);
        foreach (TcpEndpoint old in _endpoints.Where(e => !wanted.Contains(e)).ToList())
        {
            _set.StopListening(old);
            _endpoints.Remove(old);
            foreach (Connection c in _connections.Values.Where(c => c.Local == old).ToList()) Drop(c, abort: true);
        }
        foreach (TcpEndpoint e in wanted)
            if (_endpoints.Add(e)) _set.Listen(e, MaxConcurrentClientsPerEndpoint);
        Log.Listening(_logger, _endpoints.Count);
    }

    /// <summary>True if <paramref name="packet"/> is TCP to one of the listened addresses (any port: a wrong port gets RST).</summary>
    public bool Accepts(Span<byte> packet)
    {
        if (IpPacket.TryParse(packet, out IpPacket ip) != IpParseError.None || ip.Protocol != IpConstants.ProtocolTcp) return false;
        var dst = TcpEndpoint.FromBytes(ip.DestinationBytes, 53);
        return _endpoints.Contains(dst) || AnyAddressMatches(dst);
    }

    private bool AnyAddressMatches(TcpEndpoint address)
    {
        foreach (TcpEndpoint e in _endpoints) if (e.SameAddress(address)) return true;
        return false;
    }

    /// <summary>Processes a packet from the TUN device; false (untouched) if it is not for this server.</summary>
    public bool HandleInput(Span<byte> packet, TimeSpan now)
    {
        if (!Accepts(packet)) return false;
        _set.HandleInput(packet, now);
        Process();
        return true;
    }

    public void HandleTimeout(TimeSpan now)
    {
        _set.HandleTimeout(now);
        Process();
    }

    public TimeSpan? PollTimeout() => _set.PollTimeout();

    /// <summary>The next IP packet for the TUN device (0: none).</summary>
    public int PollTransmit(Span<byte> destination) => _set.PollTransmit(destination);

    /// <summary>The next received query.</summary>
    public bool TryPollQuery(out DnsTcpQuery query) => _queries.TryDequeue(out query!);

    /// <summary>Answers a query on its connection; false if that connection is gone (the answer is dropped).</summary>
    public bool SendResponse(DnsTcpQueryHandle handle, ReadOnlySpan<byte> response)
    {
        if (!_connections.TryGetValue(handle.Socket.Id, out var c) || c.Outstanding == 0) return false;
        if (!c.Framing.Write(_set, response)) return false;
        c.Outstanding--;
        ReadQueries(c);
        CloseIfDone(c);
        return true;
    }

    private void Process()
    {
        while (_set.TryPollEvent(out TcpEvent ev))
        {
            _connections.TryGetValue(ev.Handle.Id, out var c);
            switch (ev.Kind)
            {
                case TcpEventKind.Accepted:
                    c = new Connection(ev.Handle, ev.Tuple.Local, ev.Tuple.Remote);
                    _connections[ev.Handle.Id] = c;
                    ReadQueries(c);
                    break;
                case TcpEventKind.Readable when c is not null:
                    ReadQueries(c);
                    CloseIfDone(c);
                    break;
                case TcpEventKind.Writable when c is not null:
                    c.Framing.Flush(_set);
                    CloseIfDone(c);
                    break;
                case TcpEventKind.Closed or TcpEventKind.Reset or TcpEventKind.TimedOut when c is not null:
                    Drop(c, abort: false);
                    break;
            }
        }
    }

    private void ReadQueries(Connection c)
    {
        while (c.Outstanding < MaxOutstandingQueriesPerConnection)
        {
            if (!c.Framing.TryReadMessage(_set, out ReadOnlySpan<byte> message, out TcpResult r))
            {
                if (r == TcpResult.EndOfStream) c.PeerClosed = true;
                return;
            }
            if (message.Length < 2) continue; // no query id: nothing to answer
            ushort id = (ushort)(message[0] << 8 | message[1]);
            c.Outstanding++;
            _queries.Enqueue(new DnsTcpQuery(message.ToArray(), new DnsTcpQueryHandle(c.Handle, id), c.Local, c.Remote));
        }
    }

    private void CloseIfDone(Connection c)
    {
        if (!c.PeerClosed || c.Outstanding > 0 || c.Framing.PendingFrames > 0) return;
        Drop(c, abort: false); // Release closes gracefully (FIN after the queued answers) and lingers without events
    }

    private void Drop(Connection c, bool abort)
    {
        if (abort) _set.Abort(c.Handle);
        _set.Release(c.Handle);
        c.Framing.Dispose();
        _connections.Remove(c.Handle.Id);
    }

    private sealed class Connection(TcpSocketHandle handle, TcpEndpoint local, TcpEndpoint remote)
    {
        public TcpSocketHandle Handle { get; } = handle;
        public TcpEndpoint Local { get; } = local;
        public TcpEndpoint Remote { get; } = remote;
        public DnsTcpFraming Framing { get; } = new(handle);
        public int Outstanding;
        public bool PeerClosed;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "TCP DNS server listening on {Count} endpoints")]
        public static partial void Listening(ILogger logger, int count);
    }
}
