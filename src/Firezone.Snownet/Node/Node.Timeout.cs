using System.Net;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;
using Microsoft.Extensions.Logging;

namespace Firezone.Snownet;

/// <summary><c>handle_timeout</c> in the order of snownet spec §5.3, and <see cref="PollTimeout"/>.</summary>
public abstract partial class Node
{
    /// <summary>
    /// Advances every timer: TURN retransmissions and refreshes, ICE checks and nominations, idle detection, WireGuard
    /// timers, failure detection and clean-up (spec §5.3). Call it when <see cref="PollTimeout"/> is due, and after any
    /// <see cref="Decapsulate"/> or <see cref="Encapsulate"/> that did not produce a packet.
    /// </summary>
    public void HandleTimeout(TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = Later(now);

        // 1–2. Allocations, then what they found out.
        for (int i = 0; i < _allocations.Count; i++)
        {
            _allocations.ValueAt(i).HandleTimeout(now);
        }

        DrainAllocationEvents();

        // 3. Established connections, in id order.
        for (int i = 0; i < _connections.Count; i++)
        {
            AdvanceConnection(_connections.ValueAt(i), now);
        }

        // 4. Pending offers.
        for (int i = 0; i < _initial.Count; i++)
        {
            var initial = _initial.ValueAt(i);
            initial.Agent.HandleTimeout(now);
            while (initial.Agent.PollEvent() is not null)
            {
            }

            while (initial.Agent.PollTransmit() is not null)
            {
            }

            if (now >= initial.CreatedAt + HandshakeTimeout)
            {
                initial.Failed = true;
            }
        }

        // 5. The handshake rate limiter is reset every second while any connection is active.
        if (AllIdle())
        {
            _nextRateLimiterReset = null;
        }
        else if (_nextRateLimiterReset is not { } due || now >= due)
        {
            _rateLimiter.ResetCount();
            _nextRateLimiterReset = now + RateLimiterResetInterval;
        }

        // 6. Allocations that can be freed.
        for (int i = _allocations.Count - 1; i >= 0; i--)
        {
            if (_allocations.ValueAt(i).CanBeFreed() is { } reason)
            {
                var id = _allocations.KeyAt(i);
                _allocations.Remove(id, out var freed);
                InvalidateRelayCandidates(freed);
                LogRelayFreed(_logger, id, reason.ToString());
            }
        }

        // 7. Relays that vanished.
        for (int i = 0; i < _initial.Count; i++)
        {
            var initial = _initial.ValueAt(i);
            if (!_allocations.ContainsKey(initial.Relay) && _allocations.Count > 0)
            {
                initial.Relay = SampleRelay();
            }
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.State is ConnectionState.Connected or ConnectionState.Idle && c.Peer?.Relay is { } relay && !_allocations.ContainsKey(relay))
            {
                c.Fail("relay disconnected");
            }
        }

        // 8. Garbage collection of failed connections.
        CollectFailed();
    }

    private void AdvanceConnection(Connection c, TimeSpan now)
    {
        if (c.State == ConnectionState.Failed)
        {
            return;
        }

        c.Agent.HandleTimeout(now);
        // Not before the first WireGuard session: upstream idles a connection whose handshake is still being retried,
        // which slows the retries to the 30 s idle tick (fixed on purpose).
        if (c.State == ConnectionState.Connected && c.Tunnel.HasCurrentSession && now >= Max(c.LastIncoming, c.LastOutgoing) + MaxIdle)
        {
            c.State = ConnectionState.Idle;
            c.Agent.SetTimings(IceTimings.Idle);
            c.WireGuardInterval = IdleWireGuardTick;
            LogIdle(_logger, c.Id);
        }

        if (now >= c.SignallingCompletedAt + CandidateTimeout && (!c.HasRemoteCandidate || !c.Agent.HasFormedPairs))
        {
            // No remote candidate (upstream), or none that pairs with a local one (no local candidate yet, or only
            // other IP families): the agent reports Disconnected only once pairs existed and failed.
            c.Fail(c.HasRemoteCandidate ? "no candidate pair" : "no candidates received");
            return;
        }

        if (now >= c.NextWireGuardTick)
        {
            c.NextWireGuardTick = now + c.WireGuardInterval;
            if (c.Peer is null)
            {
                return; // upstream skips the rest of this connection's step; the agent's due timeout brings us back at once
            }

            c.Tunnel.HandleTimeout(now);
            FlushTunnel(c, now);
            if (c.Tunnel.IsExpired)
            {
                c.Fail("WireGuard session expired");
                return;
            }
        }

        while (c.Agent.PollEvent() is { } e)
        {
            switch (e)
            {
                case DiscoveredRecv discovered:
                    if (c.PossibleSockets.Add(discovered.Source))
                    {
                        _routesDirty = true;
                    }

                    break;
                case PairNominated nominated:
                    OnNominated(c, nominated.Source, nominated.Destination, now);
                    break;
                case ConnectionStateChanged { State: IceConnectionState.Disconnected }:
                    c.Fail("ICE timeout");
                    return;
            }
        }

        while (c.Agent.PollTransmit() is { } t)
        {
            if (TryGetRelayOf(t.Source!, out _, out var allocation))
            {
                if (allocation.EncodeToPeer(t.Destination, t.Payload.Span, now) is { } wrapped)
                {
                    c.StunBytesRelayed += wrapped.Payload.Length;
                    _transmits.Enqueue(null, wrapped.Destination, wrapped.Payload.Span);
                }
            }
            else
            {
                c.StunBytesDirect += t.Payload.Length;
                _transmits.Enqueue(t.Source, t.Destination, t.Payload.Span);
            }
        }
    }

    /// <summary>The agent nominated a path (spec §4.3, §4.7).</summary>
    private void OnNominated(Connection c, IPEndPoint source, IPEndPoint destination, TimeSpan now)
    {
        var socket = TryGetRelayOf(source, out var relay, out _) ? PeerSocket.Relayed(relay, destination) : PeerSocket.Direct(source, destination);
        switch (c.State)
        {
            case ConnectionState.Connecting:
                c.Peer = socket;
                c.State = ConnectionState.Connected;
                c.LastIncoming = now;
                c.LastOutgoing = now;
                _routesDirty = true;
                LogNominated(_logger, c.Id, socket.ToString());
                while (c.Buffered.TryTake(out var buffered))
                {
                    SendTo(socket, buffered, now);
                }

                break;
            case ConnectionState.Connected or ConnectionState.Idle:
                if (socket == c.Peer)
                {
                    return; // same path: no forced handshake
                }

                // Upstream keeps the old path when the connection is idle; we take the new one in both states (fixed on purpose).
                c.Peer = socket;
                _routesDirty = true;
                LogNominated(_logger, c.Id, socket.ToString());
                break;
            default:
                return;
        }

        if (_role == IceRole.Controlling)
        {
            var initiation = c.Tunnel.FormatHandshakeInitiation(_scratch, force: false, now);
            if (initiation.Kind == TunnelResultKind.WriteToNetwork)
            {
                SendTo(socket, _scratch.AsSpan(0, initiation.Length), now);
            }
        }
    }

    private bool AllIdle()
    {
        for (int i = 0; i < _connections.Count; i++)
        {
            if (!_connections.ValueAt(i).IsIdle)
            {
                return false;
            }
        }

        return true;
    }

    private void CollectFailed()
    {
        for (int i = _initial.Count - 1; i >= 0; i--)
        {
            if (_initial.ValueAt(i).Failed)
            {
                var id = _initial.KeyAt(i);
                _initial.Remove(id, out _);
                _events.Enqueue(new ConnectionFailed(id));
                LogFailed(_logger, id, "no answer");
            }
        }

        for (int i = _connections.Count - 1; i >= 0; i--)
        {
            var c = _connections.ValueAt(i);
            if (c.State == ConnectionState.Failed)
            {
                _connections.Remove(c.Id, out _);
                c.Dispose();
                _routesDirty = true;
                _events.Enqueue(new ConnectionFailed(c.Id));
                LogFailed(_logger, c.Id, c.FailureReason ?? "failed");
            }
        }
    }

    /// <summary>
    /// The next instant <see cref="HandleTimeout"/> must run (may be in the past: call it now), or null when nothing is
    /// scheduled.
    /// </summary>
    public TimeSpan? PollTimeout()
    {
        TimeSpan? earliest = null;
        for (int i = 0; i < _allocations.Count; i++)
        {
            earliest = Deadline.Min(earliest, _allocations.ValueAt(i).PollTimeout());
        }

        for (int i = 0; i < _initial.Count; i++)
        {
            var initial = _initial.ValueAt(i);
            earliest = Deadline.Min(earliest, initial.Agent.PollTimeout());
            earliest = Deadline.Min(earliest, initial.CreatedAt + HandshakeTimeout);
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.State == ConnectionState.Failed)
            {
                return _lastNow; // to be collected
            }

            earliest = Deadline.Min(earliest, c.Agent.PollTimeout());
            earliest = Deadline.Min(earliest, c.NextWireGuardTick);
            if (!c.HasRemoteCandidate || !c.Agent.HasFormedPairs)
            {
                earliest = Deadline.Min(earliest, c.SignallingCompletedAt + CandidateTimeout);
            }

            if (c.State == ConnectionState.Connected && c.Tunnel.HasCurrentSession)
            {
                earliest = Deadline.Min(earliest, Max(c.LastIncoming, c.LastOutgoing) + MaxIdle);
            }
        }

        return Deadline.Min(earliest, _nextRateLimiterReset);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a >= b ? a : b;

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay {Relay} freed: {Reason}")]
    private static partial void LogRelayFreed(ILogger logger, RelayId relay, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {Connection} is idle")]
    private static partial void LogIdle(ILogger logger, ConnectionId connection);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {Connection} nominated {Path}")]
    private static partial void LogNominated(ILogger logger, ConnectionId connection, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {Connection} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, ConnectionId connection, string reason);
}
