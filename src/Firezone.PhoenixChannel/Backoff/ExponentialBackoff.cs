namespace Firezone.PhoenixChannel.Backoff;

/// <summary>
/// One failure streak's exponential backoff (the algorithm of the backoff crate's <c>ExponentialBackoff</c>).
/// Its clock starts at <paramref name="start"/>, which the channel sets to the instant of the streak's first error.
/// </summary>
internal sealed class ExponentialBackoff(ReconnectPolicy policy, TimeSpan start, Random random)
{
    private TimeSpan _current = policy.InitialInterval;

    /// <summary>The instant of the failure streak's first error.</summary>
    public TimeSpan Start { get; } = start;

    /// <summary>The nominal interval the next delay is drawn around.</summary>
    public TimeSpan CurrentInterval => _current;

    /// <summary>The next delay, or <c>null</c> to give up.</summary>
    public TimeSpan? NextDelay(TimeSpan now)
    {
        var elapsed = now - Start;
        if (policy.MaxElapsedTime is { } max && elapsed > max)
        {
            return null;
        }

        var delta = policy.RandomizationFactor * _current.Ticks;
        var low = _current.Ticks - delta;
        var high = _current.Ticks + delta;
        var delay = TimeSpan.FromTicks((long)(low + random.NextDouble() * (high - low + 1)));
        if (delay.Ticks > (long)high) delay = TimeSpan.FromTicks((long)high);

        _current = _current.Ticks >= policy.MaxInterval.Ticks / policy.Multiplier
            ? policy.MaxInterval
            : TimeSpan.FromTicks((long)(_current.Ticks * policy.Multiplier));

        if (policy.MaxElapsedTime is { } m && elapsed + delay > m)
        {
            return null;
        }
        return delay;
    }
}
