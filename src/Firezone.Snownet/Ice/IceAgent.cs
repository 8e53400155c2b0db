using System.Net;
using System.Text;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Stun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.Ice;

/// <summary>
/// A sans-IO RFC 8445 ICE agent for one Firezone connection (component 1, UDP, trickle ICE, full ICE), behaving as
/// snownet spec §4.4–§4.6 describes: checks with short-term credentials, per-pair retransmission/consent schedule,
/// regular nomination by the controlling side (re-nominating when a better pair succeeds), peer-reflexive candidates,
/// triggered checks, role conflicts (RFC 8445 §7.3.1.1, 487), consent freshness with Firezone's timing profiles and
/// ICE restarts. Time (a monotonic <see cref="TimeSpan"/> since the driver's origin) and randomness (transaction ids,
/// the tie-breaker) always come from the caller.
/// </summary>
/// <remarks>
/// Feed it with <see cref="HandleInput"/> and <see cref="HandleTimeout"/>; drain <see cref="PollTransmit"/>,
/// <see cref="PollEvent"/> and re-read <see cref="PollTimeout"/> after every call. A polled payload is valid until the
/// next <see cref="PollTransmit"/>. Single-threaded. Answering a check allocates nothing: MESSAGE-INTEGRITY uses HMACs
/// keyed once per credential (<see cref="CheckIntegrityKey"/>) and USERNAMEs are compared as UTF-8 bytes against
/// values precomputed when the credentials are set.
/// </remarks>
internal sealed partial class IceAgent
{
    /// <summary>Requests kept while the remote credentials are unknown (snownet spec §4.6).</summary>
    public const int MaxQueuedRequests = 100;

    private readonly IConnectivityCheckCodec _codec;
    private readonly Action<Span<byte>> _random;
    private readonly ILogger _log;
    private readonly Checklist _checklist = new();
    private readonly List<Candidate> _localCandidates = new();      // as signalled (events)
    private readonly List<Candidate> _localPaired = new();          // host/relay with internal priority
    private readonly List<Candidate> _localPeerReflexive = new();
    private readonly List<Candidate> _remoteCandidates = new();
    private readonly Dictionary<TransactionId, Outstanding> _outstanding = new();
    private readonly HashSet<IPEndPoint> _discoveredSources = new();
    private readonly CheckTransmitQueue _transmits = new();
    private readonly Queue<IceEvent> _events = new();
    private readonly Queue<QueuedRequest> _queuedRequests = new();
    private CheckIntegrityKey _localKey;
    private CheckIntegrityKey? _remoteKey;
    private byte[] _localUfragPrefix = [];     // "<our ufrag>:" (UTF-8): requests for us start with it
    private byte[] _expectedUsername = [];     // "<our ufrag>:<peer ufrag>": USERNAME of the peer's requests
    private byte[] _requestUsername = [];      // "<peer ufrag>:<our ufrag>": USERNAME of our requests
    private CandidatePair? _selected;
    private TimeSpan _lastNow;
    private TimeSpan _nextPacedCheck = TimeSpan.MinValue;

    /// <summary>Creates an agent.</summary>
    /// <param name="role">Initial role (Firezone client: controlling; gateway: controlled).</param>
    /// <param name="localCredentials">Our ufrag/password.</param>
    /// <param name="random">Randomness for transaction ids and the tie-breaker (<see cref="RandomSource.Secure"/> in
    /// production, a seeded source in simulations).</param>
    /// <param name="codec">STUN Binding codec.</param>
    /// <param name="tieBreaker">Role-conflict tie-breaker; drawn from <paramref name="random"/> when null.</param>
    /// <param name="logger">Optional logger.</param>
    public IceAgent(IceRole role, IceCredentials localCredentials, Action<Span<byte>> random, IConnectivityCheckCodec? codec = null,
        ulong? tieBreaker = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(localCredentials);
        ArgumentNullException.ThrowIfNull(random);
        Role = role;
        _random = random;
        _codec = codec ?? StunConnectivityCheckCodec.Instance;
        _log = logger ?? NullLogger.Instance;
        TieBreaker = tieBreaker ?? RandomSource.NextUInt64(random);
        LocalCredentials = localCredentials;
        _localKey = new CheckIntegrityKey(localCredentials.Password);
        UpdateUsernames();
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

    /// <summary>
    /// True once a candidate pair was formed (since the last restart). Until then the agent never reports
    /// <see cref="IceConnectionState.Disconnected"/>: candidates of a matching family may still arrive (a relay
    /// allocation or a host address the node has not learnt yet), so "no pair possible" is not yet known.
    /// </summary>
    public bool HasFormedPairs { get; private set; }

    /// <summary>
    /// STUN datagrams refused: malformed, not for this agent (<see cref="HandleInput"/> returned false), or for this
    /// agent but unexpected (e.g. a response from the wrong address).
    /// </summary>
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
    public void SetRemoteCredentials(IceCredentials remote, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (RemoteCredentials is not null && RemoteCredentials != remote)
        {
            ClearRemote();
        }

        if (RemoteCredentials != remote)
        {
            RemoteCredentials = remote;
            _remoteKey?.Dispose();
            _remoteKey = new CheckIntegrityKey(remote.Password);
            UpdateUsernames();
        }

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
        _localKey.Dispose();
        _localKey = new CheckIntegrityKey(newLocal.Password);
        RemoteCredentials = null;
        _remoteKey?.Dispose();
        _remoteKey = null;
        UpdateUsernames();
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
                for (int j = 0; j < _checklist.Count; j++)
                {
                    CandidatePair p = _checklist[j];
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
    /// relay saw it). Returns true when the datagram was for this agent: a Binding request with our ufrag and valid
    /// integrity under our password (also when it is then refused, e.g. for a wrong peer ufrag, or queued until the
    /// peer's credentials arrive), or a response to one of our outstanding checks with valid integrity. Returns
    /// false for anything else: not STUN (hand it to WireGuard), malformed STUN, or STUN for someone else (another
    /// agent, a TURN client); refused STUN is counted in <see cref="Dropped"/>.
    /// </summary>
    public bool HandleInput(ReadOnlySpan<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now)
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
            return false;
        }

        bool accepted = check.Kind == CheckMessageKind.Request
            ? HandleRequest(datagram, in check, from, local, now)
            : HandleResponse(datagram, in check, from, local, now);
        if (!accepted)
        {
            Dropped++;
            return false;
        }

        RunChecks(now);
        return true;
    }

    /// <summary>Advances timers: sends due checks, fails unanswered pairs, updates nomination and state.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        _lastNow = Max(_lastNow, now);
        while (_queuedRequests.Count > 0 && now - _queuedRequests.Peek().At > Timings.IceTimeout)
        {
            _queuedRequests.Dequeue();
        }

        RunChecks(now);
    }

    /// <summary>
    /// The next datagram to send, or null. <see cref="Transmit.Source"/> is the local base (never null): a host
    /// address, or a relayed address (then wrap the payload in ChannelData towards that relay). The payload stays
    /// valid until the next call of this method.
    /// </summary>
    public Transmit? PollTransmit() => _transmits.TryDequeue(out Transmit t) ? t : null;

    /// <summary>Next event, if any.</summary>
    public IceEvent? PollEvent() => _events.TryDequeue(out IceEvent? e) ? e : null;

    /// <summary>
    /// When <see cref="HandleTimeout"/> must run next; may be in the past (call now; while output is pending it is the
    /// latest instant seen); null when nothing is scheduled.
    /// </summary>
    public TimeSpan? PollTimeout()
    {
        if (_transmits.Count > 0 || _events.Count > 0)
        {
            return _lastNow;
        }

        if (RemoteCredentials is null)
        {
            return _queuedRequests.Count > 0 ? _queuedRequests.Peek().At + Timings.IceTimeout : null;
        }

        TimeSpan? earliest = null;
        if (_checklist.HasTriggered)
        {
            earliest = Max(_lastNow, _nextPacedCheck);
        }

        for (int i = 0; i < _checklist.Count; i++)
        {
            CandidatePair p = _checklist[i];
            earliest = Deadline.Min(earliest, p.FailAt(Timings));
            if (p.Unanswered < Timings.MaxRetransmits)
            {
                TimeSpan? next = p.NextCheckAt(Timings);
                if (next is { } n && p.Attempts == 0)
                {
                    next = Max(n, _nextPacedCheck);
                }

                earliest = Deadline.Min(earliest, next);
            }

            if (p.State == CandidatePairState.Frozen)
            {
                earliest = Deadline.Min(earliest, Max(_lastNow, _nextPacedCheck));
            }
        }

        return earliest is { } e && e < _lastNow ? _lastNow : earliest;
    }

    private void UpdateUsernames()
    {
        string local = LocalCredentials.Ufrag;
        string? remote = RemoteCredentials?.Ufrag;
        _localUfragPrefix = Encoding.UTF8.GetBytes(local + ":");
        _expectedUsername = remote is null ? [] : Encoding.UTF8.GetBytes(local + ":" + remote);
        _requestUsername = remote is null ? [] : Encoding.UTF8.GetBytes(remote + ":" + local);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: selected pair {Source} -> {Destination} as {Role}")]
    private static partial void LogNominated(ILogger logger, IceRole role, IPEndPoint source, IPEndPoint destination);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: connection state {State}")]
    private static partial void LogStateChanged(ILogger logger, IceConnectionState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: role conflict, switched to {Role}")]
    private static partial void LogRoleSwitched(ILogger logger, IceRole role);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ICE: role conflict, answered 487 to {From}")]
    private static partial void LogRoleConflictAnswered(ILogger logger, IPEndPoint from);

    private readonly record struct Outstanding(CandidatePair Pair, IceRole Role);

    private readonly record struct QueuedRequest(byte[] Datagram, IPEndPoint From, IPEndPoint Local, TimeSpan At);
}
