using System.Buffers.Binary;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tcp;

/// <summary>A listening endpoint of a <see cref="TcpSocketSet"/> with its concurrency cap.</summary>
internal sealed class TcpListener(TcpEndpoint endpoint, int maxConnections)
{
    public TcpEndpoint Endpoint { get; } = endpoint;
    /// <summary>Connections from this listener that are still in the 4-tuple table (half-open and TIME-WAIT included).</summary>
    public int MaxConnections { get; } = maxConnections;
    public int Active { get; set; }
}

/// <summary>
/// A sans-IO TCP stack: connections keyed by 4-tuple, listeners keyed by local endpoint, IP packets in
/// (<see cref="HandleInput"/>) and out (<see cref="PollTransmit"/>), one monotonic clock (<c>now</c>), injected randomness
/// for initial sequence numbers and ephemeral ports. Nothing here is tied to DNS: it is meant to become the
/// in-process network stack of a TUN-less mode.
/// </summary>
/// <remarks>
/// Caps (a remote peer can grow nothing beyond them): <see cref="TcpOptions.MaxConnections"/> connections in the
/// 4-tuple table, each listener's own concurrency cap, <see cref="TcpOptions.MaxPendingResets"/> queued RSTs,
/// <see cref="TcpOptions.MaxReassemblyRanges"/> out-of-order ranges and fixed send/receive buffers per connection.
/// Events are coalesced per connection (at most one pending Readable/Writable each), so the event queue is bounded by
/// a small multiple of the connection count. Single-threaded.
/// </remarks>
internal sealed class TcpSocketSet
{
    private readonly TcpOptions _options;
    private readonly Action<Span<byte>> _random;
    private readonly Dictionary<TcpFourTuple, TcpConnection> _byTuple = [];
    private readonly List<TcpConnection> _connections = [];
    private readonly Dictionary<int, TcpConnection> _byHandle = [];
    private readonly Dictionary<TcpEndpoint, TcpListener> _listeners = [];
    private readonly Queue<TcpEvent> _events = new();
    private readonly Queue<(TcpFourTuple Tuple, uint Seq, uint Ack, bool WithAck)> _resets = new();
    private readonly List<TcpConnection> _terminated = [];
    private readonly byte[] _scratch = new byte[IpConstants.MaxPacketSize];
    private int _nextHandle = 1;
    private int _cursor;
    private TimeSpan _now;

    public TcpSocketSet(TcpOptions options, Action<Span<byte>> random)
    {
        options.Validate();
        _options = options;
        _random = random;
    }

    public TcpOptions Options => _options;
    /// <summary>Connections in the 4-tuple table.</summary>
    public int ConnectionCount => _byTuple.Count;
    /// <summary>Handles not yet released.</summary>
    public int HandleCount => _byHandle.Count;
    public int PendingResetCount => _resets.Count;
    public int PendingEventCount => _events.Count;

    // -------------------------------------------------------------------------------------------------------------
    // Listeners and opens

    /// <summary>Listens on <paramref name="endpoint"/> accepting at most <paramref name="maxConnections"/> at a time
    /// (a SYN beyond the cap is answered with RST). False if already listening there.</summary>
    public bool Listen(TcpEndpoint endpoint, int maxConnections)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        return _listeners.TryAdd(endpoint, new TcpListener(endpoint, maxConnections));
    }

    /// <summary>Stops listening (connections already accepted stay).</summary>
    public bool StopListening(TcpEndpoint endpoint) => _listeners.Remove(endpoint);

    public bool IsListening(TcpEndpoint endpoint) => _listeners.ContainsKey(endpoint);

    /// <summary>
    /// Active open from <paramref name="local"/> (port 0 picks a random free ephemeral port) to <paramref name="remote"/>;
    /// the SYN goes out on the next <see cref="PollTransmit"/>. Null if the table is full or no port is free.
    /// </summary>
    public TcpSocketHandle? Connect(TcpEndpoint local, TcpEndpoint remote, TimeSpan now)
    {
        if (local.IsIPv6 != remote.IsIPv6) throw new ArgumentException("Address families differ.", nameof(remote));
        _now = now;
        if (_byTuple.Count >= _options.MaxConnections) return null;
        if (local.Port == 0)
        {
            if (PickEphemeralPort(local, remote) is not { } port) return null;
            local = local.WithPort(port);
        }
        var tuple = new TcpFourTuple(local, remote);
        if (_byTuple.ContainsKey(tuple)) return null;
        TcpConnection c = Add(tuple, listener: null, now);
        c.UserVisible = true;
        c.OpenActive(now);
        return c.Handle;
    }

    private ushort? PickEphemeralPort(TcpEndpoint local, TcpEndpoint remote)
    {
        int first = _options.EphemeralPortFirst, count = _options.EphemeralPortLast - first + 1;
        Span<byte> r = stackalloc byte[4];
        _random(r);
        int start = (int)(BinaryPrimitives.ReadUInt32LittleEndian(r) % (uint)count);
        for (int i = 0; i < count; i++)
        {
            ushort port = (ushort)(first + (start + i) % count);
            if (!_byTuple.ContainsKey(new TcpFourTuple(local.WithPort(port), remote))) return port;
        }
        return null;
    }

    private TcpConnection Add(TcpFourTuple tuple, TcpListener? listener, TimeSpan now)
    {
        Span<byte> r = stackalloc byte[4];
        _random(r);
        var handle = new TcpSocketHandle(_nextHandle++);
        if (_nextHandle == int.MaxValue) _nextHandle = 1;
        var c = new TcpConnection(this, _options, tuple, handle, BinaryPrimitives.ReadUInt32LittleEndian(r), now) { Listener = listener };
        _byTuple.Add(tuple, c);
        _connections.Add(c);
        _byHandle[handle.Id] = c;
        if (listener is not null) listener.Active++;
        return c;
    }

    // -------------------------------------------------------------------------------------------------------------
    // Socket operations (never throw for anything a peer can cause)

    public TcpState GetState(TcpSocketHandle handle) => _byHandle.TryGetValue(handle.Id, out var c) ? c.State : TcpState.Closed;

    public bool TryGetTuple(TcpSocketHandle handle, out TcpFourTuple tuple)
    {
        tuple = default;
        if (!_byHandle.TryGetValue(handle.Id, out var c)) return false;
        tuple = c.Tuple;
        return true;
    }

    internal TcpConnection? GetConnection(TcpSocketHandle handle) => _byHandle.GetValueOrDefault(handle.Id);

    /// <summary>Queues as much of <paramref name="data"/> as the send buffer takes (a short write later raises Writable).</summary>
    public TcpResult Send(TcpSocketHandle handle, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        return _byHandle.TryGetValue(handle.Id, out var c) ? c.Send(data, out written) : TcpResult.InvalidHandle;
    }

    /// <summary>Free send-buffer bytes (0 for an unknown handle).</summary>
    public int SendSpace(TcpSocketHandle handle) => _byHandle.TryGetValue(handle.Id, out var c) ? c.SendSpace : 0;

    /// <summary>Reads received bytes; <see cref="TcpResult.EndOfStream"/> once the peer's FIN was read past.</summary>
    public TcpResult Receive(TcpSocketHandle handle, Span<byte> destination, out int read)
    {
        read = 0;
        return _byHandle.TryGetValue(handle.Id, out var c) ? c.Receive(destination, out read) : TcpResult.InvalidHandle;
    }

    /// <summary>Closes the sending side (FIN after queued data); reading continues until the peer's FIN.</summary>
    public void Close(TcpSocketHandle handle)
    {
        if (_byHandle.TryGetValue(handle.Id, out var c)) c.Close();
        Sweep();
    }

    /// <summary>Aborts with RST; the handle stays until released.</summary>
    public void Abort(TcpSocketHandle handle)
    {
        if (_byHandle.TryGetValue(handle.Id, out var c)) c.Abort();
        Sweep();
    }

    /// <summary>
    /// Gives the handle up: a closed connection is removed; a live one is closed gracefully (FIN) and finishes in the
    /// background without events (bounded by its timeouts).
    /// </summary>
    public void Release(TcpSocketHandle handle)
    {
        if (!_byHandle.Remove(handle.Id, out var c)) return;
        c.Detached = true;
        if (c.State == TcpState.Closed)
        {
            if (!_byTuple.ContainsKey(c.Tuple)) c.ReturnBuffers();
            return;
        }
        c.Close();
        Sweep();
    }

    // -------------------------------------------------------------------------------------------------------------
    // Input

    /// <summary>Processes one IP packet carrying TCP (checksums verified; anything malformed is dropped).</summary>
    public TcpInputResult HandleInput(Span<byte> packet, TimeSpan now)
    {
        _now = now;
        if (IpPacket.TryParse(packet, out IpPacket ip) != IpParseError.None) return TcpInputResult.Malformed;
        if (!ip.TryGetTcp(out TcpSegment tcp) || !ip.ChecksumsValid()) return TcpInputResult.Malformed;
        var remote = TcpEndpoint.FromBytes(ip.SourceBytes, tcp.SourcePort);
        var local = TcpEndpoint.FromBytes(ip.DestinationBytes, tcp.DestinationPort);
        if (remote.IsMulticastOrBroadcast || local.IsMulticastOrBroadcast || remote.Port == 0 || local.Port == 0)
            return TcpInputResult.Malformed;
        tcp.TryGetMaximumSegmentSize(out ushort mss);
        var seg = new TcpInputSegment(tcp.SequenceNumber, tcp.AcknowledgementNumber, tcp.Flags, tcp.Window, mss, tcp.Payload);
        var tuple = new TcpFourTuple(local, remote);
        TcpInputResult result = TcpInputResult.Handled;
        if (_byTuple.TryGetValue(tuple, out var c)) c.HandleSegment(seg, now);
        else if (_listeners.TryGetValue(local, out var listener)) HandleListen(listener, tuple, seg, now);
        else
        {
            RespondToClosed(tuple, seg);
            result = TcpInputResult.NoSocket;
        }
        Sweep();
        return result;
    }

    /// <summary>RFC 9293 §3.10.7.2 (LISTEN).</summary>
    private void HandleListen(TcpListener listener, TcpFourTuple tuple, in TcpInputSegment seg, TimeSpan now)
    {
        if (seg.Rst) return;
        if (seg.HasAck)
        {
            QueueReset(tuple, seg.Ack, 0, false);
            return;
        }
        if (!seg.Syn) return;
        if (listener.Active >= listener.MaxConnections || _byTuple.Count >= _options.MaxConnections)
        {
            RespondToClosed(tuple, seg); // refused: RST, ACK = SEG.SEQ + SEG.LEN
            return;
        }
        Add(tuple, listener, now).OpenPassive(seg, now);
    }

    /// <summary>RFC 9293 §3.10.7.1 (CLOSED): RST unless the segment is one.</summary>
    private void RespondToClosed(TcpFourTuple tuple, in TcpInputSegment seg)
    {
        if (seg.Rst) return;
        if (seg.HasAck) QueueReset(tuple, seg.Ack, 0, false);
        else QueueReset(tuple, 0, seg.Seq + seg.Length, true);
    }

    internal void QueueReset(TcpFourTuple tuple, uint seq, uint ack, bool withAck)
    {
        if (_resets.Count < _options.MaxPendingResets) _resets.Enqueue((tuple, seq, ack, withAck));
    }

    // -------------------------------------------------------------------------------------------------------------
    // Timers

    public void HandleTimeout(TimeSpan now)
    {
        _now = now;
        for (int i = 0; i < _connections.Count; i++) _connections[i].HandleTimeout(now);
        Sweep();
    }

    /// <summary>The earliest instant a connection timer wants (null when nothing is scheduled).</summary>
    public TimeSpan? PollTimeout()
    {
        TimeSpan? earliest = null;
        for (int i = 0; i < _connections.Count; i++)
        {
            if (_connections[i].NextTimeout() is { } t && (earliest is null || t < earliest)) earliest = t;
        }
        return earliest;
    }

    // -------------------------------------------------------------------------------------------------------------
    // Output

    /// <summary>
    /// Writes the next outgoing IP packet into <paramref name="destination"/> (at least 1280 bytes) and returns its
    /// length, or 0 when nothing is to send. Queued RSTs first, then connections in turn. Times sent segments with the
    /// <c>now</c> of the last input or timeout.
    /// </summary>
    public int PollTransmit(Span<byte> destination)
    {
        if (_resets.TryDequeue(out var r))
        {
            byte flags = (byte)(TcpSegment.FlagRst | (r.WithAck ? TcpSegment.FlagAck : 0));
            return WriteSegment(destination, r.Tuple, r.Seq, r.Ack, flags, 0, 0, default);
        }
        int n = _connections.Count;
        for (int i = 0; i < n; i++)
        {
            if (_cursor >= _connections.Count) _cursor = 0;
            TcpConnection c = _connections[_cursor];
            int len = c.PollSegment(destination, _scratch, _now);
            if (c.State == TcpState.Closed) Sweep();
            if (len > 0) return len;
            _cursor++;
        }
        return 0;
    }

    public bool TryPollEvent(out TcpEvent ev)
    {
        while (_events.TryDequeue(out ev))
        {
            if (!_byHandle.TryGetValue(ev.Handle.Id, out var c)) continue; // released since
            if (ev.Kind == TcpEventKind.Readable) c.ReadableDelivered();
            return true;
        }
        return false;
    }

    internal void Emit(TcpConnection c, TcpEventKind kind)
    {
        if (c.Detached) return;
        if (kind is TcpEventKind.Accepted or TcpEventKind.Connected) c.UserVisible = true;
        else if (!c.UserVisible) return;
        _events.Enqueue(new TcpEvent(kind, c.Handle, c.Tuple));
    }

    internal void OnTerminated(TcpConnection c) => _terminated.Add(c);

    /// <summary>Removes terminated connections from the 4-tuple table (and entirely if nobody holds their handle).</summary>
    private void Sweep()
    {
        if (_terminated.Count == 0) return;
        foreach (TcpConnection c in _terminated)
        {
            if (!_byTuple.Remove(c.Tuple)) continue;
            int i = _connections.IndexOf(c);
            if (i >= 0)
            {
                _connections[i] = _connections[^1];
                _connections.RemoveAt(_connections.Count - 1);
            }
            if (c.Listener is { } l) l.Active--;
            if (c.Detached || !c.UserVisible)
            {
                _byHandle.Remove(c.Handle.Id);
                c.ReturnBuffers();
            }
        }
        _terminated.Clear();
    }

    internal int WriteSegment(Span<byte> destination, TcpFourTuple tuple, uint seq, uint ack, byte flags, ushort window, ushort mss, ReadOnlySpan<byte> payload)
    {
        Span<byte> src = stackalloc byte[16], dst = stackalloc byte[16];
        int n = tuple.Local.WriteAddress(src);
        tuple.Remote.WriteAddress(dst);
        return PacketBuilder.TcpFromAddressBytes(destination, src[..n], dst[..n], tuple.Local.Port, tuple.Remote.Port,
            seq, ack, flags, window, mss, payload);
    }
}
