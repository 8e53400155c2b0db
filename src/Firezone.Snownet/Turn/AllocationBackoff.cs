namespace Firezone.Snownet.Turn;

/// <summary>
/// Retransmission schedule of one logical TURN request (snownet spec §6.6): exponential, no jitter, first wait
/// <see cref="AllocationConstants.RequestTimeout"/>, ×1.5, capped at 60 s, and a further wait is granted only while
/// elapsed-since-first-send + wait ≤ 10 s. Sends happen at +0, +1, +2.5, +4.75 s; the request is abandoned at +8.125 s.
/// </summary>
internal struct AllocationBackoff
{
    private AllocationBackoff(TimeSpan start)
    {
        Start = start;
        CurrentWait = AllocationConstants.RequestTimeout;
    }

    /// <summary>When the logical request was first sent.</summary>
    public TimeSpan Start { get; }

    /// <summary>How long to wait after the latest send before retransmitting (or giving up).</summary>
    public TimeSpan CurrentWait { get; private set; }

    /// <summary>A fresh schedule whose first send is <paramref name="now"/>.</summary>
    public static AllocationBackoff StartAt(TimeSpan now) => new(now);

    /// <summary>
    /// Called when the current wait ran out at <paramref name="now"/>: advances to the next wait and returns true if
    /// the request may be retransmitted, false if it must be abandoned.
    /// </summary>
    public bool TryAdvance(TimeSpan now)
    {
        var next = TimeSpan.FromTicks((long)(CurrentWait.Ticks * AllocationConstants.BackoffMultiplier));
        if (next > AllocationConstants.BackoffMaxInterval)
        {
            next = AllocationConstants.BackoffMaxInterval;
        }

        if (now - Start + next > AllocationConstants.BackoffMaxElapsed)
        {
            return false;
        }

        CurrentWait = next;
        return true;
    }
}
