namespace Firezone.Testing;

/// <summary>
/// The simulated clock (upstream's "flux capacitor", tunnel spec §9.6): one monotonic instant (<see cref="Now"/>, what
/// sans-IO engines take as <c>now</c>) and one wall-clock time (<see cref="UtcNow"/>, what the wire needs, e.g. relay
/// username expiry) advanced together by explicit ticks, so <c>UtcNow - Now</c> never changes. Nothing moves it but
/// the test; it never goes backwards.
/// </summary>
public sealed class SimClock
{
    /// <summary>The small tick of the tunnel test's loop while datagrams are in flight (10 ms).</summary>
    public static readonly TimeSpan SmallTick = TimeSpan.FromMilliseconds(10);

    /// <summary>The large tick of the tunnel test's loop while only timers are pending (100 ms).</summary>
    public static readonly TimeSpan LargeTick = TimeSpan.FromMilliseconds(100);

    /// <summary>A clock at monotonic instant <paramref name="start"/> (default zero) and wall-clock <paramref name="utcStart"/>.</summary>
    /// <param name="utcStart">Wall-clock time at <paramref name="start"/>.</param>
    /// <param name="start">Initial monotonic instant (time since the driver's origin).</param>
    public SimClock(DateTimeOffset utcStart, TimeSpan start = default)
    {
        Now = start;
        UtcStart = utcStart - start;
    }

    /// <summary>The monotonic instant.</summary>
    public TimeSpan Now { get; private set; }

    /// <summary>The wall-clock time at monotonic instant zero (<see cref="UtcNow"/> = this + <see cref="Now"/>).</summary>
    public DateTimeOffset UtcStart { get; }

    /// <summary>The wall-clock time, always <see cref="UtcStart"/> + <see cref="Now"/>.</summary>
    public DateTimeOffset UtcNow => UtcStart + Now;

    /// <summary>Moves both times forward by <paramref name="by"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative.</exception>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Now += by;
    }

    /// <summary>Moves both times forward to <paramref name="instant"/>; an instant in the past changes nothing.</summary>
    /// <returns>True when the clock moved.</returns>
    public bool AdvanceTo(TimeSpan instant)
    {
        if (instant <= Now)
        {
            return false;
        }

        Now = instant;
        return true;
    }

    /// <summary>Formats <see cref="Now"/> as the tunnel test's log timestamp: elapsed seconds and milliseconds ("12.345s").</summary>
    public override string ToString() => $"{(long)Now.TotalSeconds}.{Now.Milliseconds:D3}s";
}
