using Firezone.Connlib.Tcp;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>The receive/send building blocks against plain reference models.</summary>
public sealed class TcpBufferProperties
{
    /// <summary>ByteRing against a List&lt;byte&gt;: writes, writes ahead + commits, peeks, reads and discards, across wrap-around.</summary>
    [Property(MaxTest = 500)]
    public void Byte_ring_matches_a_list_model_including_bytes_written_ahead(byte capacitySeed, int seed, byte steps)
    {
        int capacity = 1 + capacitySeed % 64;
        var ring = new ByteRing(new byte[capacity + 7], capacity);
        var model = new List<byte>();
        var ahead = new Dictionary<int, byte>(); // offset past Count -> byte written ahead
        var rng = new Random(seed);
        for (int s = 0; s < steps; s++)
        {
            switch (rng.Next(5))
            {
                case 0:
                {
                    byte[] data = new byte[rng.Next(0, capacity + 3)];
                    rng.NextBytes(data);
                    int n = ring.Write(data);
                    Assert.Equal(Math.Min(data.Length, capacity - model.Count), n);
                    model.AddRange(data.Take(n));
                    ahead.Clear(); // Write overwrites whatever sat ahead
                    break;
                }
                case 1:
                {
                    int free = capacity - model.Count;
                    if (free == 0) break;
                    int off = rng.Next(free), len = rng.Next(0, free - off + 1);
                    byte[] data = new byte[len];
                    rng.NextBytes(data);
                    ring.WriteAt(off, data);
                    for (int i = 0; i < len; i++) ahead[off + i] = data[i];
                    break;
                }
                case 2:
                {
                    int contiguous = 0;
                    while (ahead.ContainsKey(contiguous)) contiguous++;
                    int n = rng.Next(0, contiguous + 1);
                    ring.Commit(n);
                    for (int i = 0; i < n; i++) model.Add(ahead[i]);
                    ahead = ahead.Where(e => e.Key >= n).ToDictionary(e => e.Key - n, e => e.Value);
                    break;
                }
                case 3:
                {
                    byte[] dst = new byte[rng.Next(0, capacity + 3)];
                    int n = ring.Read(dst);
                    Assert.Equal(Math.Min(dst.Length, model.Count), n);
                    Assert.Equal(model.Take(n), dst.Take(n));
                    model.RemoveRange(0, n);
                    break;
                }
                case 4:
                {
                    if (model.Count == 0) break;
                    int off = rng.Next(model.Count), len = rng.Next(0, model.Count - off + 1);
                    byte[] dst = new byte[len];
                    ring.Peek(off, dst);
                    Assert.Equal(model.Skip(off).Take(len), dst);
                    break;
                }
            }
            Assert.Equal(model.Count, ring.Count);
            Assert.Equal(capacity - model.Count, ring.Free);
        }
    }

    /// <summary>ReassemblyRanges against a bitmap of received offsets: sorted disjoint merged ranges, the cap, TakeFront.</summary>
    [Property(MaxTest = 500)]
    public void Reassembly_ranges_match_a_bitmap_model_and_never_exceed_their_cap(int seed, byte maxSeed, byte steps)
    {
        int max = 1 + maxSeed % 6;
        var ranges = new ReassemblyRanges(max);
        var bits = new bool[400];
        var rng = new Random(seed);
        for (int s = 0; s < steps; s++)
        {
            if (rng.Next(4) == 0)
            {
                int front = ranges.TakeFront();
                int expected = 0;
                while (expected < bits.Length && bits[expected]) expected++;
                Assert.Equal(expected, front);
                bits = [.. bits.Skip(front), .. new bool[front]];
            }
            else
            {
                int start = rng.Next(0, 300), len = rng.Next(0, 60);
                int countBefore = ModelRanges(bits).Count;
                var withNew = (bool[])bits.Clone();
                for (int i = start; i < start + len; i++) withNew[i] = true;
                bool needsNewRange = ModelRanges(withNew).Count > countBefore;
                bool stored = ranges.Add(start, len);
                if (stored) bits = withNew;
                // Refused only if it needs a range of its own while the cap is reached; data at offset 0 (in order) always fits.
                Assert.Equal(!(needsNewRange && countBefore >= max && start != 0), stored);
                if (start == 0) Assert.True(stored);
            }
            var model = ModelRanges(bits);
            Assert.Equal(model.Count, ranges.Count);
            Assert.InRange(ranges.Count, 0, max + 1);
            Assert.Equal(model.Count == 0 ? 0 : model[^1].End, ranges.HighestEnd);
        }
    }

    private static List<(int Start, int End)> ModelRanges(bool[] bits)
    {
        var list = new List<(int, int)>();
        for (int i = 0; i < bits.Length; i++)
        {
            if (!bits[i]) continue;
            int j = i;
            while (j < bits.Length && bits[j]) j++;
            list.Add((i, j));
            i = j;
        }
        return list;
    }
}
