using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.WireGuard;

/// <summary>
/// A sans-IO WireGuard tunnel to one peer (whitepaper §5–6, spec §4.8): handshakes as initiator and responder,
/// cookies, transport data with replay protection, keypair rotation (previous/current/next), a queue of up to 256
/// packets before a session exists, and every timer of the protocol. Time comes only from the <c>now</c>
/// arguments (UTC); it is also the clock of the TAI64N timestamps in initiations. Not thread-safe.
/// <para>
/// Calls write into caller buffers. After a <see cref="Decapsulate"/> that returned
/// <see cref="TunnelResultKind.WriteToNetwork"/>, send it and call <see cref="Decapsulate"/> again with an empty
/// datagram until it returns <see cref="TunnelResultKind.Done"/> (flushes queued packets). The same empty call
/// flushes queued packets whenever <see cref="CanFlushQueue"/> is true.
/// </para>
/// </summary>
internal sealed class Tunnel : IDisposable
{
    private readonly StaticKeys _keys;
    private readonly NoiseHandshake _handshake;
    private readonly RateLimiter _rateLimiter;
    private readonly uint _indexBase;
    private readonly TimeSpan _persistentKeepalive;
    private readonly PacketQueue _queue = new();
    private readonly ILogger _logger;
    private byte _indexCounter;

    private Session? _previous;
    private Session? _current;
    private Session? _next;

    private DateTime _handshakeStarted;
    private DateTime _lastInitiationSent;
    private DateTime _lastHandshakeSent;
    private TimeSpan _retransmitJitter;
    private DateTime _lastSessionEstablished;
    private DateTime _lastPacketSent;
    private DateTime _lastPacketReceived;
    private DateTime _lastDataSent;
    private DateTime _lastDataReceived;
    private DateTime? _newHandshakeDue;
    private DateTime? _passiveKeepaliveDue;

    /// <summary>Creates a tunnel. <paramref name="index24"/> comes from the node's <see cref="IndexGenerator"/>.</summary>
    public Tunnel(
        ReadOnlySpan<byte> privateKey,
        ReadOnlySpan<byte> peerPublicKey,
        ReadOnlySpan<byte> presharedKey,
        TimeSpan? persistentKeepalive,
        uint index24,
        RateLimiter rateLimiter,
        DateTime now,
        ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _keys = new StaticKeys(privateKey, peerPublicKey, presharedKey);
        _handshake = new NoiseHandshake(_keys);
        _rateLimiter = rateLimiter;
        _indexBase = (index24 & 0xFF_FFFF) << 8;
        _persistentKeepalive = persistentKeepalive ?? TimeSpan.Zero;
        _lastSessionEstablished = now;
        _lastPacketSent = now;
        _lastPacketReceived = now;
        _lastDataSent = DateTime.MinValue;
        _lastDataReceived = DateTime.MinValue;
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

    /// <summary>True if queued packets can be sent now (a current session exists): call decapsulate with an empty datagram.</summary>
    public bool CanFlushQueue => _queue.Count > 0 && _current is not null;

    /// <summary>Encrypts an IP packet for the peer, or queues it and starts a handshake if no session exists.</summary>
    public TunnelResult Encapsulate(ReadOnlySpan<byte> packet, Span<byte> destination, DateTime now)
    {
        if (destination.Length < packet.Length + MessageFormat.DataOverhead) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        var session = _current;
        if (session is not null && session.CanSend(now))
        {
            var length = session.Encrypt(packet, destination);
            OnSent(now, packet.Length != 0);
            return TunnelResult.Network(length);
        }

        if (!packet.IsEmpty && !_queue.TryEnqueue(packet)) Stats.DroppedQueued++;
        return FormatHandshakeInitiation(destination, force: false, now);
    }

    /// <summary>
    /// Writes a handshake initiation unless one is in progress (or we answered a handshake less than
    /// REKEY_TIMEOUT ago) and <paramref name="force"/> is false.
    /// </summary>
    public TunnelResult FormatHandshakeInitiation(Span<byte> destination, bool force, DateTime now)
    {
        if (destination.Length < MessageFormat.InitiationLength) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        if (!force && _handshake.InitiationPending) return TunnelResult.Done;
        if (!force && _lastHandshakeSent != default && _next is not null && now - _lastHandshakeSent < WireGuardTimers.RekeyTimeout)
            return TunnelResult.Done; // we just responded; the peer's first transport message will give us a session
        return CreateInitiation(destination, now);
    }

    private TunnelResult CreateInitiation(Span<byte> destination, DateTime now)
    {
        if (!_handshake.InitiationPending) _handshakeStarted = now;
        _handshake.CreateInitiation(NextLocalIndex(), now, destination);
        _lastInitiationSent = now;
        _lastHandshakeSent = now;
        _retransmitJitter = TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)WireGuardTimers.MaxJitter.TotalMilliseconds + 1));
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
    /// sender when the rate limiter is over its limit. An empty datagram flushes one queued packet.
    /// </summary>
    public TunnelResult Decapsulate(ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> datagram, Span<byte> destination, DateTime now)
    {
        var result = DecapsulateCore(sourceAddress, datagram, destination, now);
        if (result.Kind == TunnelResultKind.Error && _logger.IsEnabled(LogLevel.Trace)) WireGuardLog.Dropped(_logger, result.Error);
        return result;
    }

    private TunnelResult DecapsulateCore(ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> datagram, Span<byte> destination, DateTime now)
    {
        if (datagram.IsEmpty) return FlushQueued(destination, now);

        var type = MessageFormat.Classify(datagram);
        switch (type)
        {
            case MessageFormat.TypeData:
                return DecapsulateData(datagram, destination, now);
            case MessageFormat.TypeInitiation:
            case MessageFormat.TypeResponse:
            {
                if (destination.Length < MessageFormat.InitiationLength) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
                switch (_rateLimiter.Verify(sourceAddress, datagram, destination, now))
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
                        return TunnelResult.Network(MessageFormat.CookieReplyLength);
                }
                return type == MessageFormat.TypeInitiation ? HandleInitiation(datagram, destination, now) : HandleResponse(datagram, destination, now);
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

    private TunnelResult HandleInitiation(ReadOnlySpan<byte> datagram, Span<byte> destination, DateTime now)
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

    private TunnelResult HandleResponse(ReadOnlySpan<byte> datagram, Span<byte> destination, DateTime now)
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
        _lastSessionEstablished = now;
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

    private TunnelResult DecapsulateData(ReadOnlySpan<byte> datagram, Span<byte> destination, DateTime now)
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
            _lastSessionEstablished = now;
        }

        if (length == 0)
        {
            Stats.KeepalivesReceived++;
            OnAuthenticatedReceive(now, data: false);
            return FlushQueued(destination, now);
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

    private TunnelResult FlushQueued(Span<byte> destination, DateTime now)
    {
        var session = _current;
        if (_queue.Count == 0 || session is null || !session.CanSend(now)) return TunnelResult.Done;
        var packet = _queue.Peek();
        if (destination.Length < packet.Length + MessageFormat.DataOverhead) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
        var length = session.Encrypt(packet, destination);
        _queue.Release();
        OnSent(now, data: true);
        return TunnelResult.Network(length);
    }

    private void OnSent(DateTime now, bool data)
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

    private void OnAuthenticatedReceive(DateTime now, bool data)
    {
        _lastPacketReceived = now;
        _newHandshakeDue = null;
        if (data)
        {
            _lastDataReceived = now;
            _passiveKeepaliveDue ??= now + WireGuardTimers.KeepaliveTimeout;
        }
    }

    /// <summary>
    /// Runs the protocol timers: initiation retransmission and give-up, session expiry, rekeying, passive and
    /// persistent keepalives. Returns at most one datagram to send, or
    /// <see cref="WireGuardError.ConnectionExpired"/>.
    /// </summary>
    public TunnelResult UpdateTimers(Span<byte> destination, DateTime now)
    {
        if (destination.Length < MessageFormat.InitiationLength) return TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);

        ExpireSessions(now);

        if (_handshake.InitiationPending)
        {
            if (now - _handshakeStarted >= WireGuardTimers.RekeyAttemptTime)
            {
                _handshake.ClearPending();
                Stats.DroppedQueued += _queue.Clear();
                WireGuardLog.ConnectionExpired(_logger);
                return TunnelResult.Fail(WireGuardError.ConnectionExpired);
            }
            if (now - _lastInitiationSent >= WireGuardTimers.RekeyTimeout + _retransmitJitter)
                return CreateInitiation(destination, now);
        }
        else if (now - _lastSessionEstablished >= WireGuardTimers.ExpiryTime)
        {
            ClearAll();
            _lastSessionEstablished = now;
            WireGuardLog.ConnectionExpired(_logger);
            return TunnelResult.Fail(WireGuardError.ConnectionExpired);
        }
        else
        {
            var needHandshake = false;
            if (_current is { IsInitiator: true } c)
            {
                var age = now - c.EstablishedAt;
                if (_lastDataSent > c.EstablishedAt && age >= WireGuardTimers.RekeyAfterTime) needHandshake = true;
                if (_lastDataReceived > c.EstablishedAt && age >= WireGuardTimers.RekeyOnReceiveTime) needHandshake = true;
                if (c.SendCounter >= WireGuardTimers.RekeyAfterMessages) needHandshake = true;
            }
            if (_newHandshakeDue is { } due && now >= due)
            {
                _newHandshakeDue = null;
                needHandshake = true;
            }
            if (_current is null && _queue.Count > 0 && now - _lastHandshakeSent >= WireGuardTimers.RekeyTimeout) needHandshake = true;
            if (needHandshake) return CreateInitiation(destination, now);
        }

        if (_current is { } session && session.CanSend(now))
        {
            var keepalive = _passiveKeepaliveDue is { } passive && now >= passive;
            if (_persistentKeepalive > TimeSpan.Zero && now - _lastPacketSent >= _persistentKeepalive) keepalive = true;
            if (keepalive)
            {
                var length = session.Encrypt(ReadOnlySpan<byte>.Empty, destination);
                Stats.KeepalivesSent++;
                OnSent(now, data: false);
                return TunnelResult.Network(length);
            }
        }
        return TunnelResult.Done;
    }

    private void ExpireSessions(DateTime now)
    {
        if (_previous is { } p && now - p.EstablishedAt >= WireGuardTimers.RejectAfterTime) { p.Dispose(); _previous = null; }
        if (_next is { } n && now - n.EstablishedAt >= WireGuardTimers.RejectAfterTime) { n.Dispose(); _next = null; }
        if (_current is { } c && now - c.EstablishedAt >= WireGuardTimers.RejectAfterTime) { c.Dispose(); _current = null; }
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
    }

    /// <summary>Releases the sessions and queued buffers and zeroes the static secrets.</summary>
    public void Dispose()
    {
        ClearAll();
        _keys.Clear();
    }
}
