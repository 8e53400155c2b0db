namespace Firezone.Snownet.Ice;

/// <summary>
/// Check pacing and retransmission profile (snownet spec §4.6, §9): per pair, the n-th resend delay is
/// min(InitialRto·2^(n−1), MaxRto); a pair is failed after <see cref="MaxRetransmits"/> unanswered checks.
/// </summary>
/// <param name="InitialRto">First resend delay.</param>
/// <param name="MaxRto">Upper bound of the resend delay; also the consent-check interval of a succeeded pair.</param>
/// <param name="MaxRetransmits">Unanswered checks after which a pair fails.</param>
/// <param name="Ta">Pacing between two checks of the checklist (RFC 8445 §14.2); Firezone uses 0.</param>
internal sealed record IceTimings(TimeSpan InitialRto, TimeSpan MaxRto, int MaxRetransmits, TimeSpan Ta)
{
    /// <summary>Connecting/Connected profile: 250 ms, 1500 ms, 8 retransmits, Ta = 0.</summary>
    public static IceTimings Default { get; } = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1500), 8, TimeSpan.Zero);

    /// <summary>Idle profile (spec §4.9): 60 s, 60 s, 4 retransmits, Ta = 0: one consent check per minute.</summary>
    public static IceTimings Idle { get; } = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), 4, TimeSpan.Zero);

    /// <summary>Resend delay after the n-th (1-based) attempt.</summary>
    public TimeSpan ResendDelay(int n)
    {
        if (n <= 0)
        {
            return TimeSpan.Zero;
        }

        long ticks = InitialRto.Ticks;
        for (int i = 1; i < n && ticks < MaxRto.Ticks; i++)
        {
            ticks *= 2;
        }

        return TimeSpan.FromTicks(Math.Min(ticks, MaxRto.Ticks));
    }

    /// <summary>
    /// The time a fresh pair takes to fail: the sum of the resend delays of all <see cref="MaxRetransmits"/> attempts
    /// (9.25 s for the default profile).
    /// </summary>
    public TimeSpan IceTimeout
    {
        get
        {
            TimeSpan total = TimeSpan.Zero;
            for (int n = 1; n <= MaxRetransmits; n++)
            {
                total += ResendDelay(n);
            }

            return total;
        }
    }
}
