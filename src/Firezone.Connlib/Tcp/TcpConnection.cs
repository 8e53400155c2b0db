using System.Buffers;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tcp.SequenceNumber;

namespace Firezone.Connlib.Tcp;

/// <summary>The fields of one received segment that a connection needs (the payload is the caller's span).</summary>
internal readonly ref struct TcpInputSegment(uint seq, uint ack, byte flags, ushort window, ushort mss, ReadOnlySpan<byte> payload)
{
    public readonly uint Seq = seq;
    public readonly uint Ack = ack;
    public readonly byte Flags = flags;
    public readonly ushort Window = window;
    /// <summary>The MSS option (0 = absent).</summary>
    public readonly ushort Mss = mss;
    public readonly ReadOnlySpan<byte> Payload = payload;
    public bool Syn => (Flags & TcpSegment.FlagSyn) != 0;
    public bool Fin => (Flags & TcpSegment.FlagFin) != 0;
    public bool Rst => (Flags & TcpSegment.FlagRst) != 0;
    public bool HasAck => (Flags & TcpSegment.FlagAck) != 0;
    /// <summary>SEG.LEN: payload plus one for SYN and one for FIN.</summary>
    public uint Length => (uint)Payload.Length + (Syn ? 1u : 0) + (Fin ? 1u : 0);
}

/// <summary>
/// One TCP connection (RFC 9293 subset): handshake, go-back-N retransmission on an RFC 6298 timer with Karn's rule,
/// in-order delivery with bounded out-of-order reassembly, the peer's window respected (zero-window probing by the
/// retransmission timer), FIN both ways, RST with RFC 5961 checks, TIME-WAIT. No congestion control, Nagle, delayed
/// ACK, SACK, timestamps or window scaling. Owned by a <see cref="TcpSocketSet"/>, which routes segments to it.
/// </summary>
internal sealed class TcpConnection
{
    private readonly TcpSocketSet _owner;
    private readonly TcpOptions _options;
    private ByteRing _send;
    private ByteRing _receive;
    private readonly ReassemblyRanges _outOfOrder;
    private RetransmissionTimeout _rto;

    // Send sequence space (RFC 9293 §3.3.1). _sendBase is the sequence number of the send ring's first byte.
    private uint _iss, _sndUna, _sndNxt, _sndMax, _sendBase, _sndWl1, _sndWl2;
    private uint _sndWnd;
    // Receive sequence space.
    private uint _irs, _rcvNxt, _advertisedEdge;
    private int _peerMss;
    private readonly int _maxPayload;

    private bool _finQueued, _finReceived, _ackPending, _rstPending, _writeBlocked, _readablePending, _forceProbe;
    private bool _timeoutAfterRst, _synRetransmitted;
    private TimeSpan? _challengeWindowStart;
    private int _duplicateAcks;
    private bool _fastRetransmit;
    private int _challengeAcks;
    private TimeSpan? _retransmitDeadline;
    private int _retries;
    private bool _timing;
    private uint _timedSeq;
    private TimeSpan _timedAt;
    private TimeSpan _timeWaitDeadline;
    private TimeSpan _lastActivity;

    public TcpConnection(TcpSocketSet owner, TcpOptions options, TcpFourTuple tuple, TcpSocketHandle handle, uint iss, TimeSpan now)
    {
        _owner = owner;
        _options = options;
        Tuple = tuple;
        Handle = handle;
        _send = new ByteRing(ArrayPool<byte>.Shared.Rent(options.SendBufferSize), options.SendBufferSize);
        _receive = new ByteRing(ArrayPool<byte>.Shared.Rent(options.ReceiveBufferSize), options.ReceiveBufferSize);
        _outOfOrder = new ReassemblyRanges(options.MaxReassemblyRanges);
        _rto = new RetransmissionTimeout(options.InitialRto, options.MinRto, options.MaxRto);
        _iss = iss;
        _sndUna = _sndNxt = _sndMax = iss;
        _sendBase = iss + 1;
        _maxPayload = IpConstants.MaxPacketSize - (tuple.Local.IsIPv6 ? IpConstants.Ipv6HeaderLength : IpConstants.Ipv4HeaderLength) - TcpSegment.MinHeaderLength;
        _peerMss = tuple.Local.IsIPv6 ? 1220 : 536; // RFC 9293 §3.7.1 defaults without the option
        _lastActivity = now;
    }

    public TcpFourTuple Tuple { get; }
    public TcpSocketHandle Handle { get; }
    public TcpState State { get; private set; }
    /// <summary>The listener that created this connection (null for active opens).</summary>
    public TcpListener? Listener { get; init; }
    /// <summary>True once the user saw the handle (Connected/Accepted event or returned by Connect).</summary>
    public bool UserVisible { get; set; }
    /// <summary>The user released the handle; the connection lingers only to finish the protocol.</summary>
    public bool Detached { get; set; }
    public TimeSpan CurrentRto => _rto.Current;
    public RetransmissionTimeout Rto => _rto;
    public int Retries => _retries;
    public int BytesToRead => _receive.Count;
    public int OutOfOrderRanges => _outOfOrder.Count;
    public int SendSpace => _send.Free;
    public int BytesUnacknowledgedOrUnsent => _send.Count;
    public uint PeerWindow => _sndWnd;
    public int PeerMss => _peerMss;
    public int AdvertisedWindow => Math.Min(_receive.Free, 65535);

    /// <summary>The byte count a segment may carry: the peer's MSS bounded by our 1280-byte packets.</summary>
    private int SegmentPayloadLimit => Math.Min(_peerMss, _maxPayload);

    /// <summary>The advertised MSS: what fits into a 1280-byte packet.</summary>
    public ushort OurMss => (ushort)_maxPayload;

    // ---------------------------------------------------------------------------------------------------------
    // Opening

    /// <summary>Active open: SYN-SENT, the SYN goes out on the next poll.</summary>
    public void OpenActive(TimeSpan now)
    {
        State = TcpState.SynSent;
        _lastActivity = now;
    }

    /// <summary>Passive open from a listener's received SYN: SYN-RECEIVED, the SYN-ACK goes out on the next poll.</summary>
    public void OpenPassive(in TcpInputSegment syn, TimeSpan now)
    {
        State = TcpState.SynReceived;
        _irs = syn.Seq;
        _rcvNxt = syn.Seq + 1;
        _sndWnd = syn.Window;
        _sndWl1 = syn.Seq;
        _sndWl2 = _iss;
        if (syn.Mss != 0) _peerMss = syn.Mss;
        _lastActivity = now;
    }

    // ---------------------------------------------------------------------------------------------------------
    // User operations

    public TcpResult Send(ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        switch (State)
        {
            case TcpState.Closed: return TcpResult.ConnectionClosed;
            case TcpState.SynSent or TcpState.SynReceived or TcpState.Established or TcpState.CloseWait:
                if (_finQueued) return TcpResult.SendClosed;
                written = _send.Write(data);
                if (written < data.Length) _writeBlocked = true;
                return TcpResult.Ok;
            default: return TcpResult.SendClosed;
        }
    }

    public TcpResult Receive(Span<byte> destination, out int read)
    {
        read = 0;
        if (_receive.Count == 0)
        {
            if (State == TcpState.Closed && !_finReceived) return TcpResult.ConnectionClosed;
            return _finReceived ? TcpResult.EndOfStream : TcpResult.Ok;
        }
        read = _receive.Read(destination);
        // RFC 9293 §3.8.6.2.2 receiver SWS avoidance: announce a larger window only when it grew by min(MSS, buffer/2).
        uint edge = _rcvNxt + (uint)AdvertisedWindow;
        if ((int)(edge - _advertisedEdge) >= Math.Min(_maxPayload, _receive.Capacity / 2) && State is not (TcpState.Closed or TcpState.TimeWait))
            _ackPending = true;
        return TcpResult.Ok;
    }

    /// <summary>Closes our sending side (FIN after the queued data). Idempotent.</summary>
    public void Close()
    {
        switch (State)
        {
            case TcpState.SynSent or TcpState.SynReceived:
                _finQueued = true; // FIN-WAIT-1 once the handshake completes (queued data goes first)
                break;
            case TcpState.Established:
                _finQueued = true;
                State = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                _finQueued = true;
                State = TcpState.LastAck;
                break;
        }
    }

    /// <summary>Aborts: RST to the peer (unless nothing was ever sent to it), data discarded.</summary>
    public void Abort()
    {
        if (State is TcpState.Closed) return;
        if (State is TcpState.SynSent or TcpState.TimeWait) Terminate(null);
        else _rstPending = true; // sent by the next poll, which then terminates
    }

    // ---------------------------------------------------------------------------------------------------------
    // Segment arrival (RFC 9293 §3.10.7.3 for SYN-SENT, §3.10.7.4 for the other states)

    public void HandleSegment(in TcpInputSegment seg, TimeSpan now)
    {
        if (State == TcpState.Closed || _rstPending) return;
        if (State == TcpState.SynSent)
        {
            HandleInSynSent(seg, now);
            return;
        }

        // 1. Sequence number check.
        if (!SegmentAcceptable(seg))
        {
            if (State == TcpState.SynReceived && seg.Syn && !seg.HasAck && seg.Seq == _irs)
            {
                _sndNxt = _sndUna; // the peer lost our SYN-ACK: send it again
                return;
            }
            if (!seg.Rst) _ackPending = true;
            // TIME-WAIT: a retransmitted FIN (it lies before RCV.NXT) is acknowledged and restarts the timer.
            if (State == TcpState.TimeWait && seg.Fin && !seg.Rst) _timeWaitDeadline = now + _options.TimeWait;
            return;
        }

        // 2. RST (RFC 5961 §3.2: exact match resets, any other in-window RST gets a challenge ACK).
        if (seg.Rst)
        {
            if (State == TcpState.TimeWait) return; // RFC 1337: no TIME-WAIT assassination (and no Reset after Closed)
            if (seg.Seq == _rcvNxt) Terminate(State == TcpState.SynReceived && Listener is not null && !UserVisible ? null : TcpEventKind.Reset);
            else ChallengeAck(now);
            return;
        }

        // 4. SYN in a synchronized state (RFC 5961 §4): challenge ACK.
        if (seg.Syn)
        {
            ChallengeAck(now);
            return;
        }

        // 5. ACK.
        if (!seg.HasAck) return;
        _lastActivity = now;
        if (State == TcpState.SynReceived)
        {
            if (Gt(seg.Ack, _sndUna) && Le(seg.Ack, _sndMax))
            {
                State = _finQueued ? TcpState.FinWait1 : TcpState.Established;
                if (_synRetransmitted) _rto.ResetAfterSynRetransmission();
                _sndWnd = seg.Window;
                _sndWl1 = seg.Seq;
                _sndWl2 = seg.Ack;
                _owner.Emit(this, Listener is not null ? TcpEventKind.Accepted : TcpEventKind.Connected);
            }
            else
            {
                _owner.QueueReset(Tuple, seg.Ack, 0, false);
                return;
            }
        }
        if (!ProcessAck(seg, now)) return;
        if (State == TcpState.Closed) return;

        // 7. Segment text.
        bool receiving = State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2;
        if (receiving && seg.Payload.Length > 0) ReceiveText(seg.Seq, seg.Payload);
        bool inOrderEnd = seg.Seq + (uint)seg.Payload.Length == _rcvNxt;

        // 8. FIN: accepted only when it is the next sequence number (an out-of-order FIN is retransmitted by the peer).
        if (seg.Fin && inOrderEnd && !_finReceived && receiving)
        {
            _finReceived = true;
            _rcvNxt++;
            _ackPending = true;
            MarkReadable();
            switch (State)
            {
                case TcpState.Established: State = TcpState.CloseWait; break;
                case TcpState.FinWait1: State = TcpState.Closing; break;
                case TcpState.FinWait2: EnterTimeWait(now); break;
            }
        }
        else if (seg.Fin && _finReceived)
        {
            _ackPending = true;
        }
    }

    private void HandleInSynSent(in TcpInputSegment seg, TimeSpan now)
    {
        bool ackAcceptable = false;
        if (seg.HasAck)
        {
            if (Le(seg.Ack, _iss) || Gt(seg.Ack, _sndMax))
            {
                if (!seg.Rst) _owner.QueueReset(Tuple, seg.Ack, 0, false);
                return;
            }
            ackAcceptable = true;
        }
        if (seg.Rst)
        {
            if (ackAcceptable) Terminate(TcpEventKind.Reset); // connection refused
            return;
        }
        if (!seg.Syn) return;
        _irs = seg.Seq;
        _rcvNxt = seg.Seq + 1;
        if (seg.Mss != 0) _peerMss = seg.Mss;
        _lastActivity = now;
        if (ackAcceptable)
        {
            AdvanceUna(seg.Ack, now);
            _sndWnd = seg.Window;
            _sndWl1 = seg.Seq;
            _sndWl2 = seg.Ack;
            State = _finQueued ? TcpState.FinWait1 : TcpState.Established;
            _ackPending = true;
            if (_synRetransmitted) _rto.ResetAfterSynRetransmission();
            _owner.Emit(this, TcpEventKind.Connected);
            if (seg.Payload.Length > 0) ReceiveText(seg.Seq + 1, seg.Payload);
        }
        else
        {
            // Simultaneous open: SYN-RECEIVED, our SYN goes out again with the ACK.
            State = TcpState.SynReceived;
            _sndWnd = seg.Window;
            _sndNxt = _sndUna;
        }
    }

    /// <summary>The four acceptability cases of RFC 9293 §3.10.7.4 with RCV.WND = the window we advertise now.</summary>
    private bool SegmentAcceptable(in TcpInputSegment seg)
    {
        uint len = seg.Length;
        uint wnd = (uint)AdvertisedWindow;
        if (len == 0)
            return wnd == 0 ? seg.Seq == _rcvNxt : Le(_rcvNxt, seg.Seq) && Lt(seg.Seq, _rcvNxt + wnd);
        if (wnd == 0) return false;
        uint last = seg.Seq + len - 1;
        return (Le(_rcvNxt, seg.Seq) && Lt(seg.Seq, _rcvNxt + wnd)) || (Le(_rcvNxt, last) && Lt(last, _rcvNxt + wnd));
    }

    /// <summary>Step 5 of §3.10.7.4 with the RFC 5961 §5 ACK check; false if the segment is to be dropped.</summary>
    private bool ProcessAck(in TcpInputSegment seg, TimeSpan now)
    {
        if (Gt(seg.Ack, _sndMax))
        {
            ChallengeAck(now); // acknowledges something not yet sent
            return false;
        }
        if (Lt(seg.Ack, _sndUna - Math.Max(_sndWnd, 65535u)))
        {
            ChallengeAck(now); // RFC 5961 §5: too old
            return false;
        }
        bool advanced = Gt(seg.Ack, _sndUna);
        // RFC 5681 §3.2 (without congestion control): the third duplicate ACK (nothing new acknowledged, no data, same
        // window, data outstanding) retransmits the first unacknowledged segment at once instead of waiting for the RTO.
        bool duplicate = !advanced && seg.Ack == _sndUna && seg.Payload.Length == 0 && !seg.Fin && seg.Window == _sndWnd && _sndMax != _sndUna;
        if (advanced) _duplicateAcks = 0;
        else if (duplicate && ++_duplicateAcks == 3)
        {
            _fastRetransmit = true;
            _timing = false; // Karn
        }
        if (advanced) AdvanceUna(seg.Ack, now);
        if (advanced || seg.Window == 0) _retries = 0; // the peer is alive (also answers zero-window probes)
        // Window update: the SND.WL1/SND.WL2 rule, and also every segment that acknowledges new data (as Linux's
        // tcp_may_update_window). SND.WND is an offset from SND.UNA, so an ACK that moves SND.UNA while its window is
        // ignored — a retransmitted segment of the peer carries an old SEG.SEQ with a current ACK — would move the
        // right edge past anything the peer advertised (found by the flow-control property).
        if (advanced || Lt(_sndWl1, seg.Seq) || (_sndWl1 == seg.Seq && Le(_sndWl2, seg.Ack)))
        {
            _sndWnd = seg.Window;
            _sndWl1 = seg.Seq;
            _sndWl2 = seg.Ack;
        }
        bool finAcked = _finQueued && seg.Ack == _sendBase + (uint)_send.Count + 1 && _send.Count == 0;
        switch (State)
        {
            case TcpState.FinWait1 when finAcked: State = TcpState.FinWait2; break;
            case TcpState.Closing when finAcked: EnterTimeWait(now); break;
            case TcpState.LastAck when finAcked: Terminate(TcpEventKind.Closed); return false;
        }
        return true;
    }

    /// <summary>RFC 5961 §7: at most <see cref="ChallengeAcksPerSecond"/> challenge ACKs per second (per connection).</summary>
    private void ChallengeAck(TimeSpan now)
    {
        if (_challengeWindowStart is not { } start || now - start >= TimeSpan.FromSeconds(1))
        {
            _challengeWindowStart = now;
            _challengeAcks = 0;
        }
        if (_challengeAcks >= ChallengeAcksPerSecond) return;
        _challengeAcks++;
        _ackPending = true;
    }

    public const int ChallengeAcksPerSecond = 10;

    private void AdvanceUna(uint ack, TimeSpan now)
    {
        if (_timing && Ge(ack, _timedSeq))
        {
            _rto.Sample(now - _timedAt); // Karn: _timing is cleared whenever anything is retransmitted
            _timing = false;
        }
        if (Gt(ack, _sendBase))
        {
            int n = (int)Math.Min(ack - _sendBase, (uint)_send.Count);
            _send.Discard(n);
            _sendBase += (uint)n;
            if (n > 0 && _writeBlocked)
            {
                _writeBlocked = false;
                _owner.Emit(this, TcpEventKind.Writable);
            }
        }
        _sndUna = ack;
        if (Lt(_sndNxt, ack)) _sndNxt = ack;
        _retransmitDeadline = _sndUna == _sndMax ? null : now + _rto.Current;
    }

    /// <summary>Stores payload starting at <paramref name="seq"/> inside the window and delivers what is in order.</summary>
    private void ReceiveText(uint seq, ReadOnlySpan<byte> payload)
    {
        _ackPending = true; // every data segment is acknowledged at once (no delayed ACK; out of order: a duplicate ACK)
        int offset = (int)(seq - _rcvNxt);
        if (offset < 0)
        {
            if (-offset >= payload.Length) return; // a duplicate
            payload = payload[(-offset)..];
            offset = 0;
        }
        int window = _receive.Free;
        if (offset >= window) return;
        int n = Math.Min(payload.Length, window - offset);
        if (_outOfOrder.Add(offset, n)) _receive.WriteAt(offset, payload[..n]);
        int front = _outOfOrder.TakeFront();
        if (front > 0)
        {
            _receive.Commit(front);
            _rcvNxt += (uint)front;
            if (Detached) _receive.Discard(_receive.Count); // nobody reads any more: keep the window open
            else MarkReadable();
        }
    }

    private void MarkReadable()
    {
        if (_readablePending || Detached) return;
        _readablePending = true;
        _owner.Emit(this, TcpEventKind.Readable);
    }

    /// <summary>The set polled the Readable event (a new one may follow new data).</summary>
    public void ReadableDelivered() => _readablePending = false;

    private void EnterTimeWait(TimeSpan now)
    {
        State = TcpState.TimeWait;
        _timeWaitDeadline = now + _options.TimeWait;
        _retransmitDeadline = null;
        _owner.Emit(this, TcpEventKind.Closed);
    }

    private void Terminate(TcpEventKind? kind)
    {
        State = TcpState.Closed;
        _retransmitDeadline = null;
        _ackPending = false;
        if (kind is TcpEventKind.Reset or TcpEventKind.TimedOut)
        {
            _receive.Discard(_receive.Count);
            _finReceived = false;
        }
        if (kind is { } k && UserVisible) _owner.Emit(this, k);
        _owner.OnTerminated(this);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Timers

    public TimeSpan? NextTimeout()
    {
        if (State == TcpState.Closed) return null;
        if (State == TcpState.TimeWait) return _timeWaitDeadline;
        TimeSpan? t = _retransmitDeadline;
        if (_options.IdleTimeout is { } idle)
        {
            TimeSpan i = _lastActivity + idle;
            if (t is null || i < t) t = i;
        }
        return t;
    }

    public void HandleTimeout(TimeSpan now)
    {
        if (State == TcpState.Closed) return;
        if (State == TcpState.TimeWait)
        {
            if (now >= _timeWaitDeadline) Terminate(null);
            return;
        }
        if (_options.IdleTimeout is { } idle && now >= _lastActivity + idle)
        {
            if (State == TcpState.SynSent) Terminate(TcpEventKind.TimedOut);
            else
            {
                _rstPending = true;
                _timeoutAfterRst = true;
            }
            return;
        }
        if (_retransmitDeadline is { } d && now >= d)
        {
            bool probing = _sndWnd == 0 && _send.Count > (int)(_sndNxt - _sendBase);
            if (_sndUna == _sndMax && !probing && State is not (TcpState.SynSent or TcpState.SynReceived))
            {
                _retransmitDeadline = null; // nothing in flight any more
                return;
            }
            bool handshake = State is TcpState.SynSent or TcpState.SynReceived;
            int limit = State == TcpState.SynSent ? _options.SynRetries : State == TcpState.SynReceived ? _options.SynAckRetries : _options.DataRetries;
            if (_retries >= limit)
            {
                bool passiveHalfOpen = State == TcpState.SynReceived && Listener is not null && !UserVisible;
                if (State == TcpState.SynSent || passiveHalfOpen) Terminate(passiveHalfOpen ? null : TcpEventKind.TimedOut);
                else
                {
                    _rstPending = true;
                    _timeoutAfterRst = true;
                }
                return;
            }
            _retries++;
            _rto.Backoff();
            _timing = false; // Karn: nothing retransmitted is timed
            _sndNxt = _sndUna; // go back N
            _duplicateAcks = 0;
            _forceProbe = _sndWnd == 0;
            _retransmitDeadline = now + _rto.Current;
            if (handshake && _retries == 1) _synRetransmitted = true;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Output

    /// <summary>Writes the next segment (an IP packet) into <paramref name="destination"/>; 0 if there is none.</summary>
    public int PollSegment(Span<byte> destination, Span<byte> scratch, TimeSpan now)
    {
        if (State == TcpState.Closed) return 0;
        if (_rstPending)
        {
            _rstPending = false;
            int len = Write(destination, _sndNxt, _rcvNxt, TcpSegment.FlagRst | TcpSegment.FlagAck, 0, default, now);
            Terminate(_timeoutAfterRst ? TcpEventKind.TimedOut : null);
            return len;
        }

        // SYN or SYN-ACK.
        if ((State == TcpState.SynSent || State == TcpState.SynReceived) && _sndNxt == _iss)
        {
            byte flags = State == TcpState.SynSent ? TcpSegment.FlagSyn : (byte)(TcpSegment.FlagSyn | TcpSegment.FlagAck);
            int len = Write(destination, _iss, State == TcpState.SynSent ? 0 : _rcvNxt, flags, OurMss, default, now);
            OccupySequence(_iss, 1, now);
            return len;
        }
        if (State is TcpState.SynSent or TcpState.SynReceived)
        {
            if (_ackPending) return WriteAck(destination);
            return 0;
        }

        if (_fastRetransmit)
        {
            _fastRetransmit = false;
            int first = (int)(_sndUna - _sendBase);
            int length = Math.Min(Math.Min(_send.Count - first, (int)(_sndMax - _sndUna)), SegmentPayloadLimit);
            if (first >= 0 && length > 0)
            {
                Span<byte> resend = scratch[..length];
                _send.Peek(first, resend);
                return Write(destination, _sndUna, _rcvNxt, TcpSegment.FlagAck, 0, resend, now);
            }
        }

        // Data, then FIN.
        int offset = (int)(_sndNxt - _sendBase);
        if (offset < 0) offset = 0;
        int unsent = _send.Count - offset;
        long window = (long)_sndUna + _sndWnd - _sndNxt;
        if (_sndWnd == 0 && _forceProbe && _sndNxt == _sndUna && unsent > 0) window = 1; // zero-window probe
        int n = (int)Math.Clamp(Math.Min(unsent, window), 0, SegmentPayloadLimit);
        bool finNow = _finQueued && offset + n == _send.Count && State is TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck
            && _sndNxt + (uint)n == _sendBase + (uint)_send.Count;
        if (n > 0 || finNow)
        {
            uint seq = _sendBase + (uint)offset;
            Span<byte> payload = scratch[..n];
            _send.Peek(offset, payload);
            byte flags = TcpSegment.FlagAck;
            if (n > 0 && offset + n == _send.Count) flags |= TcpSegment.FlagPsh;
            if (finNow) flags |= TcpSegment.FlagFin;
            int len = Write(destination, seq, _rcvNxt, flags, 0, payload, now);
            OccupySequence(seq, (uint)n + (finNow ? 1u : 0), now);
            _forceProbe = false;
            return len;
        }
        if (unsent > 0 && _sndWnd == 0 && _retransmitDeadline is null)
            _retransmitDeadline = now + _rto.Current; // persist timer (zero-window probe when it fires)
        if (_ackPending) return WriteAck(destination);
        return 0;
    }

    private int WriteAck(Span<byte> destination)
        => Write(destination, _sndNxt, _rcvNxt, TcpSegment.FlagAck, 0, default, default);

    private void OccupySequence(uint seq, uint length, TimeSpan now)
    {
        uint end = seq + length;
        _sndNxt = end;
        if (Gt(end, _sndMax))
        {
            if (!_timing && _retries == 0)
            {
                _timing = true;
                _timedSeq = end;
                _timedAt = now;
            }
            _sndMax = end;
        }
        _retransmitDeadline ??= now + _rto.Current;
    }

    private int Write(Span<byte> destination, uint seq, uint ack, byte flags, ushort mss, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        _ackPending = false;
        ushort window = (ushort)AdvertisedWindow;
        if ((flags & TcpSegment.FlagAck) != 0) _advertisedEdge = _rcvNxt + window;
        if ((flags & TcpSegment.FlagRst) != 0) window = 0;
        return _owner.WriteSegment(destination, Tuple, seq, ack, flags, window, mss, payload);
    }

    /// <summary>Hands the buffers back to the pool (the connection is unusable afterwards).</summary>
    public void ReturnBuffers()
    {
        ArrayPool<byte>.Shared.Return(_send.Detach());
        ArrayPool<byte>.Shared.Return(_receive.Detach());
    }
}
