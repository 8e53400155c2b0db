using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.Ice;

/// <summary>
/// A sans-IO RFC 8445 ICE agent for one Firezone connection (component 1, UDP, trickle ICE, full ICE), behaving as
/// snownet spec §4.4–§4.6 describes: checks with short-term credentials, per-pair retransmission/consent schedule,
/// regular nomination by the controlling side (re-nominating when a better pair succeeds), peer-reflexive candidates,
/// triggered checks, role conflicts (RFC 8445 §7.3.1.1, 487), consent freshness with Firezone's timing profiles and
/// ICE restarts. Time always comes from the caller.
/// </summary>
/// <remarks>
/// Feed it with <see cref="HandleInput"/> and <see cref="HandleTimeout"/>; drain <see cref="PollTransmit()"/>,
/// <see cref="PollEvent"/> and re-read <see cref="PollTimeout"/> after every call.
/// </remarks>
internal sealed partial class IceAgent
{
    /// <summary>Requests kept while the remote credentials are unknown (snownet spec §4.6).</summary>
    public const int MaxQueuedRequests = 100;

    private readonly IConnectivityCheckCodec _codec;
    private readonly Random? _rng;
    private readonly ILogger _log;
    private readonly Checklist _checklist = new();
    private readonly List<Candidate> _localCandidates = new();      // as signalled (events)
    private readonly List<Candidate> _localPaired = new();          // host/relay with internal priority
    private readonly List<Candidate> _localPeerReflexive = new();
    private readonly List<Candidate> _remoteCandidates = new();
    private readonly Dictionary<TransactionId, Outstanding> _outstanding = new();
    private readonly HashSet<IPEndPoint> _discoveredSources = new();
    private readonly Queue<IceTransmit> _transmits = new();
    private readonly Queue<IceEvent> _events = new();
    private readonly Queue<QueuedRequest> _queuedRequests = new();
    private byte[] _localKey;
    private byte[] _remoteKey = [];
    private CandidatePair? _selected;
    private DateTime _lastNow = DateTime.MinValue;
    private DateTime _nextPacedCheck = DateTime.MinValue;

    /// <summary>Creates an agent.</summary>
    /// <param name="role">Initial role (Firezone client: controlling; gateway: controlled).</param>
    /// <param name="localCredentials">Our ufrag/password.</param>
    /// <param name="codec">STUN Binding codec.</param>
    /// <param name="tieBreaker">Role-conflict tie-breaker; random when null.</param>
    /// <param name="rng">Randomness for transaction ids (simulations); cryptographic when null.</param>
    /// <param name="logger">Optional logger.</param>
    public IceAgent(IceRole role, IceCredentials localCredentials, IConnectivityCheckCodec? codec = null, ulong? tieBreaker = null,
        Random? rng = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(localCredentials);
        Role = role;
        LocalCredentials = localCredentials;
        _localKey = StunCredentials.ShortTermKey(localCredentials.Password);
        _codec = codec ?? StunConnectivityCheckCodec.Instance;
        _rng = rng;
        _log = logger ?? NullLogger.Instance;
        TieBreaker = tieBreaker ?? RandomTieBreaker(rng);
    }

    /// <summary>Current role.</summary>
    public IceRole Role { get; private set; }

    /// <summary>Our role-conflict tie-breaker.</summary>
    public ulong TieBreaker { get; }

    /// <summary>Our credentials (change on <see cref="Restart"/>).</summary>
    public IceCredentials LocalCredentials { get; private set; }

    /// <summary>The peer's credentials, once known.</summary>
    public IceCredentials? RemoteCredentials { get; private set; }

    /// <summary>Timing profile (see <see cref="IceTimings.Default"/>, <see cref="IceTimings.Idle"/>).</summary>
    public IceTimings Timings { get; private set; } = IceTimings.Default;

    /// <summary>Connection state.</summary>
    public IceConnectionState State { get; private set; } = IceConnectionState.Checking;

    /// <summary>The selected (nominated) pair, if any.</summary>
    public CandidatePair? SelectedPair => _selected;

    /// <summary>The checklist's pairs, by descending priority.</summary>
    public IReadOnlyList<CandidatePair> Pairs => _checklist.Pairs;

    /// <summary>Local candidates as signalled (host, srflx, relay).</summary>
    public IReadOnlyList<Candidate> LocalCandidates => _localCandidates;

    /// <summary>Remote candidates, including peer-reflexive ones learnt from checks.</summary>
    public IReadOnlyList<Candidate> RemoteCandidates => _remoteCandidates;

    /// <summary>Datagrams dropped because they were malformed, unauthenticated or unexpected.</summary>
    public long Dropped { get; private set; }

    /// <summary>Connectivity-check requests answered.</summary>
    public long RequestsAnswered { get; private set; }

    /// <summary>Switches the timing profile (snownet: <see cref="IceTimings.Idle"/> while the connection idles).</summary>
    public void SetTimings(IceTimings timings)
    {
        ArgumentNullException.ThrowIfNull(timings);
        Timings = timings;
    }

    /// <summary>
    /// Sets the peer's credentials. New credentials after earlier ones mean the peer restarted ICE: remote candidates
    /// and pairs are dropped. Requests queued while the credentials were unknown are processed now.
    /// </summary>
    public void SetRemoteCredentials(IceCredentials remote, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (RemoteCredentials is not null && RemoteCredentials != remote)
        {
            ClearRemote();
        }

        RemoteCredentials = remote;
        _remoteKey = StunCredentials.ShortTermKey(remote.Password);
        _lastNow = Max(_lastNow, now);
        while (_queuedRequests.TryDequeue(out QueuedRequest q))
        {
            if (now - q.At <= Timings.IceTimeout)
            {
                HandleInput(q.Datagram, q.From, q.Local, now);
            }
        }
    }

    /// <summary>
    /// ICE restart (RFC 8445 §9) with new local credentials: remote credentials, remote candidates, pairs and the
    /// selection are dropped; local host/relay/srflx candidates stay and are reported again for signalling.
    /// </summary>
    public void Restart(IceCredentials newLocal)
    {
        ArgumentNullException.ThrowIfNull(newLocal);
        LocalCredentials = newLocal;
        _localKey = StunCredentials.ShortTermKey(newLocal.Password);
        RemoteCredentials = null;
        _remoteKey = [];
        _queuedRequests.Clear();
        ClearRemote();
        foreach (Candidate c in _localCandidates)
        {
            _events.Enqueue(new CandidateGathered(c));
        }
    }

    /// <summary>
    /// Adds a local candidate (host, srflx or relay). Returns false for duplicates, prflx, non-UDP or unusable
    /// addresses. Srflx candidates are kept for signalling only: checks are always sent from a base (RFC 8445 §6.1.2.4).
    /// </summary>
    public bool AddLocalCandidate(Candidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Kind == CandidateKind.PeerReflexive || !candidate.IsUdp || candidate.Component != 1
            || !Candidate.IsUsableAddress(candidate.Address.Address) || !Candidate.IsUsableAddress(candidate.Base.Address))
        {
            return false;
        }

        foreach (Candidate c in _localCandidates)
        {
            if (c.Kind == candidate.Kind && c.Address.Equals(candidate.Address) && c.Base.Equals(candidate.Base))
            {
                return false;
            }
        }

        _localCandidates.Add(candidate);
        _events.Enqueue(new CandidateGathered(candidate));
        if (candidate.Kind != CandidateKind.ServerReflexive)
        {
            int ordinal = 0;
            foreach (Candidate c in _localPaired)
            {
                if (c.Kind == candidate.Kind && c.Address.AddressFamily == candidate.Address.AddressFamily)
                {
                    ordinal++;
                }
            }

            uint localPref = CandidatePriority.InternalLocalPreference(candidate.Kind, candidate.Address.AddressFamily, ordinal);
            Candidate internalCandidate = candidate with
            {
                Priority = CandidatePriority.Compute(CandidatePriority.TypePreference(candidate.Kind), localPref),
            };
            _localPaired.Add(internalCandidate);
            foreach (Candidate remote in _remoteCandidates)
            {
                TryFormPair(internalCandidate, remote);
            }

            UpdateState();
        }

        return true;
    }

    /// <summary>Removes a local candidate and its pairs (e.g. an expired relay allocation). True when it was present.</summary>
    public bool InvalidateLocalCandidate(Candidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        int removed = _localCandidates.RemoveAll(c => c.Kind == candidate.Kind && c.Address.Equals(candidate.Address));
        if (removed == 0)
        {
            return false;
        }

        _localPaired.RemoveAll(c => c.Kind == candidate.Kind && c.Address.Equals(candidate.Address));
        RemovePairs(p => p.Local.Kind == candidate.Kind && p.Local.Address.Equals(candidate.Address));
        return true;
    }

    /// <summary>
    /// Adds a remote candidate. Rejects component ≠ 1, non-UDP, unusable addresses, a <c>ufrag</c> suffix different
    /// from the remote ufrag, and duplicates. A signalled candidate replaces a peer-reflexive one for the same address.
    /// </summary>
    public bool AddRemoteCandidate(Candidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Component != 1 || !candidate.IsUdp || !Candidate.IsUsableAddress(candidate.Address.Address))
        {
            return false;
        }

        if (candidate.Ufrag is not null && RemoteCredentials is not null && candidate.Ufrag != RemoteCredentials.Ufrag)
        {
            return false;
        }

        Candidate remote = candidate with { Base = candidate.Address };
        for (int i = 0; i < _remoteCandidates.Count; i++)
        {
            Candidate existing = _remoteCandidates[i];
            if (!existing.Address.Equals(remote.Address))
            {
                continue;
            }

            if (existing.Kind == CandidateKind.PeerReflexive && remote.Kind != CandidateKind.PeerReflexive)
            {
                _remoteCandidates[i] = remote;
                foreach (CandidatePair p in _checklist.Pairs)
                {
                    if (ReferenceEquals(p.Remote, existing))
                    {
                        p.ReplaceRemote(remote, Role);
                    }
                }

                _checklist.Resort();
                foreach (Candidate local in _localPaired)
                {
                    TryFormPair(local, remote);
                }

                UpdateState();
                return true;
            }

            if (existing.Kind == remote.Kind)
            {
                return false;
            }
        }

        _remoteCandidates.Add(remote);
        foreach (Candidate local in _localPaired)
        {
            TryFormPair(local, remote);
        }

        UpdateState();
        return true;
    }

    /// <summary>Removes a remote candidate and its pairs. True when it was present.</summary>
    public bool InvalidateRemoteCandidate(Candidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        int removed = _remoteCandidates.RemoveAll(c => c.Address.Equals(candidate.Address));
        if (removed == 0)
        {
            return false;
        }

        RemovePairs(p => p.Remote.Address.Equals(candidate.Address));
        return true;
    }

    /// <summary>True when the datagram looks like STUN (the agent may accept it).</summary>
    public bool IsStun(ReadOnlySpan<byte> datagram) => _codec.IsStun(datagram);

    /// <summary>
    /// Handles a received datagram. <paramref name="local"/> is the address it arrived on: a host address, or our
    /// relayed address for datagrams that came through our relay (with <paramref name="from"/> = the peer as the
    /// relay saw it). Returns false when the datagram is not STUN (not for the agent); STUN that is malformed,
    /// unauthenticated or unexpected is consumed, dropped and counted.
    /// </summary>
    public bool HandleInput(ReadOnlySpan<byte> datagram, IPEndPoint from, IPEndPoint local, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(local);
        if (!_codec.IsStun(datagram))
        {
            return false;
        }

        _lastNow = Max(_lastNow, now);
        if (!_codec.TryDecode(datagram, out ConnectivityCheck check))
        {
            Dropped++;
            return true;
        }

        switch (check.Kind)
        {
            case CheckMessageKind.Request:
                HandleRequest(datagram, in check, from, local, now);
                break;
            default:
                HandleResponse(datagram, in check, from, local, now);
                break;
        }

        RunChecks(now);
        return true;
    }

    /// <summary>Advances timers: sends due checks, fails unanswered pairs, updates nomination and state.</summary>
    public void HandleTimeout(DateTime now)
    {
        _lastNow = Max(_lastNow, now);
        while (_queuedRequests.Count > 0 && now - _queuedRequests.Peek().At > Timings.IceTimeout)
        {
            _queuedRequests.Dequeue();
        }

        RunChecks(now);
    }

    /// <summary>Next datagram to send, if any.</summary>
    public bool PollTransmit(out IceTransmit transmit) => _transmits.TryDequeue(out transmit);

    /// <summary>Next datagram to send, or null.</summary>
    public IceTransmit? PollTransmit() => _transmits.TryDequeue(out IceTransmit t) ? t : null;

    /// <summary>Next event, if any.</summary>
    public IceEvent? PollEvent() => _events.TryDequeue(out IceEvent? e) ? e : null;

    /// <summary>
    /// When <see cref="HandleTimeout"/> must run next; may be in the past (call now); null when nothing is scheduled.
    /// </summary>
    public DateTime? PollTimeout()
    {
        if (_transmits.Count > 0 || _events.Count > 0)
        {
            return _lastNow;
        }

        if (RemoteCredentials is null)
        {
            return _queuedRequests.Count > 0 ? _queuedRequests.Peek().At + Timings.IceTimeout : null;
        }

        DateTime? earliest = null;
        if (_checklist.HasTriggered)
        {
            earliest = Max(_lastNow, _nextPacedCheck);
        }

        foreach (CandidatePair p in _checklist.Pairs)
        {
            earliest = Min(earliest, p.FailAt(Timings));
            if (p.Unanswered < Timings.MaxRetransmits)
            {
                DateTime? next = p.NextCheckAt(Timings);
                if (next is { } n && p.Attempts == 0)
                {
                    n = Max(n, _nextPacedCheck);
                    next = n;
                }

                earliest = Min(earliest, next);
            }

            if (p.State == CandidatePairState.Frozen)
            {
                earliest = Min(earliest, Max(_lastNow, _nextPacedCheck));
            }
        }

        return earliest is { } e && e < _lastNow ? _lastNow : earliest;
    }

    private void HandleRequest(ReadOnlySpan<byte> datagram, in ConnectivityCheck check, IPEndPoint from, IPEndPoint local, DateTime now)
    {
        // USERNAME = "<our ufrag>:<peer ufrag>"; integrity keyed with our password.
        string? username = check.Username;
        int colon = username is null ? -1 : username.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !username.AsSpan(0, colon).SequenceEqual(LocalCredentials.Ufrag)
            || !_codec.VerifyIntegrity(datagram, _localKey))
        {
            Dropped++;
            return;
        }

        if (RemoteCredentials is null)
        {
            if (_queuedRequests.Count >= MaxQueuedRequests)
            {
                _queuedRequests.Dequeue();
            }

            _queuedRequests.Enqueue(new QueuedRequest(datagram.ToArray(), from, local, now));
            return;
        }

        if (!username.AsSpan(colon + 1).SequenceEqual(RemoteCredentials.Ufrag))
        {
            Dropped++;
            return;
        }

        Candidate? localCandidate = FindLocalForDestination(local);
        if (localCandidate is null)
        {
            Dropped++;
            return;
        }

        // Role conflict (RFC 8445 §7.3.1.1).
        if (check.Controlling == true && Role == IceRole.Controlling)
        {
            if (TieBreaker >= check.TieBreaker)
            {
                SendRoleConflict(in check, from, local);
                return;
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
                return;
            }
        }

        var response = new ConnectivityCheck
        {
            Kind = CheckMessageKind.Success,
            TransactionId = check.TransactionId,
            MappedAddress = from,
        };
        _transmits.Enqueue(new IceTransmit(local, from, _codec.Encode(in response, _localKey)));
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
        }

        if (pair is null)
        {
            UpdateState();
            return;
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
    }

    private void HandleResponse(ReadOnlySpan<byte> datagram, in ConnectivityCheck check, IPEndPoint from, IPEndPoint local, DateTime now)
    {
        if (!_outstanding.TryGetValue(check.TransactionId, out Outstanding sent) || RemoteCredentials is null
            || !_codec.VerifyIntegrity(datagram, _remoteKey))
        {
            Dropped++;
            return;
        }

        _outstanding.Remove(check.TransactionId);
        CandidatePair pair = sent.Pair;
        if (!_checklist.Pairs.Contains(pair))
        {
            return;
        }

        // Responses must come back symmetrically (RFC 8445 §7.2.5.2.1).
        if (!from.Equals(pair.Remote.Address) || !local.Equals(pair.Local.Base))
        {
            Dropped++;
            return;
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
            return;
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
    }

    private void RunChecks(DateTime now)
    {
        if (RemoteCredentials is null)
        {
            return;
        }

        // Fail pairs whose checks all went unanswered.
        for (int i = 0; i < _checklist.Pairs.Count; i++)
        {
            CandidatePair p = _checklist.Pairs[i];
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

        foreach (CandidatePair p in _checklist.Pairs)
        {
            if (p.Attempts > 0 && p.Unanswered < Timings.MaxRetransmits && p.NextCheckAt(Timings) is { } due && due <= now)
            {
                SendCheck(p, now);
            }
        }

        UpdateNomination();
        UpdateState();
    }

    private void SendCheck(CandidatePair pair, DateTime now)
    {
        IceCredentials remote = RemoteCredentials!;
        TransactionId id = NewTransactionId();
        uint localPref = (pair.Local.Priority >> 8) & 0xFFFF;
        var request = new ConnectivityCheck
        {
            Kind = CheckMessageKind.Request,
            TransactionId = id,
            Username = remote.Ufrag + ":" + LocalCredentials.Ufrag,
            Priority = CandidatePriority.Compute(CandidatePriority.TypePreference(CandidateKind.PeerReflexive), localPref),
            Controlling = Role == IceRole.Controlling,
            TieBreaker = TieBreaker,
            UseCandidate = Role == IceRole.Controlling && pair.Nominated,
        };
        _transmits.Enqueue(new IceTransmit(pair.Local.Base, pair.Remote.Address, _codec.Encode(in request, _remoteKey)));
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
        _transmits.Enqueue(new IceTransmit(local, from, _codec.Encode(in error, _localKey)));
        LogRoleConflictAnswered(_log, from);
    }

    private void SwitchRole(IceRole role)
    {
        if (Role == role)
        {
            return;
        }

        Role = role;
        foreach (CandidatePair p in _checklist.Pairs)
        {
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
        if (_selected is not null && (_selected.State == CandidatePairState.Failed || !_checklist.Pairs.Contains(_selected)))
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
            foreach (CandidatePair p in _checklist.Pairs)
            {
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
        else if (_remoteCandidates.Count > 0 && !_checklist.AnyAlive())
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
        UpdateState();
    }

    private void TryFormPair(Candidate local, Candidate remote)
    {
        if (local.Address.AddressFamily != remote.Address.AddressFamily)
        {
            return;
        }

        _checklist.Add(new CandidatePair(local, remote, Role, Timings.MaxRetransmits + 4));
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

    private TransactionId NewTransactionId()
    {
        if (_rng is null)
        {
            return TransactionId.NewRandom();
        }

        Span<byte> b = stackalloc byte[TransactionId.Length];
        _rng.NextBytes(b);
        return new TransactionId(b);
    }

    private static ulong RandomTieBreaker(Random? rng)
    {
        Span<byte> b = stackalloc byte[8];
        if (rng is null)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(b);
        }
        else
        {
            rng.NextBytes(b);
        }

        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(b);
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static DateTime? Min(DateTime? a, DateTime? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: selected pair {Source} -> {Destination} as {Role}")]
    private static partial void LogNominated(ILogger logger, IceRole role, IPEndPoint source, IPEndPoint destination);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: connection state {State}")]
    private static partial void LogStateChanged(ILogger logger, IceConnectionState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: role conflict, switched to {Role}")]
    private static partial void LogRoleSwitched(ILogger logger, IceRole role);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: role conflict, answered 487 to {From}")]
    private static partial void LogRoleConflictAnswered(ILogger logger, IPEndPoint from);

    private readonly record struct Outstanding(CandidatePair Pair, IceRole Role);

    private readonly record struct QueuedRequest(byte[] Datagram, IPEndPoint From, IPEndPoint Local, DateTime At);
}
