using System.Net;
using Firezone.Connlib.Tcp;
using Firezone.Tun.Packets;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Firezone.Connlib.Tests.Tcp.RawPeer;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>Whatever arrives, the engine neither throws nor grows a table past its cap.</summary>
public sealed class TcpRobustnessProperties
{
    /// <summary>Real segments of a short exchange (handshake, data both ways, FINs), captured once as mutation seeds.</summary>
    private static readonly List<(byte[] Packet, bool ToB)> Corpus = CaptureCorpus();

    private static List<(byte[], bool)> CaptureCorpus()
    {
        var list = new List<(byte[], bool)>();
        var link = new SimulatedLink(3, new LinkProfile());
        link.Tap = (p, toB) => { list.Add((p.ToArray(), toB)); return true; };
        var x = new StreamExchange(link, new byte[3000], new byte[2000]);
        x.Run(TimeSpan.FromMinutes(1));
        return list;
    }

    /// <summary>An engine with a listener and one established connection (as B of a link), to throw segments at.</summary>
    private static (SimulatedLink Link, TcpSocketHandle Server) Established(int seed)
    {
        var link = new SimulatedLink(seed, new LinkProfile(), new TcpOptions { MaxConnections = 16 });
        link.B.Listen(link.EndpointB(53), 4);
        link.A.Connect(link.EndpointA(0), link.EndpointB(53), link.Now);
        link.DeliverAll();
        TcpSocketHandle? h = null;
        while (link.B.TryPollEvent(out var e)) if (e.Kind == TcpEventKind.Accepted) h = e.Handle;
        link.B.Send(h!.Value, new byte[5000], out _);
        return (link, h!.Value);
    }

    [Property(MaxTest = 10_000)]
    public void Random_bytes_and_mutated_real_segments_never_throw_and_keep_every_table_within_its_cap(int seed, byte[] garbage, byte mutations, bool fixChecksums)
    {
        var (link, server) = Established(seed & 0xFF);
        var rng = new Random(seed);
        link.B.HandleInput(garbage ?? [], link.Now);
        var (packet, _) = Corpus[rng.Next(Corpus.Count)];
        byte[] m = packet.ToArray();
        for (int i = 0; i <= mutations % 8; i++) m[rng.Next(m.Length)] = (byte)rng.Next(256);
        if (fixChecksums && IpPacket.TryParse(m, out IpPacket ip) == IpParseError.None) ip.RecomputeChecksums();
        // Mutated segments aimed at the listener's tuple and at the established connection's tuple.
        link.B.HandleInput(m, link.Now);
        if (m.Length >= 40 && link.B.TryGetTuple(server, out var tuple) && !tuple.Local.IsIPv6 && (m[0] >> 4) == 4 && (m[0] & 0xF) == 5)
        {
            tuple.Remote.WriteAddress(m.AsSpan(12));
            tuple.Local.WriteAddress(m.AsSpan(16));
            m[20] = (byte)(tuple.Remote.Port >> 8); m[21] = (byte)tuple.Remote.Port;
            m[22] = (byte)(tuple.Local.Port >> 8); m[23] = (byte)tuple.Local.Port;
            if (IpPacket.TryParse(m, out IpPacket ip2) == IpParseError.None) ip2.RecomputeChecksums();
            link.B.HandleInput(m, link.Now);
        }
        for (int i = 0; i < 20 && link.Step(); i++) { while (link.A.TryPollEvent(out _)) { } while (link.B.TryPollEvent(out _)) { } }
        Assert.InRange(link.B.ConnectionCount, 0, 16);
        Assert.InRange(link.B.PendingResetCount, 0, link.B.Options.MaxPendingResets);
        Assert.InRange(link.B.PendingEventCount, 0, 16 * 8);
        var c = link.B.GetConnection(server);
        if (c is not null) Assert.InRange(c.OutOfOrderRanges, 0, link.B.Options.MaxReassemblyRanges);
    }

    [Property(MaxTest = 200)]
    public void A_syn_flood_from_random_sources_never_grows_the_table_past_its_caps_and_drains_after_the_syn_ack_retries(int seed, ushort count)
    {
        var options = new TcpOptions { MaxConnections = 64, SynAckRetries = 2 };
        var p = new RawPeer(options, seed);
        p.Set.Listen(Engine(53), 10);
        p.Set.Listen(Engine(54), 100); // a listener cap above the table's: the table cap wins
        var rng = new Random(seed);
        int n = count % 3000;
        for (int i = 0; i < n; i++)
        {
            var from = new IPAddress([198, 18, (byte)rng.Next(256), (byte)rng.Next(1, 255)]);
            p.Deliver((ushort)rng.Next(1, 65536), (ushort)(53 + (i & 1)), (uint)rng.Next(), 0, Syn, from: from);
            if (i % 50 == 0) p.Drain();
            Assert.InRange(p.Set.ConnectionCount, 0, 64);
            Assert.InRange(p.Set.PendingResetCount, 0, options.MaxPendingResets);
        }
        p.Drain();
        Assert.Empty(p.Events()); // nothing was ever accepted
        for (int i = 0; i < 100 && p.Set.PollTimeout() is { } t; i++) { p.Now = t; p.Set.HandleTimeout(t); p.Drain(); }
        Assert.Equal(0, p.Set.ConnectionCount);
        Assert.Equal(0, p.Set.HandleCount);
    }

    /// <summary>RFC 6298 §2 against a floating-point reference of the same formulas, including §5.5 backoff.</summary>
    [Property(MaxTest = 500)]
    public void Rto_follows_rfc6298_srtt_rttvar_formulas_bounds_and_backoff(ushort[] samplesMs, byte backoffs)
    {
        TimeSpan min = TimeSpan.FromMilliseconds(200), max = TimeSpan.FromSeconds(60);
        var rto = new RetransmissionTimeout(TimeSpan.FromSeconds(1), min, max);
        double srtt = 0, rttvar = 0, expected = 1000;
        bool first = true;
        foreach (ushort s in samplesMs ?? [])
        {
            double r = s;
            if (first) { srtt = r; rttvar = r / 2; first = false; }
            else { rttvar = 0.75 * rttvar + 0.25 * Math.Abs(srtt - r); srtt = 0.875 * srtt + 0.125 * r; }
            expected = Math.Clamp(srtt + Math.Max(1, 4 * rttvar), 200, 60_000);
            rto.Sample(TimeSpan.FromMilliseconds(r));
            Assert.InRange(rto.Current.TotalMilliseconds, expected - 0.01, expected + 0.01);
        }
        for (int i = 0; i < backoffs % 12; i++)
        {
            rto.Backoff();
            expected = Math.Min(expected * 2, 60_000);
            Assert.InRange(rto.Current.TotalMilliseconds, expected - 0.1, expected + 0.1);
        }
    }

    [Fact]
    public void Bulk_transfer_in_steady_state_allocates_nothing_per_packet()
    {
        var rng = new Random(1);
        var a = new TcpSocketSet(new TcpOptions(), b => rng.NextBytes(b));
        var b = new TcpSocketSet(new TcpOptions(), b2 => rng.NextBytes(b2));
        var ea = TcpEndpoint.From(IPAddress.Parse("198.18.0.1"), 0);
        var eb = TcpEndpoint.From(IPAddress.Parse("198.18.0.2"), 53);
        b.Listen(eb, 1);
        TcpSocketHandle ha = a.Connect(ea, eb, TimeSpan.Zero)!.Value;
        byte[] buf = new byte[1400], chunk = new byte[8192], sink = new byte[65536];
        TcpSocketHandle hb = default;
        long packets = 0;
        void Round(TimeSpan now)
        {
            a.Send(ha, chunk, out _);
            int n;
            while ((n = a.PollTransmit(buf)) > 0) { b.HandleInput(buf.AsSpan(0, n), now); packets++; }
            while ((n = b.PollTransmit(buf)) > 0) { a.HandleInput(buf.AsSpan(0, n), now); packets++; }
            while (a.TryPollEvent(out _)) { }
            while (b.TryPollEvent(out var e)) if (e.Kind == TcpEventKind.Accepted) hb = e.Handle;
            b.Receive(hb, sink, out _);
            a.HandleTimeout(now);
            b.HandleTimeout(now);
            _ = a.PollTimeout();
        }
        for (int i = 0; i < 200; i++) Round(TimeSpan.FromMilliseconds(i));
        long before = GC.GetAllocatedBytesForCurrentThread();
        packets = 0;
        for (int i = 200; i < 2200; i++) Round(TimeSpan.FromMilliseconds(i));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(packets > 10_000, $"{packets} packets");
        Assert.Equal(0, allocated);
    }
}
