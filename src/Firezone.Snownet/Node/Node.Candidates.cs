using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;

namespace Firezone.Snownet;

/// <summary>Candidates (snownet spec §4.4–§4.5) and the relay set (§6.11).</summary>
public abstract partial class Node
{
    /// <summary>
    /// A remote candidate (SDP <c>candidate:</c> string) from the peer of <paramref name="connection"/>. Used only while
    /// the connection is pending or still connecting; a server-reflexive, relayed or peer-reflexive candidate also gets
    /// a TURN channel on the connection's own relay. Unparseable candidates are ignored.
    /// </summary>
    public void AddRemoteCandidate(ConnectionId connection, string candidate, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = Later(now);
        if (!Candidate.TryParse(candidate, out var parsed))
        {
            LogCandidateUnparseable(_logger, connection, candidate);
            return;
        }

        IceAgent agent;
        RelayId relay;
        Connection? established = null;
        if (_initial.TryGetValue(connection, out var initial))
        {
            agent = initial.Agent;
            relay = initial.Relay;
        }
        else if (_connections.TryGetValue(connection, out established) && established.State == ConnectionState.Connecting)
        {
            agent = established.Agent;
            relay = established.Relay;
        }
        else
        {
            return;
        }

        if (!agent.AddRemoteCandidate(parsed))
        {
            return;
        }

        if (parsed.Kind != CandidateKind.Host && _allocations.TryGetValue(relay, out var allocation))
        {
            allocation.BindChannel(parsed.Address, now);
        }
    }

    /// <summary>The peer withdrew a candidate: it is invalidated in the connection's agent (any state), at once.</summary>
    public void RemoveRemoteCandidate(ConnectionId connection, string candidate, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = Later(now);
        if (!Candidate.TryParse(candidate, out var parsed))
        {
            return;
        }

        IceAgent? agent = _initial.TryGetValue(connection, out var initial) ? initial.Agent
            : _connections.TryGetValue(connection, out var established) ? established.Agent : null;
        if (agent is not null && agent.InvalidateRemoteCandidate(parsed))
        {
            agent.HandleTimeout(now);
        }
    }

    /// <summary>
    /// Changes the relay set (spec §6.11): relays in <paramref name="toRemove"/> are forgotten (nothing is sent to them;
    /// connections relayed through them fail at the next <see cref="HandleTimeout"/>); each relay in
    /// <paramref name="toAdd"/> is added, kept (same address and credentials) or replaced (a rebooted relay); every other
    /// relay gets a refresh as a liveness probe.
    /// </summary>
    public void UpdateRelays(IEnumerable<RelayId> toRemove, IEnumerable<TurnRelay> toAdd, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(toRemove);
        ArgumentNullException.ThrowIfNull(toAdd);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = Later(now);
        foreach (var id in toRemove)
        {
            if (_allocations.Remove(id, out var removed))
            {
                InvalidateRelayCandidates(removed);
                LogRelayRemoved(_logger, id);
            }
        }

        var mentioned = new HashSet<RelayId>();
        foreach (var relay in toAdd)
        {
            ArgumentNullException.ThrowIfNull(relay);
            mentioned.Add(relay.Id);
            var socket = relay switch
            {
                { IPv4: { } v4, IPv6: { } v6 } => RelaySocket.Dual(v4, v6),
                { IPv4: { } v4 } => RelaySocket.FromV4(v4),
                _ => RelaySocket.FromV6(relay.IPv6!),
            };
            _allocations.TryGetValue(relay.Id, out var existing);
            switch (RelayUpdate.Decide(existing, socket, relay.Username, relay.Password, relay.Realm))
            {
                case RelayUpdateAction.Skip:
                    LogRelaySkipped(_logger, relay.Id);
                    break;
                case RelayUpdateAction.Keep:
                    break;
                case RelayUpdateAction.Replace:
                    InvalidateRelayCandidates(existing!);
                    _allocations.Set(relay.Id, NewAllocation(socket, relay, now));
                    LogRelayReplaced(_logger, relay.Id);
                    break;
                default:
                    _allocations.Set(relay.Id, NewAllocation(socket, relay, now));
                    LogRelayAdded(_logger, relay.Id, socket.ToString());
                    break;
            }
        }

        for (int i = 0; i < _allocations.Count; i++)
        {
            if (!mentioned.Contains(_allocations.KeyAt(i)))
            {
                _allocations.ValueAt(i).Refresh(now);
            }
        }
    }

    private Allocation NewAllocation(RelaySocket socket, TurnRelay relay, TimeSpan now) =>
        new(socket, relay.Username, relay.Password, relay.Realm, _software, now, _random.Fill, _loggerFactory.CreateLogger<Allocation>());

    /// <summary>
    /// Learns a host candidate from the local address of a datagram (spec §4.4.1) and adds it to every agent. False when
    /// the address cannot be a candidate. Allocation-free when it is the host candidate already known for its family.
    /// </summary>
    private bool ObserveLocal(IPEndPoint local)
    {
        if (_shared.Host(local.AddressFamily) is { } known && known.Address.Equals(local))
        {
            return true;
        }

        if (!Candidate.IsUsableAddress(local.Address))
        {
            return false;
        }

        var candidate = Candidate.Host(local);
        if (!_shared.TryInsert(candidate, out _))
        {
            return true;
        }

        for (int i = 0; i < _initial.Count; i++)
        {
            if (_initial.ValueAt(i).Agent.AddLocalCandidate(candidate))
            {
                _events.Enqueue(new NewIceCandidate(_initial.KeyAt(i), candidate.ToSdpString()));
            }
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.Agent.AddLocalCandidate(candidate))
            {
                _events.Enqueue(new NewIceCandidate(c.Id, candidate.ToSdpString()));
            }
        }

        return true;
    }

    /// <summary>Applies what the allocations reported (spec §5.3 step 2).</summary>
    private void DrainAllocationEvents()
    {
        for (int i = 0; i < _allocations.Count; i++)
        {
            var relay = _allocations.KeyAt(i);
            var allocation = _allocations.ValueAt(i);
            while (allocation.PollEvent() is { } e)
            {
                var address = e.Candidate.Address;
                switch (e.Kind, e.Candidate.Kind)
                {
                    case (AllocationEventKind.New, AllocationCandidateKind.ServerReflexive):
                        _shared.TryInsert(Candidate.ServerReflexive(address, e.Candidate.Base), out _);
                        break;
                    case (AllocationEventKind.Invalid, AllocationCandidateKind.ServerReflexive):
                        // Without consulting the agents (srflx candidates are never in them).
                        string srflx = Candidate.ServerReflexive(address, e.Candidate.Base).ToSdpString();
                        ForEachConnectionId(id => _events.Enqueue(new InvalidateIceCandidate(id, srflx)));
                        break;
                    case (AllocationEventKind.New, AllocationCandidateKind.Relayed):
                        AddRelayCandidate(relay, Candidate.Relayed(address));
                        break;
                    default:
                        InvalidateRelayCandidate(Candidate.Relayed(address));
                        break;
                }
            }

            while (allocation.PollChannelBound() is { } peer)
            {
                RecheckThroughChannel(allocation, peer);
            }
        }
    }

    /// <summary>
    /// A channel to <paramref name="peer"/> was just bound: the checks from our relayed address to it were dropped until
    /// now (payload is never buffered waiting for a channel, spec §6.8), so they go again at once. Upstream waits for
    /// the next ICE retransmission, 250 ms after the first check, which is most of a relayed setup on a fast network
    /// (deliberate difference; wire-compatible).
    /// </summary>
    private void RecheckThroughChannel(Allocation allocation, IPEndPoint peer)
    {
        var relayed = peer.AddressFamily == AddressFamily.InterNetwork ? allocation.RelayedV4 : allocation.RelayedV6;
        if (relayed is null)
        {
            return;
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.State != ConnectionState.Failed)
            {
                c.Agent.Recheck(relayed.Value.Address, peer);
            }
        }
    }

    /// <summary>A new relay candidate goes to the agents of pending and connecting connections that sampled this relay.</summary>
    private void AddRelayCandidate(RelayId relay, Candidate candidate)
    {
        for (int i = 0; i < _initial.Count; i++)
        {
            var initial = _initial.ValueAt(i);
            if (initial.Relay == relay && initial.Agent.AddLocalCandidate(candidate))
            {
                _events.Enqueue(new NewIceCandidate(_initial.KeyAt(i), candidate.ToSdpString()));
            }
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.Relay == relay && c.State == ConnectionState.Connecting && c.Agent.AddLocalCandidate(candidate))
            {
                _events.Enqueue(new NewIceCandidate(c.Id, candidate.ToSdpString()));
            }
        }
    }

    private void InvalidateRelayCandidates(Allocation allocation)
    {
        foreach (var relayed in allocation.RelayCandidates())
        {
            InvalidateRelayCandidate(Candidate.Relayed(relayed.Address));
        }
    }

    /// <summary>Removes a relay candidate from every agent; <see cref="InvalidateIceCandidate"/> where it was present.</summary>
    private void InvalidateRelayCandidate(Candidate candidate)
    {
        string? sdp = null;
        for (int i = 0; i < _initial.Count; i++)
        {
            if (_initial.ValueAt(i).Agent.InvalidateLocalCandidate(candidate))
            {
                _events.Enqueue(new InvalidateIceCandidate(_initial.KeyAt(i), sdp ??= candidate.ToSdpString()));
            }
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.Agent.InvalidateLocalCandidate(candidate))
            {
                _events.Enqueue(new InvalidateIceCandidate(c.Id, sdp ??= candidate.ToSdpString()));
            }
        }
    }

    private void ForEachConnectionId(Action<ConnectionId> action)
    {
        for (int i = 0; i < _initial.Count; i++)
        {
            action(_initial.KeyAt(i));
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            action(_connections.KeyAt(i));
        }
    }

    /// <summary>The allocation whose server address is <paramref name="from"/> (first in relay-id order).</summary>
    private Allocation? RelayAt(IPEndPoint from)
    {
        for (int i = 0; i < _allocations.Count; i++)
        {
            var allocation = _allocations.ValueAt(i);
            if (allocation.Matches(from))
            {
                return allocation;
            }
        }

        return null;
    }

    /// <summary>The relay that allocated <paramref name="address"/> for us, if any.</summary>
    private bool TryGetRelayOf(IPEndPoint address, out RelayId relay, out Allocation allocation)
    {
        for (int i = 0; i < _allocations.Count; i++)
        {
            allocation = _allocations.ValueAt(i);
            if (address.Equals(allocation.RelayedV4?.Address) || address.Equals(allocation.RelayedV6?.Address))
            {
                relay = _allocations.KeyAt(i);
                return true;
            }
        }

        relay = default;
        allocation = null!;
        return false;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignoring an unparseable remote candidate for {Connection}: {Candidate}")]
    private static partial void LogCandidateUnparseable(ILogger logger, ConnectionId connection, string candidate);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay {Relay} added ({Socket})")]
    private static partial void LogRelayAdded(ILogger logger, RelayId relay, string socket);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay {Relay} replaced (new address or credentials)")]
    private static partial void LogRelayReplaced(ILogger logger, RelayId relay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay {Relay} removed")]
    private static partial void LogRelayRemoved(ILogger logger, RelayId relay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay {Relay} skipped: its username or realm is too long")]
    private static partial void LogRelaySkipped(ILogger logger, RelayId relay);
}
