using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Io;

namespace Firezone.Tun.Tests.Io;

public class GsoPlannerProperties
{
    private static readonly Arbitrary<(int[] Flows, int[] Lengths)> Batches = Gen.Sized(size =>
        from n in Gen.Choose(0, Math.Max(1, size * 3))
        from flows in Gen.ArrayOf(Gen.Choose(0, 3), n)
        from lengths in Gen.ArrayOf(Gen.Frequency((4, Gen.Constant(1200)), (1, Gen.Choose(0, 1300)), (1, Gen.Constant(60))), n)
        select (flows, lengths)).ToArbitrary();

    private static List<int[]> Messages((int[] Flows, int[] Lengths) batch, bool gso, out int[] segments)
    {
        int n = batch.Flows.Length;
        var order = new int[n];
        var ends = new int[n];
        segments = new int[n];
        int count = GsoPlanner.Plan(batch.Flows, batch.Lengths, gso, order, ends, segments);
        var result = new List<int[]>();
        int start = 0;
        for (int m = 0; m < count; m++)
        {
            result.Add(order[start..ends[m]]);
            start = ends[m];
        }

        Array.Resize(ref segments, count);
        return result;
    }

    [Property(MaxTest = 300)]
    public Property Every_datagram_is_sent_once_and_each_flow_keeps_its_order() => Prop.ForAll(Batches, batch =>
    {
        var messages = Messages(batch, gso: true, out _);
        var all = messages.SelectMany(m => m).ToArray();
        Assert.Equal(Enumerable.Range(0, batch.Flows.Length), all.Order());
        foreach (int flow in batch.Flows.Distinct())
        {
            var sent = all.Where(i => batch.Flows[i] == flow).ToArray();
            Assert.Equal(sent.Order(), sent);
        }

        Assert.Equal(messages.Select(m => m[0]).Order(), messages.Select(m => m[0]));
    });

    [Property(MaxTest = 300)]
    public Property Each_message_is_one_flow_cut_at_one_segment_size_within_the_kernel_limits() => Prop.ForAll(Batches, batch =>
    {
        var messages = Messages(batch, gso: true, out var segments);
        for (int m = 0; m < messages.Count; m++)
        {
            var message = messages[m];
            Assert.Single(message.Select(i => batch.Flows[i]).Distinct());
            if (message.Length == 1)
            {
                Assert.Equal(0, segments[m]);
                continue;
            }

            int segment = segments[m];
            Assert.Equal(batch.Lengths[message[0]], segment);
            Assert.All(message[..^1], i => Assert.Equal(segment, batch.Lengths[i]));
            Assert.InRange(batch.Lengths[message[^1]], 1, segment);
            Assert.True(message.Length <= UdpSendBatch.MaxSegments);
            Assert.True(message.Sum(i => batch.Lengths[i]) <= UdpSendBatch.MaxGsoBytes);
        }
    });

    [Property(MaxTest = 100)]
    public Property Without_gso_every_datagram_is_its_own_message() => Prop.ForAll(Batches, batch =>
    {
        var messages = Messages(batch, gso: false, out var segments);
        Assert.Equal(Enumerable.Range(0, batch.Flows.Length), messages.Select(m => Assert.Single(m)));
        Assert.All(segments, s => Assert.Equal(0, s));
    });

    [Fact]
    public void A_flood_of_one_flow_becomes_full_messages_of_64_segments()
    {
        int[] flows = new int[130];
        int[] lengths = Enumerable.Repeat(500, 130).ToArray();
        var (order, ends, segments) = (new int[130], new int[130], new int[130]);
        int count = GsoPlanner.Plan(flows, lengths, true, order, ends, segments);
        Assert.Equal(3, count);
        Assert.Equal([64, 128, 130], ends[..3]);
        Assert.Equal([500, 500, 500], segments[..3]);
    }
}
