using Firezone.Connlib.Tcp;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>Two engines over an impaired simulated link deliver both streams intact and close cleanly.</summary>
public sealed class TcpTransferProperties
{
    /// <summary>
    /// Retries and TIME-WAIT raised for 30 % loss each way (a round trip then fails half the time): 40 SYN/data retries,
    /// RTO at most 4 s, TIME-WAIT 30 s (longer than the peer's whole FIN retransmission tail at that loss).
    /// </summary>
    internal static readonly TcpOptions LossyOptions = new()
    {
        SynRetries = 40, SynAckRetries = 40, DataRetries = 40, MaxRto = TimeSpan.FromSeconds(4), TimeWait = TimeSpan.FromSeconds(30),
        IdleTimeout = null,
    };

    /// <summary>The bound: every case finishes within 30 simulated minutes.</summary>
    internal static readonly TimeSpan Bound = TimeSpan.FromMinutes(30);

    [Property(MaxTest = 200)]
    public Property Streams_arrive_intact_in_order_both_ways_and_both_sides_close_cleanly_over_loss_reordering_duplication_and_delay()
    {
        var gen =
            from seed in Gen.Choose(0, int.MaxValue - 1)
            from lossPercent in Gen.Choose(0, 30)
            from dupPercent in Gen.Choose(0, 20)
            from reorderPercent in Gen.Choose(0, 50)
            from delayMs in Gen.Choose(1, 80)
            from sizeA in Gen.Choose(0, 40_000)
            from sizeB in Gen.Choose(0, 40_000)
            from v6 in Gen.Elements(false, true)
            select (seed, lossPercent, dupPercent, reorderPercent, delayMs, sizeA, sizeB, v6);
        return Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var profile = new LinkProfile(c.lossPercent / 100.0, c.dupPercent / 100.0, c.reorderPercent / 100.0, TimeSpan.FromMilliseconds(c.delayMs));
            var link = new SimulatedLink(c.seed, profile, LossyOptions, c.v6);
            var rng = new Random(c.seed);
            byte[] a = new byte[c.sizeA], b = new byte[c.sizeB];
            rng.NextBytes(a);
            rng.NextBytes(b);
            var x = new StreamExchange(link, a, b);
            bool done = x.Run(Bound);
            Assert.True(done, $"not finished by {link.Now} (A: {x.EndOfA}, {x.ReceivedByA.Length}/{b.Length}; B: {x.EndOfB}, {x.ReceivedByB.Length}/{a.Length})");
            Assert.Equal(b, x.ReceivedByA);
            Assert.Equal(a, x.ReceivedByB);
            Assert.Equal(TcpEventKind.Closed, x.EndOfA);
            Assert.Equal(TcpEventKind.Closed, x.EndOfB);
        });
    }

    [Fact]
    public void A_clean_link_transfers_a_few_hundred_kilobytes_each_way()
    {
        var link = new SimulatedLink(7, new LinkProfile());
        var rng = new Random(7);
        byte[] a = new byte[300_000], b = new byte[200_000];
        rng.NextBytes(a);
        rng.NextBytes(b);
        var x = new StreamExchange(link, a, b);
        Assert.True(x.Run(TimeSpan.FromMinutes(5)));
        Assert.Equal(b, x.ReceivedByA);
        Assert.Equal(a, x.ReceivedByB);
        Assert.Equal(TcpEventKind.Closed, x.EndOfA);
        Assert.Equal(TcpEventKind.Closed, x.EndOfB);
    }
}
