namespace Firezone.Connlib.Hosting;

/// <summary>
/// Sans-IO debouncing of a burst of change notifications into one event: <see cref="Record"/> each notification,
/// sleep until <see cref="PollTimeout"/>, then <see cref="HandleTimeout"/> says whether to fire. The event fires once
/// the notifications have been quiet for <c>quiet</c>, or at the latest <c>maxDelay</c> after the first of the burst
/// (so a steady trickle still yields an event).
/// </summary>
internal sealed class ChangeDebouncer
{
    private readonly TimeSpan _quiet;
    private readonly TimeSpan _maxDelay;
    private TimeSpan? _first;
    private TimeSpan _last;

    public ChangeDebouncer(TimeSpan quiet, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quiet, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, quiet);
        _quiet = quiet;
        _maxDelay = maxDelay;
    }

    /// <summary>True while a notification waits to be reported.</summary>
    public bool IsPending => _first is not null;

    public void Record(TimeSpan now)
    {
        _first ??= now;
        _last = now;
    }

    /// <summary>When to call <see cref="HandleTimeout"/>, or null when nothing is pending.</summary>
    public TimeSpan? PollTimeout() => _first is { } first ? Min(_last + _quiet, first + _maxDelay) : null;

    /// <summary>True (once per burst) when the event is due at <paramref name="now"/>.</summary>
    public bool HandleTimeout(TimeSpan now)
    {
        if (PollTimeout() is not { } due || now < due)
        {
            return false;
        }

        _first = null;
        return true;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
