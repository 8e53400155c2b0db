using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>The nonce table: 100 uses each, and (a deliberate fix of upstream) a cap on how many are kept.</summary>
public class NonceStoreTests
{
    [Fact]
    public void Issuing_past_the_cap_forgets_the_oldest_nonce_where_upstream_keeps_every_one()
    {
        var store = new NonceStore(capacity: 3);
        var issued = Enumerable.Range(1, 5).Select(i => new Guid(i, 0, 0, new byte[8])).ToArray();
        foreach (var nonce in issued)
        {
            store.Add(nonce);
        }

        Assert.Equal(3, store.Count);
        Assert.Equal(2, store.Evicted);
        Assert.Equal(NonceUse.Unknown, store.Use(issued[0])); // the client gets 438 and retries with a fresh nonce
        Assert.Equal(NonceUse.Unknown, store.Use(issued[1]));
        Assert.All(issued[2..], n => Assert.Equal(NonceUse.Ok, store.Use(n)));
    }

    [Fact]
    public void Used_up_nonces_make_room_without_evicting_live_ones()
    {
        var store = new NonceStore(capacity: 2);
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        store.Add(a);
        store.Add(b);
        for (int i = 0; i <= NonceStore.UsesPerNonce; i++)
        {
            store.Use(a); // the 101st use removes it
        }

        store.Add(Guid.NewGuid());
        Assert.Equal(0, store.Evicted);
        Assert.Equal(NonceUse.Ok, store.Use(b));
    }

    /// <summary>Operations: 0 = issue a fresh nonce; 1..n = use the k-th most recently issued one.</summary>
    public static class Generators
    {
        public static Arbitrary<(int Capacity, int[] Ops)> Scripts() =>
            (from capacity in Gen.Choose(1, 6)
             from ops in Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0)), (3, Gen.Choose(1, 8))))
             select (capacity, ops)).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 300)]
    public void Never_more_than_capacity_and_the_newest_capacity_nonces_keep_their_100_uses((int Capacity, int[] Ops) script)
    {
        var store = new NonceStore(script.Capacity);
        var issued = new List<Guid>();
        var uses = new Dictionary<Guid, int>();
        foreach (int op in script.Ops)
        {
            if (op == 0 || issued.Count == 0)
            {
                var nonce = Guid.NewGuid();
                store.Add(nonce);
                issued.Add(nonce);
                uses[nonce] = 0;
            }
            else if (op <= issued.Count)
            {
                var nonce = issued[^op];
                var result = store.Use(nonce);
                uses[nonce]++;
                bool recent = op <= script.Capacity;
                if (recent && uses[nonce] <= NonceStore.UsesPerNonce)
                {
                    Assert.Equal(NonceUse.Ok, result);
                }
                else if (uses[nonce] > NonceStore.UsesPerNonce + 1)
                {
                    Assert.NotEqual(NonceUse.Ok, result);
                }
            }

            Assert.True(store.Count <= script.Capacity, $"{store.Count} live nonces, capacity {script.Capacity}");
        }
    }
}
