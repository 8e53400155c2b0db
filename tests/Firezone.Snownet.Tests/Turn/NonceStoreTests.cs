using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// The nonce table: 100 uses each (upstream), and two deliberate fixes of upstream: a cap on how many are kept and a
/// lifetime of one hour from issue.
/// </summary>
public class NonceStoreTests
{
    private static readonly long Hour = TimeSpan.FromHours(1).Ticks;

    private static Guid G(int i) => new(i, 0, 0, new byte[8]);

    private static void ExpireDue(DeadlineQueue queue, NonceStore store, long now)
    {
        while (queue.TryDequeueDue(now, out var entry))
        {
            store.Expire((NonceStore.Entry)entry);
        }
    }

    [Fact]
    public void Issuing_past_the_cap_forgets_the_oldest_nonce_where_upstream_keeps_every_one()
    {
        var queue = new DeadlineQueue();
        var store = new NonceStore(queue, capacity: 3);
        var issued = Enumerable.Range(1, 5).Select(G).ToArray();
        foreach (var nonce in issued)
        {
            store.Add(nonce, 0);
        }

        Assert.Equal(3, store.Count);
        Assert.Equal(3, queue.Count);
        Assert.Equal(2, store.Evicted);
        Assert.Equal(NonceUse.Unknown, store.Use(issued[0], 0)); // the client gets 438 and retries with a fresh nonce
        Assert.Equal(NonceUse.Unknown, store.Use(issued[1], 0));
        Assert.All(issued[2..], n => Assert.Equal(NonceUse.Ok, store.Use(n, 0)));
    }

    [Fact]
    public void Used_up_nonces_make_room_without_evicting_live_ones()
    {
        var queue = new DeadlineQueue();
        var store = new NonceStore(queue, capacity: 2);
        var a = G(1);
        var b = G(2);
        store.Add(a, 0);
        store.Add(b, 0);
        for (int i = 0; i < NonceStore.UsesPerNonce; i++)
        {
            Assert.Equal(NonceUse.Ok, store.Use(a, 0));
        }

        Assert.Equal(NonceUse.UsedUp, store.Use(a, 0)); // the 101st use fails and removes it
        Assert.Equal(1, queue.Count);
        store.Add(G(3), 0);
        Assert.Equal(0, store.Evicted);
        Assert.Equal(NonceUse.Ok, store.Use(b, 0));
    }

    [Fact]
    public void Nonce_expires_one_hour_after_issue_where_upstream_keeps_it_forever()
    {
        var queue = new DeadlineQueue();
        var store = new NonceStore(queue);
        long issued = TimeSpan.FromDays(1).Ticks;
        store.Add(G(1), issued);
        Assert.True(queue.TryPeek(out long due));
        Assert.Equal(issued + Hour, due);

        ExpireDue(queue, store, issued + Hour - 1);
        Assert.Equal(NonceUse.Ok, store.Use(G(1), issued + Hour - 1));

        ExpireDue(queue, store, issued + Hour);
        Assert.Equal(0, store.Count);
        Assert.Equal(0, queue.Count);
        Assert.Equal(1, store.Expired);
        Assert.Equal(NonceUse.Unknown, store.Use(G(1), issued + Hour));
    }

    [Fact]
    public void Nonce_past_its_deadline_is_refused_even_before_the_timeout_runs()
    {
        var queue = new DeadlineQueue();
        var store = new NonceStore(queue, lifetime: TimeSpan.FromMinutes(5));
        store.Add(G(1), 0);
        Assert.Equal(NonceUse.Unknown, store.Use(G(1), TimeSpan.FromMinutes(5).Ticks));
        Assert.Equal(0, store.Count);
        Assert.Equal(0, queue.Count); // removed from the heap as well, no stale entry left
    }

    [Fact]
    public void When_the_clock_steps_back_a_new_nonce_expires_no_earlier_than_the_previous_one()
    {
        var queue = new DeadlineQueue();
        var store = new NonceStore(queue, capacity: 2);
        store.Add(G(1), 10 * Hour);
        store.Add(G(2), 2 * Hour); // clock stepped back: still due at 11 h, so issue order stays expiry order
        Assert.True(queue.TryPeek(out long due));
        Assert.Equal(11 * Hour, due);
        store.Add(G(3), 2 * Hour);
        Assert.Equal(NonceUse.Unknown, store.Use(G(1), 2 * Hour)); // the earliest-expiring one was evicted
        Assert.Equal(NonceUse.Ok, store.Use(G(2), 2 * Hour));
    }

    /// <summary>Operations: (0, _) issue; (1, k) use the k-th most recently issued nonce; (2, d) move the clock by d minutes (may go back).</summary>
    public static class Generators
    {
        public static Arbitrary<(int Capacity, (int Kind, int Arg)[] Ops)> Scripts() =>
            (from capacity in Gen.Choose(1, 6)
             from ops in Gen.ArrayOf(Gen.Frequency(
                 (2, Gen.Constant((0, 0))),
                 (6, Gen.Choose(1, 8).Select(k => (1, k))),
                 (2, Gen.Choose(-20, 70).Select(d => (2, d)))))
             select (capacity, ops)).ToArbitrary();
    }

    private sealed class ModelNonce(Guid value, long due)
    {
        public Guid Value { get; } = value;

        public long Due { get; } = due;

        public int Uses { get; set; }
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 300)]
    public void Store_agrees_with_a_reference_model_of_uses_cap_and_lifetime((int Capacity, (int Kind, int Arg)[] Ops) script)
    {
        var queue = new DeadlineQueue();
        var store = new NonceStore(queue, script.Capacity);
        var live = new List<ModelNonce>(); // in issue order
        var issued = new List<Guid>();
        long now = Hour, lastDue = long.MinValue;
        int next = 1;
        foreach (var (kind, arg) in script.Ops)
        {
            switch (kind)
            {
                case 0:
                {
                    var nonce = G(next++);
                    store.Add(nonce, now);
                    if (live.Count >= script.Capacity)
                    {
                        // Evict the earliest-expiring (ties: the oldest).
                        var victim = live.OrderBy(n => n.Due).First();
                        live.Remove(victim);
                    }

                    lastDue = Math.Max(now + Hour, lastDue);
                    live.Add(new ModelNonce(nonce, lastDue));
                    issued.Add(nonce);
                    break;
                }

                case 1 when arg <= issued.Count:
                {
                    var nonce = issued[^arg];
                    var model = live.Find(n => n.Value == nonce);
                    NonceUse expected;
                    if (model is null || model.Due <= now)
                    {
                        expected = NonceUse.Unknown;
                        live.Remove(model!);
                    }
                    else if (model.Uses == NonceStore.UsesPerNonce)
                    {
                        expected = NonceUse.UsedUp;
                        live.Remove(model);
                    }
                    else
                    {
                        expected = NonceUse.Ok;
                        model.Uses++;
                    }

                    Assert.Equal(expected, store.Use(nonce, now));
                    break;
                }

                case 2:
                    now += TimeSpan.FromMinutes(arg).Ticks;
                    ExpireDue(queue, store, now);
                    live.RemoveAll(n => n.Due <= now);
                    break;
            }

            Assert.True(store.Count <= script.Capacity, $"{store.Count} live nonces, capacity {script.Capacity}");
            Assert.Equal(live.Count, store.Count);
            Assert.Equal(store.Count, queue.Count);
        }
    }
}
