using System.Buffers.Binary;
using Firezone.Snownet.SansIo;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.WireGuard;

/// <summary>
/// A sans-IO WireGuard tunnel to one peer (whitepaper §5–6, spec §4.8): handshakes as initiator and responder,
/// cookies, transport data with replay protection, keypair rotation (previous/current/next), a queue of up to 256
/// packets before a session exists, and every timer of the protocol. Not thread-safe.
/// <para>
/// Contract (the Snownet README's sans-IO contract): <see cref="Encapsulate"/> and <see cref="Decapsulate"/> write
/// what they can answer at once into the caller's buffer; <see cref="HandleTimeout"/> runs the timers and remembers
/// what they want sent; after every call, drain <see cref="PollTransmit"/> until it returns
/// <see cref="TunnelResultKind.Done"/> (timer datagrams, handshake answers that did not fit the caller's buffer,
/// then packets queued before the session existed) and re-read <see cref="PollTimeout"/>. Buffers are the caller's,
/// at least packet + 32 and at least 148 bytes; nothing is allocated per packet.
/// </para>
/// <para>
/// Time: every <c>now</c> is monotonic (a <see cref="TimeSpan"/> since the driver's origin); every timer uses only it.
/// The TAI64N timestamp of an initiation is <c>wallClockAtZero + now</c>, with the wall-clock anchor given at
/// construction (the wall-clock time at <c>now</c> = 0), so a wall-clock jump during the tunnel's life shifts no timer
/// and never makes the timestamps go backwards (which the peer would refuse as a replay).
/// </para>
/// <para>
/// Randomness comes from the injected source: the 32-byte private scalars of ephemeral keys (initiations and
/// responses) and the REKEY_TIMEOUT jitter. Production passes the OS CSPRNG; simulations pass a seeded source and
/// replay a run byte for byte (together with a <see cref="RateLimiter"/> given the same kind of source).
/// </para>
/// </summary>
internal sealed partial class Tunnel : IDisposable
{
    private readonly StaticKeys _keys;
    private readonly NoiseHandshake _handshake;
    private readonly RateLimiter _rateLimiter;
    private readonly uint _indexBase;
    private readonly TimeSpan _persistentKeepalive;
    private readonly DateTimeOffset _wallClockAtZero;
    private readonly Action<Span<byte>> _random;
    private readonly PacketQueue _queue = new();
    private readonly ILogger _logger;
    private byte _indexCounter;

    private Session? _previous;
    private Session? _current;
    private Session? _next;

    private readonly PendingDatagram _timerInitiation = new(MessageFormat.InitiationLength);
    private readonly PendingDatagram _timerKeepalive = new(MessageFormat.DataOverhead);
    private readonly PendingDatagram _reply = new(MessageFormat.InitiationLength);
    private readonly byte[] _answerScratch = new byte[MessageFormat.InitiationLength];

    /// <summary>Creates a tunnel.</summary>
    /// <param name="privateKey">Our static private key (32 bytes).</param>
    /// <param name="peerPublicKey">The peer's static public key (32 bytes).</param>
    /// <param name="presharedKey">The preshared key (32 bytes, or empty for none).</param>
    /// <param name="persistentKeepalive">Persistent keepalive interval, or null for none.</param>
    /// <param name="index24">Our 24-bit index prefix, from the node's <see cref="IndexGenerator"/>.</param>
    /// <param name="rateLimiter">The handshake rate limiter shared by every tunnel of the node.</param>
    /// <param name="now">The monotonic instant of creation.</param>
    /// <param name="wallClockAtZero">The wall-clock time at <c>now</c> = 0: TAI64N timestamps are this plus <c>now</c>.</param>
    /// <param name="random">Randomness for ephemeral keys and the retransmission jitter.</param>
    /// <param name="logger">Optional logger (nothing above Trace per packet).</param>
    public Tunnel(
        ReadOnlySpan<byte> privateKey,
        ReadOnlySpan<byte> peerPublicKey,
        ReadOnlySpan<byte> presharedKey,
        TimeSpan? persistentKeepalive,
        uint index24,
        RateLimiter rateLimiter,
        TimeSpan now,
        DateTimeOffset wallClockAtZero,
        Action<Span<byte>> random,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(rateLimiter);
        ArgumentNullException.ThrowIfNull(random);
        _logger = logger ?? NullLogger.Instance;
        _random = random;
        _keys = new StaticKeys(privateKey, peerPublicKey, presharedKey);
        _handshake = new NoiseHandshake(_keys, random);
        _rateLimiter = rateLimiter;
        _indexBase = (index24 & 0xFF_FFFF) << 8;
        _persistentKeepalive = persistentKeepalive ?? TimeSpan.Zero;
        _wallClockAtZero = wallClockAtZero;
        _lastNow = now;
        _lastSessionEstablished = now;
        _lastPacketSent = now;
        _lastPacketReceived = now;
    }

    /// <summary>Counters of this tunnel.</summary>
    public TunnelStats Stats { get; } = new();

    /// <summary>Our static public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _keys.PublicKey;

    /// <summary>True once a current session exists.</summary>
    public bool HasCurrentSession => _current is not null;

    /// <summary>True while an initiation of ours awaits its response.</summary>
    public bool IsHandshakeInProgress => _handshake.InitiationPending;

    /// <summary>Our index of the current session (0 if none).</summary>
    public uint CurrentLocalIndex => _current?.LocalIndex ?? 0;

    /// <summary>The peer's index of the current session (0 if none).</summary>
    public uint CurrentRemoteIndex => _current?.RemoteIndex ?? 0;

    /// <summary>(our index, peer index) of the keypair that decrypted the last transport message.</summary>
    public (uint Local, uint Remote) LastReceiveSession { get; private set; }

    /// <summary>Packets waiting for a session.</summary>
    public int QueuedPackets => _queue.Count;

    /// <summary>The TAI64N timestamp of the last initiation accepted from the peer (zeros before the first).</summary>
    internal ReadOnlySpan<byte> LastPeerTimestamp => _handshake.LastTimestamp;

    /// <summary>Time since the current session was established; null without a current session.</summary>
    public TimeSpan? TimeSinceLastHandshake(TimeSpan now) => _current is null ? null : now - _lastSessionEstablished;

    /// <summary>Encrypts an IP packet for the peer, or queues it and starts a handshake if no session exists.</summary>
    public TunnelResult Encapsulate(ReadOnlySpan<byte> packet, Span<byte> destination, TimeSpan now)
    {
        if (destination.Length < packet.Length + MessageFormat.DataOverhead) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        if (now > _lastNow) _lastNow = now;
        var session = _current;
        if (session is not null && session.CanSend(now))
        {
            var length = session.Encrypt(packet, destination);
            OnSent(now, packet.Length != 0);
            return TunnelResult.Network(length);
        }

        if (!packet.IsEmpty && !_queue.TryEnqueue(packet)) Stats.DroppedQueued++;
        if (!MayInitiate(now)) return TunnelResult.Done;
        if (destination.Length < MessageFormat.InitiationLength)
        {
            CreateInitiation(_timerInitiation.Buffer, now);
            _timerInitiation.Set(MessageFormat.InitiationLength);
            return TunnelResult.Done;
        }
        return CreateInitiation(destination, now);
    }

    /// <summary>
    /// Writes a handshake initiation unless one is in progress (or we answered a handshake less than
    /// REKEY_TIMEOUT ago) and <paramref name="force"/> is false.
    /// </summary>
    public TunnelResult FormatHandshakeInitiation(Span<byte> destination, bool force, TimeSpan now)
    {
        if (destination.Length < MessageFormat.InitiationLength) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        if (now > _lastNow) _lastNow = now;
        if (!force && !MayInitiate(now)) return TunnelResult.Done;
        return CreateInitiation(destination, now);
    }

    /// <summary>False while an initiation is pending, or shortly after we answered one (the peer's first transport message will give us a session).</summary>
    private bool MayInitiate(TimeSpan now) =>
        !_handshake.InitiationPending
        && !(_lastHandshakeSent is { } sent && _next is not null && now - sent < WireGuardTimers.RekeyTimeout);

    private TunnelResult CreateInitiation(Span<byte> destination, TimeSpan now)
    {
        if (!_handshake.InitiationPending) _handshakeStarted = now;
        _handshake.CreateInitiation(NextLocalIndex(), _wallClockAtZero + now, now, destination);
        _lastInitiationSent = now;
        _lastHandshakeSent = now;
        _retransmitJitter = TimeSpan.FromMilliseconds(RandomSource.NextInt(_random, (int)WireGuardTimers.MaxJitter.TotalMilliseconds + 1));
        Stats.InitiationsSent++;
        WireGuardLog.InitiationSent(_logger, _handshake.PendingIndex);
        OnSent(now, data: false);
        return TunnelResult.Network(MessageFormat.InitiationLength);
    }

    private uint NextLocalIndex()
    {
        _indexCounter++; // starts at 1 and wraps through 0
        return _indexBase | _indexCounter;
    }

    /// <summary>
    /// Processes a datagram from the peer. <paramref name="sourceAddress"/> (may be empty) binds cookies to the
    /// sender when the rate limiter is over its limit. Returns a packet for the TUN device, an answer to send
    /// (a handshake response, cookie reply or keepalive), <see cref="TunnelResultKind.Done"/> or an error. Never throws
    /// for any datagram content: garbage, truncated, replayed and forged datagrams are dropped and counted.
    /// An answer that does not fit <paramref name="destination"/> comes from <see cref="PollTransmit"/>.
    /// </summary>
    public TunnelResult Decapsulate(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> sourceAddress, Span<byte> destination, TimeSpan now)
    {
        if (now > _lastNow) _lastNow = now;
        var result = DecapsulateCore(datagram, sourceAddress, destination, now);
        if (result.Kind == TunnelResultKind.Error && _logger.IsEnabled(LogLevel.Trace)) WireGuardLog.Dropped(_logger, result.Error);
        return result;
    }

    private TunnelResult DecapsulateCore(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> sourceAddress, Span<byte> destination, TimeSpan now)
    {
        var type = MessageFormat.Classify(datagram);
        switch (type)
        {
            case MessageFormat.TypeData:
                return DecapsulateData(datagram, destination, now);
            case MessageFormat.TypeInitiation:
            case MessageFormat.TypeResponse:
            {
                // Answers go into the caller's buffer when it is large enough, else through a scratch buffer into the
                // reply slot (a failed message must not clobber an answer still waiting there).
                var direct = destination.Length >= MessageFormat.InitiationLength;
                var answer = direct ? destination : _answerScratch;
                switch (_rateLimiter.Verify(sourceAddress, datagram, answer, now))
                {
                    case RateLimitVerdict.InvalidMac:
                        Stats.DroppedInvalidMac++;
                        return TunnelResult.Fail(WireGuardError.InvalidMac);
                    case RateLimitVerdict.UnderLoad:
                        Stats.DroppedUnderLoad++;
                        return TunnelResult.Fail(WireGuardError.UnderLoad);
                    case RateLimitVerdict.CookieReply:
                        Stats.CookieRepliesSent++;
                        WireGuardLog.CookieReplySent(_logger);
                        return Answer(direct, MessageFormat.CookieReplyLength);
                }
                var result = type == MessageFormat.TypeInitiation ? HandleInitiation(datagram, answer, now) : HandleResponse(datagram, answer, now);
                return result.Kind == TunnelResultKind.WriteToNetwork ? Answer(direct, result.Length) : result;
            }
            case MessageFormat.TypeCookieReply:
                if (_handshake.ConsumeCookieReply(datagram, now) != HandshakeError.None)
                {
                    Stats.DroppedHandshake++;
                    return TunnelResult.Fail(WireGuardError.HandshakeFailed);
                }
                Stats.CookieRepliesReceived++;
                return TunnelResult.Done;
            default:
                Stats.DroppedMalformed++;
                return TunnelResult.Fail(WireGuardError.InvalidPacket);
        }
    }

    /// <summary>An answer of <paramref name="length"/> bytes: in the caller's buffer, or kept in the reply slot for <see cref="PollTransmit"/>.</summary>
    private TunnelResult Answer(bool direct, int length)
    {
        if (direct) return TunnelResult.Network(length);
        _reply.Store(_answerScratch.AsSpan(0, length));
        return TunnelResult.Done;
    }

    private TunnelResult HandleInitiation(ReadOnlySpan<byte> datagram, Span<byte> destination, TimeSpan now)
    {
        var error = _handshake.ConsumeInitiationAndRespond(datagram, NextLocalIndex(), now, destination, out var keys);
        if (error != HandshakeError.None || keys is null)
        {
            Stats.DroppedHandshake++;
            return TunnelResult.Fail(WireGuardError.HandshakeFailed);
        }
        _next?.Dispose();
        _next = new Session(keys, now);
        _lastHandshakeSent = now;
        Stats.HandshakesCompleted++;
        OnAuthenticatedReceive(now, data: false);
        OnSent(now, data: false);
        return TunnelResult.Network(MessageFormat.ResponseLength);
    }

    private TunnelResult HandleResponse(ReadOnlySpan<byte> datagram, Span<byte> destination, TimeSpan now)
    {
        var error = _handshake.ConsumeResponse(datagram, out var keys);
        if (error != HandshakeError.None || keys is null)
        {
            Stats.DroppedHandshake++;
            return TunnelResult.Fail(WireGuardError.HandshakeFailed);
        }
        var session = new Session(keys, now);
        _previous?.Dispose();
        _previous = _current;
        _current = session;
        WireGuardLog.SessionEstablished(_logger, "initiator", session.LocalIndex, session.RemoteIndex);
        // A pending responder keypair (_next) is kept: with crossing initiations the peer may send on it.
        OnSessionEstablished(now);
        Stats.HandshakesCompleted++;
        OnAuthenticatedReceive(now, data: false);

        // Tell the responder at once that we have the session: an empty keepalive.
        var length = session.Encrypt(ReadOnlySpan<byte>.Empty, destination);
        Stats.KeepalivesSent++;
        OnSent(now, data: false);
        return TunnelResult.Network(length);
    }

    private Session? FindSession(uint receiverIndex)
    {
        if (_current is { } c && c.LocalIndex == receiverIndex) return c;
        if (_next is { } n && n.LocalIndex == receiverIndex) return n;
        if (_previous is { } p && p.LocalIndex == receiverIndex) return p;
        return null;
    }

    private TunnelResult DecapsulateData(ReadOnlySpan<byte> datagram, Span<byte> destination, TimeSpan now)
    {
        var receiver = MessageFormat.ReadIndex(datagram, MessageFormat.DataReceiver);
        var session = FindSession(receiver);
        if (session is null)
        {
            Stats.DroppedWrongIndex++;
            return TunnelResult.Fail(WireGuardError.WrongIndex);
        }
        switch (session.Decrypt(datagram, destination, now, out var length))
        {
            case DecryptStatus.Replayed:
                Stats.DroppedReplayed++;
                return TunnelResult.Fail(WireGuardError.ReplayedCounter);
            case DecryptStatus.AuthenticationFailed:
                Stats.DroppedDecryptionFailed++;
                return TunnelResult.Fail(WireGuardError.DecryptionFailed);
            case DecryptStatus.Expired:
                Stats.DroppedExpiredSession++;
                return TunnelResult.Fail(WireGuardError.SessionExpired);
            case DecryptStatus.BufferTooSmall:
                return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        }

        LastReceiveSession = (session.LocalIndex, session.RemoteIndex);
        if (ReferenceEquals(session, _next))
        {
            // First transport message on the responder's new keypair: it becomes current.
            _previous?.Dispose();
            _previous = _current;
            _current = session;
            _next = null;
            WireGuardLog.SessionEstablished(_logger, "responder", session.LocalIndex, session.RemoteIndex);
            OnSessionEstablished(now);
        }

        if (length == 0)
        {
            Stats.KeepalivesReceived++;
            OnAuthenticatedReceive(now, data: false);
            return TunnelResult.Done;
        }

        OnAuthenticatedReceive(now, data: true);
        var packet = destination[..length];
        var version = packet[0] >> 4;
        if (version == 4 && length >= 20)
        {
            int total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
            if (total >= 20 && total <= length)
            {
                Stats.PacketsReceived++;
                return new TunnelResult(TunnelResultKind.WriteToTunnelV4, total, WireGuardError.None);
            }
        }
        else if (version == 6 && length >= 40)
        {
            var total = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + 40;
            if (total <= length)
            {
                Stats.PacketsReceived++;
                return new TunnelResult(TunnelResultKind.WriteToTunnelV6, total, WireGuardError.None);
            }
        }
        Stats.DroppedInvalidTunnelPacket++;
        return TunnelResult.Fail(WireGuardError.InvalidTunnelPacket);
    }

    /// <summary>
    /// Writes the next datagram the tunnel wants sent into <paramref name="destination"/>: a handshake initiation or
    /// keepalive decided by <see cref="HandleTimeout"/>, a handshake answer that did not fit the caller's buffer,
    /// then packets queued before the session existed (encrypted now). <see cref="TunnelResultKind.Done"/> when there
    /// is nothing (or queued packets still wait for a session).
    /// </summary>
    public TunnelResult PollTransmit(Span<byte> destination, TimeSpan now)
    {
        if (now > _lastNow) _lastNow = now;
        if (_timerInitiation.TryTake(destination, out var result)) return result;
        if (_timerKeepalive.TryTake(destination, out result)) return result;
        if (_reply.TryTake(destination, out result)) return result;

        var session = _current;
        if (_queue.Count == 0 || session is null || !session.CanSend(now)) return TunnelResult.Done;
        var packet = _queue.Peek();
        if (destination.Length < packet.Length + MessageFormat.DataOverhead) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        var length = session.Encrypt(packet, destination);
        _queue.Release();
        OnSent(now, data: true);
        return TunnelResult.Network(length);
    }

    private void OnSessionEstablished(TimeSpan now)
    {
        _lastSessionEstablished = now;
        IsExpired = false;
    }

    private void OnSent(TimeSpan now, bool data)
    {
        _lastPacketSent = now;
        _passiveKeepaliveDue = null;
        if (data)
        {
            Stats.PacketsSent++;
            _lastDataSent = now;
            _newHandshakeDue ??= now + WireGuardTimers.NewHandshakeTime;
        }
    }

    private void OnAuthenticatedReceive(TimeSpan now, bool data)
    {
        _lastPacketReceived = now;
        _newHandshakeDue = null;
        if (data)
        {
            _lastDataReceived = now;
            _passiveKeepaliveDue ??= now + WireGuardTimers.KeepaliveTimeout;
        }
    }

    private void ClearAll()
    {
        _previous?.Dispose();
        _current?.Dispose();
        _next?.Dispose();
        _previous = _current = _next = null;
        _handshake.ClearPending();
        Stats.DroppedQueued += _queue.Clear();
        _newHandshakeDue = null;
        _passiveKeepaliveDue = null;
        _timerKeepalive.Clear();
    }

    /// <summary>Releases the sessions and queued buffers and zeroes the static secrets.</summary>
    public void Dispose()
    {
        ClearAll();
        _keys.Clear();
    }
}
