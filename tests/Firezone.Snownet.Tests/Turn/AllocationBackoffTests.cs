using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationBackoffTests
{
    [Fact]
    public void Schedule_is_1_then_2_5_then_4_75_then_8_125_seconds_then_gives_up()
    {
        var backoff = AllocationBackoff.StartAt(T0);
        var deadlines = new List<double>();
        var sentAt = T0;
        while (true)
        {
            var deadline = sentAt + backoff.CurrentWait;
            deadlines.Add((deadline - T0).TotalSeconds);
            if (!backoff.TryAdvance(deadline))
            {
                break;
            }

            sentAt = deadline;
        }

        Assert.Equal(new[] { 1.0, 2.5, 4.75, 8.125 }, deadlines);
    }

    [Fact]
    public void Binding_is_sent_at_0_1_2_5_4_75_with_the_same_transaction_id_and_abandoned_at_8_125()
    {
        var a = NewAllocation();
        var first = Single(a);
        Assert.Equal(StunMethod.Binding, first.Method);
        var sendTimes = new List<double> { 0 };
        var timeouts = new List<double>();
        while (a.PollTimeout() is { } t)
        {
            timeouts.Add((t - T0).TotalSeconds);
            a.HandleTimeout(t);
            foreach (var sent in Drain(a))
            {
                Assert.Equal(first.Id, sent.Id);
                Assert.Equal(first.Bytes, sent.Bytes);
                sendTimes.Add((t - T0).TotalSeconds);
            }

            Assert.True(timeouts.Count < 10, "timeouts must stop");
        }

        Assert.Equal(new[] { 1.0, 2.5, 4.75, 8.125 }, timeouts);
        Assert.Equal(new[] { 0.0, 1.0, 2.5, 4.75 }, sendTimes);
        Assert.Equal(AllocationFreeReason.NoResponseReceived, a.CanBeFreed());
    }

    [Fact]
    public void Authenticated_retransmissions_carry_fresh_transaction_ids_and_the_same_schedule()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var challenged = Single(a);
        Feed(a, challenged, Error(challenged, 401, Nonce1, Realm), T0);
        var allocate = Single(a);
        Assert.True(allocate.IntegrityValid);
        var ids = new HashSet<TransactionId> { allocate.Id };
        var times = new List<double>();
        while (a.PollTimeout() is { } t)
        {
            a.HandleTimeout(t);
            foreach (var sent in Drain(a))
            {
                Assert.Equal(StunMethod.Allocate, sent.Method);
                Assert.True(sent.IntegrityValid);
                Assert.True(ids.Add(sent.Id), "retransmission reused a transaction id");
                times.Add((t - T0).TotalSeconds);
            }
        }

        Assert.Equal(new[] { 1.0, 2.5, 4.75 }, times);

        // A late answer to the first (superseded) transaction id is not ours any more.
        Assert.False(Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, null), T0 + TimeSpan.FromSeconds(9)));
        Assert.False(a.HasAllocation);
    }

    [FsCheck.Xunit.Property]
    public Property Every_granted_wait_keeps_the_total_within_10_seconds(PositiveInt stepsRaw)
    {
        var steps = 1 + (stepsRaw.Get % 20);
        var backoff = AllocationBackoff.StartAt(T0);
        var sentAt = T0;
        var ok = true;
        var granted = 0;
        for (var i = 0; i < steps; i++)
        {
            var deadline = sentAt + backoff.CurrentWait;
            ok &= deadline - T0 <= TimeSpan.FromSeconds(10);
            if (!backoff.TryAdvance(deadline))
            {
                break;
            }

            granted++;
            ok &= backoff.CurrentWait <= TimeSpan.FromSeconds(60);
            sentAt = deadline;
        }

        return (ok && granted <= 3).ToProperty();
    }
}
