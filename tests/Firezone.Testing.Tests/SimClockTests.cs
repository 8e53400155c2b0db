using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Testing.Tests;

/// <summary>Tunnel spec §9.6 (FluxCapacitor): monotonic and UTC time advanced together by explicit ticks.</summary>
public class SimClockTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Property]
    public Property Monotonic_and_utc_time_advance_together_and_never_go_back_spec_9_6() => Prop.ForAll(
        Gen.Choose(-5_000, 200_000).Select(ms => TimeSpan.FromMilliseconds(ms)).ListOf().ToArbitrary(), steps =>
        {
            var clock = new SimClock(Start, TimeSpan.FromSeconds(3));
            var expected = TimeSpan.FromSeconds(3);
            foreach (var step in steps)
            {
                var before = clock.Now;
                bool moved = clock.AdvanceTo(before + step);
                Assert.Equal(step > TimeSpan.Zero, moved);
                expected = step > TimeSpan.Zero ? expected + step : expected;
                Assert.Equal(expected, clock.Now);
                Assert.Equal(Start + (clock.Now - TimeSpan.FromSeconds(3)), clock.UtcNow);
                if (step >= TimeSpan.Zero)
                {
                    clock.Advance(step);
                    expected += step;
                    Assert.Equal(Start + (expected - TimeSpan.FromSeconds(3)), clock.UtcNow);
                }
            }
        });

    [Fact]
    public void Advancing_by_a_negative_span_throws()
    {
        var clock = new SimClock(Start);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(TimeSpan.FromTicks(-1)));
        Assert.Equal(TimeSpan.Zero, clock.Now);
    }

    [Fact]
    public void Ticks_are_10_and_100_ms_and_the_log_stamp_is_seconds_dot_millis_spec_9_6()
    {
        var clock = new SimClock(Start);
        clock.Advance(SimClock.LargeTick * 123);
        clock.Advance(SimClock.SmallTick * 4);
        Assert.Equal("12.340s", clock.ToString());
        Assert.Equal(Start.AddMilliseconds(12_340), clock.UtcNow);
    }
}
