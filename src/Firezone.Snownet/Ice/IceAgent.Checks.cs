using System.Net;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Ice;

/// <summary>The agent's check machinery: answering requests, consuming responses, sending checks, nomination, state.</summary>
internal sealed partial class IceAgent
{
    /// <summary>A request that decoded; returns true when it was for this agent (see <see cref="HandleInput"/>).</summary>
    private bool HandleRequest(ReadOnlySpan<byte> datagram, in ConnectivityCheck check, IPEndPoint from, IPEndPoint local, TimeSpan now)
    {
        // USERNAME = "<our ufrag>:<peer ufrag>" (compared as UTF-8 bytes); integrity keyed with our password.
        ReadOnlySpan<byte> username = datagram[check.UsernameRange];
        if (!username.StartsWith(_localUfragPrefix) || !_codec.VerifyIntegrity(datagram, in check, _localKey))
        {
            return false;
        }

        if (RemoteCredentials is null)
        {
            if (_queuedRequests.Count >= MaxQueuedRequests)
            {
                _queuedRequests.Dequeue();
            }

            _queuedRequests.Enqueue(new QueuedRequest(datagram.ToArray(), from, local, now));
            return true;
        }

        if (!username.SequenceEqual(_expectedUsername))
        {
            Dropped++;
            return true;
        }

        Candidate? localCandidate = FindLocalForDestination(local);
        if (localCandidate is null)
        {
            Dropped++;
            return true;
        }

        // Role conflict (RFC 8445 §7.3.1.1).
        if (check.Controlling == true && Role == IceRole.Controlling)
        {
            if (TieBreaker >= check.TieBreaker)
            {
                SendRoleConflict(in check, from, local);
                return true;
            }

            SwitchRole(IceRole.Controlled);
        }
        else if (check.Controlling == false && Role == IceRole.Controlled)
        {
            if (TieBreaker >= check.TieBreaker)
            {
                SwitchRole(IceRole.Controlling);
            }
            else
            {
                SendRoleConflict(in check, from, local);
                return true;
            }
        }

        var response = new ConnectivityCheck
        {
            Kind = CheckMessageKind.Success,
            TransactionId = check.TransactionId,
            MappedAddress = from,
        };
        _transmits.Enqueue(local, from, _codec, in response, _localKey);
        RequestsAnswered++;
        Discovered(from);

        Candidate? remote = FindRemote(from);
        if (remote is null)
        {
            uint priority = check.Priority != 0
                ? check.Priority
                : CandidatePriority.Compute(CandidatePriority.TypePreference(CandidateKind.PeerReflexive), 0);
            remote = Candidate.PeerReflexive(from, from, priority);
            _remoteCandidates.Add(remote);
            _events.Enqueue(new PeerReflexiveCandidateDiscovered(remote));
        }

        CandidatePair? pair = _checklist.Find(localCandidate.Base, from);
        if (pair is null && localCandidate.Address.AddressFamily == from.AddressFamily)
        {
            pair = _checklist.Add(new CandidatePair(localCandidate, remote, Role, Timings.MaxRetransmits + 4));
            HasFormedPairs = true;
        }

        if (pair is null)
        {
            UpdateState();
            return true;
        }

        // Triggered check (RFC 8445 §7.3.1.4): not for pairs that already work, unless nominated now.
        if (pair.State == CandidatePairState.Failed)
        {
            pair.Restart();
            _checklist.Trigger(pair);
        }
        else if (pair.State != CandidatePairState.Succeeded)
        {
            _checklist.Trigger(pair);
        }

        if (check.UseCandidate && Role == IceRole.Controlled)
        {
            pair.NominatedAt = now;
            if (!pair.Nominated || !ReferenceEquals(_selected, pair))
            {
                pair.Nominated = true;
                if (pair.State == CandidatePairState.Succeeded)
                {
                    _checklist.Trigger(pair);
                }

                Select(pair);
            }
        }

        UpdateState();
        return true;
    }

    /// <summary>A response that decoded; returns true when it answers one of our outstanding checks with valid integrity.</summary>
    private bool HandleResponse(ReadOnlySpan<byte> datagram, in ConnectivityCheck check, IPEndPoint from, IPEndPoint local, TimeSpan now)
    {
        if (!_outstanding.TryGetValue(check.TransactionId, out Outstanding sent) || _remoteKey is null
            || !_codec.VerifyIntegrity(datagram, in check, _remoteKey))
        {
            return false;
        }

        _outstanding.Remove(check.TransactionId);
        CandidatePair pair = sent.Pair;
        if (!_checklist.Contains(pair))
        {
            return true;
        }

        // Responses must come back symmetrically (RFC 8445 §7.2.5.2.1).
        if (!from.Equals(pair.Remote.Address) || !local.Equals(pair.Local.Base))
        {
            Dropped++;
            return true;
        }

        Discovered(from);
        if (check.Kind == CheckMessageKind.Error)
        {
            if (check.ErrorCode == 487)
            {
                if (sent.Role == Role)
                {
                    SwitchRole(Role == IceRole.Controlling ? IceRole.Controlled : IceRole.Controlling);
                }

                _checklist.Trigger(pair);
            }
            else
            {
                FailPair(pair);
            }

            UpdateNomination();
            UpdateState();
            return true;
        }

        if (check.MappedAddress is { } mapped && !IsKnownLocal(mapped))
        {
            // A new local peer-reflexive candidate (RFC 8445 §7.2.5.3.1). Checks keep going from the base, so the
            // valid pair is the checked pair itself.
            _localPeerReflexive.Add(Candidate.PeerReflexive(mapped, pair.Local.Base,
                CandidatePriority.Compute(CandidatePriority.TypePreference(CandidateKind.PeerReflexive),
                    CandidatePriority.InternalLocalPreference(CandidateKind.PeerReflexive, mapped.AddressFamily, _localPeerReflexive.Count))));
        }

        bool wasSucceeded = pair.State == CandidatePairState.Succeeded;
        pair.RecordAnswered(now);
        if (!wasSucceeded)
        {
            _checklist.UnfreezeFoundation(pair.Foundation);
        }

        UpdateNomination();
        UpdateState();
        return true;
    }

    /// <summary>
    /// Checks the pair from <paramref name="localBase"/> to <paramref name="remote"/> again at the next timeout handling
    /// when its checks are in progress (sent, unanswered). The Node calls this when the TURN channel a relayed pair
    /// needs got bound: the pair's earlier checks were dropped for lack of it, and waiting for the next retransmission
    /// (250 ms, as upstream) would delay relayed connections by that much. True when a check was queued.
    /// </summary>
    public bool Recheck(IPEndPoint localBase, IPEndPoint remote)
    {
        if (_checklist.Find(localBase, remote) is not { State: CandidatePairState.InProgress } pair)
        {
            return false;
        }

        _checklist.Trigger(pair);
        return true;
    }

    private void RunChecks(TimeSpan now)
    {
        if (RemoteCredentials is null)
        {
            return;
        }

        // Fail pairs whose checks all went unanswered.
        for (int i = 0; i < _checklist.Count; i++)
        {
            CandidatePair p = _checklist[i];
            if (p.FailAt(Timings) is { } failAt && failAt <= now)
            {
                FailPair(p);
            }
        }

        // Triggered checks first, then new checks, paced by Ta (0 = no pacing); retransmissions and consent checks
        // follow each pair's own schedule.
        while (now >= _nextPacedCheck)
        {
            CandidatePair? next = _checklist.DequeueTriggered() ?? _checklist.NextOrdinary();
            if (next is null)
            {
                break;
            }

            if (next.State == CandidatePairState.Failed)
            {
                next.Restart();
            }

            SendCheck(next, now);
            if (Timings.Ta > TimeSpan.Zero)
            {
                _nextPacedCheck = now + Timings.Ta;
            }
        }

        for (int i = 0; i < _checklist.Count; i++)
        {
            CandidatePair p = _checklist[i];
            if (p.Attempts > 0 && p.Unanswered < Timings.MaxRetransmits && p.NextCheckAt(Timings) is { } due && due <= now)
            {
                SendCheck(p, now);
            }
        }

        UpdateNomination();
        UpdateState();
    }

    private void SendCheck(CandidatePair pair, TimeSpan now)
    {
        TransactionId id = TransactionId.NewRandom(_random);
        uint localPref = (pair.Local.Priority >> 8) & 0xFFFF;
        var request = new ConnectivityCheck
        {
            Kind = CheckMessageKind.Request,
            TransactionId = id,
            Username = _requestUsername,
            Priority = CandidatePriority.Compute(CandidatePriority.TypePreference(CandidateKind.PeerReflexive), localPref),
            Controlling = Role == IceRole.Controlling,
            TieBreaker = TieBreaker,
            UseCandidate = Role == IceRole.Controlling && pair.Nominated,
        };
        _transmits.Enqueue(pair.Local.Base, pair.Remote.Address, _codec, in request, _remoteKey!);
        _outstanding[id] = new Outstanding(pair, Role);
        if (pair.RecordSent(id, now) is { } evicted)
        {
            _outstanding.Remove(evicted);
        }
    }

    private void SendRoleConflict(in ConnectivityCheck request, IPEndPoint from, IPEndPoint local)
    {
        var error = new ConnectivityCheck
        {
            Kind = CheckMessageKind.Error,
            TransactionId = request.TransactionId,
            ErrorCode = 487,
        };
        _transmits.Enqueue(local, from, _codec, in error, _localKey);
        LogRoleConflictAnswered(_log, from);
    }

    private void SwitchRole(IceRole role)
    {
        if (Role == role)
        {
            return;
        }

        Role = role;
        for (int i = 0; i < _checklist.Count; i++)
        {
            CandidatePair p = _checklist[i];
            p.UpdatePriority(role);
            p.Nominated = false;
        }

        _checklist.Resort();
        _selected = null;
        _events.Enqueue(new RoleChanged(role));
        LogRoleSwitched(_log, role);
    }

    private void UpdateNomination()
    {
        if (_selected is not null && (_selected.State == CandidatePairState.Failed || !_checklist.Contains(_selected)))
        {
            _selected.Nominated = false;
            _selected = null;
        }

        if (Role == IceRole.Controlling)
        {
            CandidatePair? best = _checklist.BestSucceeded();
            if (best is not null && !ReferenceEquals(best, _selected))
            {
                if (_selected is not null)
                {
                    _selected.Nominated = false;
                }

                best.Nominated = true;
                _checklist.Trigger(best); // USE-CANDIDATE goes out right away
                Select(best);
            }
        }
        else if (_selected is null)
        {
            CandidatePair? latest = null;
            for (int i = 0; i < _checklist.Count; i++)
            {
                CandidatePair p = _checklist[i];
                if (p.Nominated && p.State != CandidatePairState.Failed && (latest is null || p.NominatedAt > latest.NominatedAt))
                {
                    latest = p;
                }
            }

            if (latest is not null)
            {
                Select(latest);
            }
        }
    }

    private void Select(CandidatePair pair)
    {
        if (ReferenceEquals(_selected, pair))
        {
            return;
        }

        _selected = pair;
        _events.Enqueue(new PairNominated(pair.Local.Base, pair.Remote.Address, pair.Local.Kind, pair.Remote.Kind));
        LogNominated(_log, Role, pair.Local.Base, pair.Remote.Address);
    }

    private void UpdateState()
    {
        IceConnectionState state;
        if (_selected is not null)
        {
            state = IceConnectionState.Connected;
        }
        else if (_remoteCandidates.Count > 0 && HasFormedPairs && !_checklist.AnyAlive())
        {
            state = IceConnectionState.Disconnected;
        }
        else
        {
            state = IceConnectionState.Checking;
        }

        if (state != State)
        {
            State = state;
            _events.Enqueue(new ConnectionStateChanged(state));
            LogStateChanged(_log, state);
        }
    }

    private void FailPair(CandidatePair pair)
    {
        pair.State = CandidatePairState.Failed;
        foreach (TransactionId id in pair.RecentTransactions)
        {
            _outstanding.Remove(id);
        }

        if (ReferenceEquals(_selected, pair))
        {
            pair.Nominated = false;
            _selected = null;
        }
    }

    private void RemovePairs(Predicate<CandidatePair> predicate)
    {
        foreach (CandidatePair p in _checklist.RemoveWhere(predicate))
        {
            FailPair(p);
        }

        UpdateNomination();
        UpdateState();
    }

    private void ClearRemote()
    {
        _remoteCandidates.Clear();
        _checklist.Clear();
        _outstanding.Clear();
        _localPeerReflexive.Clear();
        _discoveredSources.Clear();
        _selected = null;
        HasFormedPairs = false;
        UpdateState();
    }

    private void TryFormPair(Candidate local, Candidate remote)
    {
        if (local.Address.AddressFamily != remote.Address.AddressFamily)
        {
            return;
        }

        _checklist.Add(new CandidatePair(local, remote, Role, Timings.MaxRetransmits + 4));
        HasFormedPairs = true;
    }

    private Candidate? FindLocalForDestination(IPEndPoint local)
    {
        foreach (Candidate c in _localPaired)
        {
            if (c.Address.Equals(local))
            {
                return c;
            }
        }

        return null;
    }

    private Candidate? FindRemote(IPEndPoint address)
    {
        foreach (Candidate c in _remoteCandidates)
        {
            if (c.Address.Equals(address))
            {
                return c;
            }
        }

        return null;
    }

    private bool IsKnownLocal(IPEndPoint address)
    {
        foreach (Candidate c in _localCandidates)
        {
            if (c.Address.Equals(address))
            {
                return true;
            }
        }

        foreach (Candidate c in _localPeerReflexive)
        {
            if (c.Address.Equals(address))
            {
                return true;
            }
        }

        return false;
    }

    private void Discovered(IPEndPoint source)
    {
        if (_discoveredSources.Add(source))
        {
            _events.Enqueue(new DiscoveredRecv(source));
        }
    }
}
