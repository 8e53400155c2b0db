using Firezone.Snownet.SansIo;

namespace Firezone.Snownet.WireGuard;

/// <summary>The tunnel's timers (whitepaper §6): <see cref="HandleTimeout"/>, <see cref="PollTimeout"/>, expiry.</summary>
internal sealed partial class Tunnel
{
    private TimeSpan _lastNow;
    private TimeSpan _handshakeStarted;          // valid while an initiation is pending
    private TimeSpan _lastInitiationSent;        // valid while an initiation is pending
    private TimeSpan? _lastHandshakeSent;
    private TimeSpan _retransmitJitter;
    private TimeSpan _lastSessionEstablished;
    private TimeSpan _lastPacketSent;
    private TimeSpan _lastPacketReceived;
    private TimeSpan? _lastDataSent;
    private TimeSpan? _lastDataReceived;
    private TimeSpan? _newHandshakeDue;
    private TimeSpan? _passiveKeepaliveDue;

    /// <summary>
    /// True once <see cref="HandleTimeout"/> gave the connection up: handshake attempts failed for REKEY_ATTEMPT_TIME
    /// (90 s; queued packets are dropped) or no session was established for 3 × REJECT_AFTER_TIME (540 s; every
    /// keypair is dropped). The owner removes the connection. A later completed handshake clears it.
    /// </summary>
    public bool IsExpired { get; private set; }

    /// <summary>
    /// Runs every protocol timer at <paramref name="now"/>: session expiry, initiation retransmission (REKEY_TIMEOUT
    /// plus jitter) and give-up (<see cref="IsExpired"/>), connection expiry, rekeying (REKEY_AFTER_TIME on send,
    /// REKEY_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT on receive, REKEY_AFTER_MESSAGES), a new handshake when
    /// sent data got no answer, queued packets without a session, passive and persistent keepalives. What must be sent
    /// is built now and comes out of <see cref="PollTransmit"/>.
    /// </summary>
    public void HandleTimeout(TimeSpan now)
    {
        if (now > _lastNow) _lastNow = now;
        ExpireSessions(now);

        if (_handshake.InitiationPending)
        {
            if (now - _handshakeStarted >= WireGuardTimers.RekeyAttemptTime)
            {
                _handshake.ClearPending();
                _timerInitiation.Clear();
                Stats.DroppedQueued += _queue.Clear();
                IsExpired = true;
                WireGuardLog.ConnectionExpired(_logger);
            }
            else if (now - _lastInitiationSent >= WireGuardTimers.RekeyTimeout + _retransmitJitter)
            {
                InitiateFromTimer(now);
            }
        }
        else if (now - _lastSessionEstablished >= WireGuardTimers.ExpiryTime)
        {
            ClearAll();
            _timerInitiation.Clear();
            _lastSessionEstablished = now;
            IsExpired = true;
            WireGuardLog.ConnectionExpired(_logger);
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
            if (_current is null && _queue.Count > 0 && !(_lastHandshakeSent is { } sent && now - sent < WireGuardTimers.RekeyTimeout)) needHandshake = true;
            if (needHandshake) InitiateFromTimer(now);
        }

        if (_current is { } session && session.CanSend(now))
        {
            var keepalive = _passiveKeepaliveDue is { } passive && now >= passive;
            if (_persistentKeepalive > TimeSpan.Zero && now - _lastPacketSent >= _persistentKeepalive) keepalive = true;
            if (keepalive)
            {
                _timerKeepalive.Set(session.Encrypt(ReadOnlySpan<byte>.Empty, _timerKeepalive.Buffer));
                Stats.KeepalivesSent++;
                OnSent(now, data: false);
            }
        }
    }

    private void InitiateFromTimer(TimeSpan now)
    {
        CreateInitiation(_timerInitiation.Buffer, now);
        _timerInitiation.Set(MessageFormat.InitiationLength);
    }

    /// <summary>
    /// The next instant a timer needs <see cref="HandleTimeout"/> (may be in the past: call it now), or null when no
    /// timer is running. Calling <see cref="HandleTimeout"/> at the returned instant always moves it later.
    /// </summary>
    public TimeSpan? PollTimeout()
    {
        TimeSpan? next = null;
        if (_previous is { } p) next = Deadline.Min(next, p.EstablishedAt + WireGuardTimers.RejectAfterTime);
        if (_next is { } n) next = Deadline.Min(next, n.EstablishedAt + WireGuardTimers.RejectAfterTime);
        if (_current is { } c) next = Deadline.Min(next, c.EstablishedAt + WireGuardTimers.RejectAfterTime);

        if (_handshake.InitiationPending)
        {
            next = Deadline.Min(next, _handshakeStarted + WireGuardTimers.RekeyAttemptTime);
            next = Deadline.Min(next, _lastInitiationSent + WireGuardTimers.RekeyTimeout + _retransmitJitter);
        }
        else
        {
            next = Deadline.Min(next, _lastSessionEstablished + WireGuardTimers.ExpiryTime);
            if (_current is { IsInitiator: true } ci)
            {
                if (_lastDataSent > ci.EstablishedAt) next = Deadline.Min(next, ci.EstablishedAt + WireGuardTimers.RekeyAfterTime);
                if (_lastDataReceived > ci.EstablishedAt) next = Deadline.Min(next, ci.EstablishedAt + WireGuardTimers.RekeyOnReceiveTime);
                if (ci.SendCounter >= WireGuardTimers.RekeyAfterMessages) next = Deadline.Min(next, _lastNow);
            }
            next = Deadline.Min(next, _newHandshakeDue);
            if (_current is null && _queue.Count > 0)
                next = Deadline.Min(next, _lastHandshakeSent is { } sent ? sent + WireGuardTimers.RekeyTimeout : _lastNow);
        }

        if (_current is { } s && s.SendCounter < WireGuardTimers.RejectAfterMessages)
        {
            next = Deadline.Min(next, _passiveKeepaliveDue);
            if (_persistentKeepalive > TimeSpan.Zero) next = Deadline.Min(next, _lastPacketSent + _persistentKeepalive);
        }
        return next;
    }

    private void ExpireSessions(TimeSpan now)
    {
        if (_previous is { } p && now - p.EstablishedAt >= WireGuardTimers.RejectAfterTime) { p.Dispose(); _previous = null; }
        if (_next is { } n && now - n.EstablishedAt >= WireGuardTimers.RejectAfterTime) { n.Dispose(); _next = null; }
        if (_current is { } c && now - c.EstablishedAt >= WireGuardTimers.RejectAfterTime)
        {
            c.Dispose();
            _current = null;
            _timerKeepalive.Clear();
        }
    }
}
