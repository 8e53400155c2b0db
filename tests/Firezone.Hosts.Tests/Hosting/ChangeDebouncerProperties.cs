using Firezone.Connlib.Hosting;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>Debouncing of network-change notifications into one event per burst, against a reference model.</summary>
public sealed class ChangeDebouncerProperties
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(3);

    /// <summary>The model: a burst ends at min(last + quiet, first + maxDelay); notifications after that start a new burst.</summary>
    private static List<TimeSpan> ModelFires(IReadOnlyList<TimeSpan> notifications)
    {
        var fires = new List<TimeSpan>();
        TimeSpan? first = null;
        TimeSpan last = default;
        foreach (var t in notifications)
        {
            if (first is { } f && t >= Min(last + Quiet, f + MaxDelay))
            {
                fires.Add(Min(last + Quiet, f + MaxDelay));
                first = null;
            }

            first ??= t;
            last = t;
        }

        if (first is { } open)
        {
            fires.Add(Min(last + Quiet, open + MaxDelay));
        }

        return fires;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Drives the real debouncer the way the monitor thread does: wake at each notification or at PollTimeout.</summary>
    private static List<TimeSpan> RealFires(IReadOnlyList<TimeSpan> notifications)
    {
        var debouncer = new ChangeDebouncer(Quiet, MaxDelay);
        var fires = new List<TimeSpan>();
        int next = 0;
        while (next < notifications.Count || debouncer.IsPending)
        {
            var due = debouncer.PollTimeout();
            if (next < notifications.Count && (due is null || notifications[next] < due))
            {
                debouncer.Record(notifications[next++]);
                continue;
            }

            Assert.True(debouncer.HandleTimeout(due!.Value));
            fires.Add(due.Value);
        }

        return fires;
    }

    [Fact]
    public void Each_burst_of_notifications_yields_exactly_one_event_at_the_models_time()
    {
        var gaps = Gen.ListOf(Gen.OneOf(Gen.Choose(0, 400), Gen.Choose(0, 4000)).Select(ms => TimeSpan.FromMilliseconds(ms)));
        Prop.ForAll(Arb.From(gaps), list =>
        {
            var times = new List<TimeSpan>();
            var now = TimeSpan.FromSeconds(1);
            foreach (var gap in list)
            {
                now += gap;
                times.Add(now);
            }

            return RealFires(times).SequenceEqual(ModelFires(times));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_steady_trickle_still_fires_after_the_max_delay()
    {
        var times = Enumerable.Range(0, 100).Select(i => TimeSpan.FromMilliseconds(100 * i)).ToList();
        var fires = RealFires(times);
        Assert.Equal(TimeSpan.FromSeconds(3), fires[0]);
        Assert.True(fires.Count >= 3);
    }

    [Fact]
    public void Nothing_fires_before_it_is_due_and_nothing_without_a_notification()
    {
        var debouncer = new ChangeDebouncer(Quiet, MaxDelay);
        Assert.Null(debouncer.PollTimeout());
        Assert.False(debouncer.HandleTimeout(TimeSpan.FromHours(1)));
        debouncer.Record(TimeSpan.FromSeconds(10));
        Assert.False(debouncer.HandleTimeout(TimeSpan.FromSeconds(10.4)));
        Assert.True(debouncer.HandleTimeout(TimeSpan.FromSeconds(10.5)));
        Assert.False(debouncer.HandleTimeout(TimeSpan.FromSeconds(11)));
    }
}
