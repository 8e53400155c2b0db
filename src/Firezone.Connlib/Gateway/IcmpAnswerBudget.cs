namespace Firezone.Connlib.Gateway;

/// <summary>
/// The per-client token bucket for the ICMP errors the gateway sends back for refused packets: a burst of
/// <see cref="Burst"/> answers, then one every <see cref="Interval"/> (10 per second), on the monotonic clock. A client
/// flooding refused packets gets at most that many answers, each at most the size of an IPv6 minimum-MTU packet
/// (IPv4: 576 bytes), so it cannot make the gateway amplify.
/// </summary>
internal struct IcmpAnswerBudget
{
    /// <summary>Answers available at once.</summary>
    public const int Burst = 10;

    /// <summary>One more answer per interval.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private int _tokens;
    private TimeSpan _refilledAt;
    private bool _started;

    /// <summary>Takes one answer if the budget allows it at <paramref name="now"/>.</summary>
    public bool TryTake(TimeSpan now)
    {
        if (!_started)
        {
            _started = true;
            _tokens = Burst;
            _refilledAt = now;
        }
        else if (now > _refilledAt)
        {
            long earned = (now - _refilledAt).Ticks / Interval.Ticks;
            if (earned > 0)
            {
                _tokens = (int)Math.Min(Burst, _tokens + earned);
                _refilledAt = _tokens == Burst ? now : _refilledAt + TimeSpan.FromTicks(Interval.Ticks * earned);
            }
        }

        if (_tokens == 0)
        {
            return false;
        }

        _tokens--;
        return true;
    }
}
