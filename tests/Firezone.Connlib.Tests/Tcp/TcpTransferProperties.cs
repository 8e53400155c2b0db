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

    /// <summary>
    /// The bound: every case finishes (both streams delivered, both sides' Closed event) within 5 simulated minutes.
    /// Measured at the worst impairment generated (30 % loss, 20 % duplication, 50 % reordering, 80 ms delay, 40 KB each
    /// way, 400 seeds): median 13 s, p99 33 s, maximum 43.4 s.
    /// </summary>
    internal static readonly TimeSpan Bound = TimeSpan.FromMinutes(5);

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

    /// <summary>
    /// Flow control with a 3000-byte receive buffer: over loss and reordering, no segment ever reaches past the right
    /// edge (ACK + window) the receiver has advertised so far, except a one-byte zero-window probe.
    /// </summary>
    [Property(MaxTest = 100)]
    public Property Senders_never_pass_the_advertised_right_edge_and_small_windows_still_deliver_everything()
    {
        var gen =
            from seed in Gen.Choose(0, int.MaxValue - 1)
            from lossPercent in Gen.Choose(0, 20)
            from sizeA in Gen.Choose(0, 30_000)
            from sizeB in Gen.Choose(0, 30_000)
            select (seed, lossPercent, sizeA, sizeB);
        return Prop.ForAll(gen.ToArbitrary(), c => RightEdgeHoldsAndEverythingArrives(c.seed, c.lossPercent, c.sizeA, c.sizeB));
    }

    /// <summary>
    /// The case that found a sender passing the right edge by 520 bytes: an ACK that advanced SND.UNA arrived on a
    /// retransmitted segment of the peer (old SEQ), so its window was ignored while the edge moved with SND.UNA.
    /// </summary>
    [Fact]
    public void An_ack_on_a_retransmitted_segment_updates_the_window_so_the_sender_stays_inside_the_advertised_edge() =>
        RightEdgeHoldsAndEverythingArrives(1425067484, 10, 26987, 11176);

    private static void RightEdgeHoldsAndEverythingArrives(int seed, int lossPercent, int sizeA, int sizeB)
    {
        var options = LossyOptions with { ReceiveBufferSize = 3000 };
        var link = new SimulatedLink(seed, new LinkProfile(lossPercent / 100.0, 0.05, 0.3), options);
        uint? edgeOfA = null, edgeOfB = null; // highest ACK + window each side advertised
        link.Tap = (packet, toB) =>
        {
            Assert.Equal(Firezone.Tun.Packets.IpParseError.None, Firezone.Tun.Packets.IpPacket.TryParse(packet, out var ip));
            Assert.True(ip.TryGetTcp(out var t));
            bool syn = (t.Flags & Firezone.Tun.Packets.TcpSegment.FlagSyn) != 0;
            if ((t.Flags & Firezone.Tun.Packets.TcpSegment.FlagAck) != 0)
            {
                uint edge = t.AcknowledgementNumber + t.Window;
                ref uint? mine = ref (toB ? ref edgeOfA : ref edgeOfB);
                if (mine is not { } m || (int)(edge - m) > 0) mine = edge;
            }
            uint? theirs = toB ? edgeOfB : edgeOfA;
            if (!syn && theirs is { } e && t.Payload.Length > 0)
            {
                uint end = t.SequenceNumber + (uint)t.Payload.Length;
                Assert.True((int)(end - e) <= 1, $"segment ends {end - e} bytes past the advertised edge");
            }
            return true;
        };
        var rng = new Random(seed);
        byte[] a = new byte[sizeA], b = new byte[sizeB];
        rng.NextBytes(a);
        rng.NextBytes(b);
        var x = new StreamExchange(link, a, b);
        Assert.True(x.Run(Bound), $"not finished by {link.Now}");
        Assert.Equal(b, x.ReceivedByA);
        Assert.Equal(a, x.ReceivedByB);
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
