using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>The indexed deadline heap on its own, against a sorted-list reference model.</summary>
public class DeadlineQueueTests
{
    private sealed class Item(int id) : DeadlineEntry
    {
        public int Id { get; } = id;
    }

    /// <summary>(0, i, due, rank) schedule or move item i; (1, i) remove item i; (2, now) dequeue everything due at now.</summary>
    public static class Generators
    {
        public static Arbitrary<(int Kind, int Item, long Time, int Rank)[]> Scripts() =>
            Gen.ArrayOf(Gen.Frequency(
                (5, from i in Gen.Choose(0, 11) from due in Gen.Choose(0, 40) from rank in Gen.Choose(0, 3) select (0, i, (long)due, rank)),
                (2, from i in Gen.Choose(0, 11) select (1, i, 0L, 0)),
                (2, from now in Gen.Choose(-1, 45) select (2, 0, (long)now, 0))))
            .ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 500)]
    public void Queue_agrees_with_a_reference_model((int Kind, int Item, long Time, int Rank)[] script)
    {
        var queue = new DeadlineQueue();
        var items = Enumerable.Range(0, 12).Select(i => new Item(i)).ToArray();
        var model = new Dictionary<int, (long Due, int Rank, long Seq)>();
        long seq = 0;
        foreach (var (kind, i, time, rank) in script)
        {
            switch (kind)
            {
                case 0:
                    queue.Schedule(items[i], time, rank);
                    model[i] = (time, rank, seq++);
                    break;
                case 1:
                    Assert.Equal(model.Remove(i), queue.Remove(items[i]));
                    break;
                default:
                {
                    var expected = model.Where(kv => kv.Value.Due <= time)
                        .OrderBy(kv => kv.Value.Due).ThenBy(kv => kv.Value.Rank).ThenBy(kv => kv.Value.Seq)
                        .Select(kv => kv.Key).ToList();
                    var actual = new List<int>();
                    while (queue.TryDequeueDue(time, out var entry))
                    {
                        actual.Add(((Item)entry).Id);
                    }

                    Assert.Equal(expected, actual);
                    expected.ForEach(id => model.Remove(id));
                    break;
                }
            }

            Assert.Equal(model.Count, queue.Count);
            Assert.Equal(model.Count > 0, queue.TryPeek(out long earliest));
            if (model.Count > 0)
            {
                Assert.Equal(model.Values.Min(v => v.Due), earliest);
            }

            foreach (var item in items)
            {
                Assert.Equal(model.ContainsKey(item.Id), item.IsScheduled);
                if (item.IsScheduled)
                {
                    Assert.Equal(model[item.Id].Due, queue.DueOf(item));
                }
            }
        }
    }

    [Property(MaxTest = 30)]
    public void Large_queues_through_growth_removal_and_shrinking_come_out_in_deadline_order(int seed)
    {
        var random = new Random(seed);
        var queue = new DeadlineQueue();
        var items = Enumerable.Range(0, 3000).Select(i => new Item(i)).ToArray();
        var due = new long[items.Length];
        foreach (var item in items)
        {
            due[item.Id] = random.Next(0, 1000);
            queue.Schedule(item, due[item.Id], 0);
        }

        var removed = items.Where(i => i.Id % 3 == 0).ToList();
        removed.ForEach(i => Assert.True(queue.Remove(i)));
        foreach (var item in items.Where(i => i.Id % 3 == 1))
        {
            due[item.Id] = random.Next(0, 1000);
            queue.Schedule(item, due[item.Id], 0);
        }

        long last = long.MinValue;
        int count = 0;
        while (queue.TryDequeueDue(long.MaxValue, out var entry))
        {
            long d = due[((Item)entry).Id];
            Assert.True(d >= last);
            Assert.NotEqual(0, ((Item)entry).Id % 3);
            last = d;
            count++;
        }

        Assert.Equal(2000, count);
        Assert.All(items, i => Assert.False(i.IsScheduled));
    }

    [Fact]
    public void Rescheduling_the_same_entry_never_grows_the_heap()
    {
        var queue = new DeadlineQueue();
        var item = new Item(0);
        var other = new Item(1);
        queue.Schedule(other, 500_000, 0);
        for (int i = 0; i < 100_000; i++)
        {
            queue.Schedule(item, 1_000_000 - i, 0); // a Refresh flood
        }

        Assert.Equal(2, queue.Count);
        Assert.True(queue.TryPeek(out long due));
        Assert.Equal(500_000, due);
        Assert.Equal(900_001, queue.DueOf(item));
    }

    [Fact]
    public void Equal_deadlines_come_out_by_rank_then_in_scheduling_order()
    {
        var queue = new DeadlineQueue();
        var items = Enumerable.Range(0, 4).Select(i => new Item(i)).ToArray();
        queue.Schedule(items[0], 10, 2);
        queue.Schedule(items[1], 10, 0);
        queue.Schedule(items[2], 10, 2);
        queue.Schedule(items[3], 10, 1);
        Assert.False(queue.TryDequeueDue(9, out _));
        var order = new List<int>();
        while (queue.TryDequeueDue(10, out var entry))
        {
            order.Add(((Item)entry).Id);
        }

        Assert.Equal([1, 3, 0, 2], order);
    }

    [Fact]
    public void Entry_of_another_queue_and_bad_rank_are_refused()
    {
        var a = new DeadlineQueue();
        var b = new DeadlineQueue();
        var item = new Item(0);
        a.Schedule(item, 1, 0);
        b.Schedule(new Item(1), 1, 0);
        b.Schedule(new Item(2), 2, 0);
        Assert.Throws<InvalidOperationException>(() => b.Remove(item));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Schedule(new Item(3), 1, DeadlineQueue.MaxRank + 1));
    }
}
