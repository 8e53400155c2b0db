using Firezone.Snownet.Stun;
namespace Firezone.Snownet.Ice;

/// <summary>
/// A (local, remote) candidate pair with its check state and retransmission bookkeeping (snownet spec §4.6):
/// every check is a new transaction; the n-th resend delay is <see cref="IceTimings.ResendDelay"/>(n) where n is the
/// unanswered streak once the oldest unanswered check is older than MaxRto/2, else the total number of checks.
/// </summary>
internal sealed class CandidatePair
{
    private readonly TransactionId[] _recent;
    private int _recentCount;
    private int _recentNext;

    /// <summary>Creates a pair.</summary>
    public CandidatePair(Candidate local, Candidate remote, IceRole role, int transactionMemory)
    {
        Local = local;
        Remote = remote;
        _recent = new TransactionId[Math.Max(2, transactionMemory)];
        Foundation = local.Foundation + ":" + remote.Foundation;
        UpdatePriority(role);
    }

    /// <summary>Local candidate (host, relayed or prflx) with the agent-internal priority; sends from its base.</summary>
    public Candidate Local { get; }

    /// <summary>Remote candidate.</summary>
    public Candidate Remote { get; private set; }

    /// <summary>RFC 8445 §6.1.2.3 pair priority for the current role.</summary>
    public ulong Priority { get; private set; }

    /// <summary>Pair foundation: local and remote foundations joined.</summary>
    public string Foundation { get; private set; } = string.Empty;

    /// <summary>Check state.</summary>
    public CandidatePairState State { get; set; } = CandidatePairState.Waiting;

    /// <summary>Controlling: we nominated it. Controlled: the peer sent USE-CANDIDATE on it.</summary>
    public bool Nominated { get; set; }

    /// <summary>When the peer last sent USE-CANDIDATE on this pair (controlled side).</summary>
    public TimeSpan NominatedAt { get; set; }

    /// <summary>Checks sent since the pair was (re)started.</summary>
    public int Attempts { get; private set; }

    /// <summary>Checks sent since the last answer.</summary>
    public int Unanswered { get; private set; }

    /// <summary>When the oldest check of the current unanswered streak was sent.</summary>
    public TimeSpan OldestUnansweredAt { get; private set; }

    /// <summary>When the last check was sent.</summary>
    public TimeSpan LastSentAt { get; private set; }

    /// <summary>When the last valid answer arrived.</summary>
    public TimeSpan LastAnsweredAt { get; private set; }

    /// <summary>Recomputes <see cref="Priority"/> for a role.</summary>
    public void UpdatePriority(IceRole role)
        => Priority = role == IceRole.Controlling
            ? CandidatePriority.Pair(Local.Priority, Remote.Priority)
            : CandidatePriority.Pair(Remote.Priority, Local.Priority);

    /// <summary>Replaces a peer-reflexive remote candidate by the signalled one for the same address.</summary>
    public void ReplaceRemote(Candidate remote, IceRole role)
    {
        Remote = remote;
        Foundation = Local.Foundation + ":" + remote.Foundation;
        UpdatePriority(role);
    }

    /// <summary>Records a sent check; returns the transaction id evicted from the memory (to forget), if any.</summary>
    public TransactionId? RecordSent(TransactionId id, TimeSpan now)
    {
        if (Unanswered == 0)
        {
            OldestUnansweredAt = now;
        }

        Attempts++;
        Unanswered++;
        LastSentAt = now;
        if (State is CandidatePairState.Waiting or CandidatePairState.Frozen)
        {
            State = CandidatePairState.InProgress;
        }

        TransactionId? evicted = null;
        if (_recentCount == _recent.Length)
        {
            evicted = _recent[_recentNext];
        }
        else
        {
            _recentCount++;
        }

        _recent[_recentNext] = id;
        _recentNext = (_recentNext + 1) % _recent.Length;
        return evicted;
    }

    /// <summary>The transaction ids still remembered for this pair.</summary>
    public ReadOnlySpan<TransactionId> RecentTransactions => _recent.AsSpan(0, _recentCount);

    /// <summary>Records a valid answer.</summary>
    public void RecordAnswered(TimeSpan now)
    {
        Unanswered = 0;
        LastAnsweredAt = now;
        State = CandidatePairState.Succeeded;
    }

    /// <summary>Restarts the pair's checks (triggered check on a failed pair, ICE restart).</summary>
    public void Restart()
    {
        Attempts = 0;
        Unanswered = 0;
        State = CandidatePairState.Waiting;
    }

    /// <summary>
    /// When the next check is due (null: never, e.g. frozen or failed; <see cref="TimeSpan.MinValue"/>: a waiting pair
    /// never checked, due at once).
    /// </summary>
    public TimeSpan? NextCheckAt(IceTimings t)
    {
        if (State is CandidatePairState.Failed or CandidatePairState.Frozen)
        {
            return null;
        }

        if (Attempts == 0)
        {
            return State == CandidatePairState.Waiting ? TimeSpan.MinValue : null;
        }

        TimeSpan byTotal = LastSentAt + t.ResendDelay(Attempts);
        if (Unanswered == 0)
        {
            return byTotal;
        }

        TimeSpan switchAt = OldestUnansweredAt + (t.MaxRto / 2);
        TimeSpan byStreak = LastSentAt + t.ResendDelay(Unanswered);
        TimeSpan streakDue = switchAt > byStreak ? switchAt : byStreak;
        return streakDue < byTotal ? streakDue : byTotal;
    }

    /// <summary>When the pair fails if nothing answers (null when it is not failing).</summary>
    public TimeSpan? FailAt(IceTimings t)
    {
        if (State == CandidatePairState.Failed || Unanswered < t.MaxRetransmits || Attempts < t.MaxRetransmits)
        {
            return null;
        }

        return LastSentAt + t.ResendDelay(Unanswered);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Local.Base}({CandidateSdp.TypeToken(Local.Kind)}) -> {Remote.Address}({CandidateSdp.TypeToken(Remote.Kind)}) {State}{(Nominated ? " nominated" : "")}";
}
