using Firezone.Connlib.Tcp;
using static Firezone.Connlib.Tests.Tcp.RawPeer;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>One test per RFC 9293 / 5961 / 6298 rule the engine implements, against a hand-driven peer.</summary>
public sealed class TcpRfcRuleTests
{
    [Fact]
    public void Rfc9293_3_10_7_1_segment_to_a_closed_port_gets_rst_with_seq_from_its_ack_or_ack_covering_it()
    {
        var p = new RawPeer();
        Assert.Equal(TcpInputResult.NoSocket, p.Deliver(40000, 80, 500, 777, Ack, payload: new byte[10]));
        Sent r = Assert.Single(p.Drain());
        Assert.True(r.Rst && !r.HasAck);
        Assert.Equal(777u, r.Seq);

        p.Deliver(40000, 80, 500, 0, Syn);
        r = Assert.Single(p.Drain());
        Assert.True(r.Rst && r.HasAck);
        Assert.Equal(501u, r.Ack); // SEG.SEQ + SEG.LEN (the SYN counts one)

        p.Deliver(40000, 80, 500, 0, Rst);
        Assert.Empty(p.Drain()); // never answer a RST
    }

    [Fact]
    public void Rfc9293_3_10_7_2_listener_answers_a_bare_ack_with_rst_and_a_syn_with_syn_ack_carrying_our_mss()
    {
        var p = new RawPeer();
        p.Set.Listen(Engine(53), 10);
        p.Deliver(40000, 53, 1, 99, Ack);
        Sent r = Assert.Single(p.Drain());
        Assert.True(r.Rst);
        Assert.Equal(99u, r.Seq);

        p.Deliver(40000, 53, 1000, 0, Syn, mss: 1000);
        Sent sa = Assert.Single(p.Drain());
        Assert.True(sa.Syn && sa.HasAck);
        Assert.Equal(1001u, sa.Ack);
        Assert.Equal(1240, sa.Mss); // 1280 − 20 (IPv4) − 20 (TCP)
    }

    [Fact]
    public void Mss_option_of_the_peer_bounds_our_segments()
    {
        var p = new RawPeer();
        p.Set.Listen(Engine(53), 10);
        p.Deliver(40000, 53, 1000, 0, Syn, mss: 300);
        Sent sa = Assert.Single(p.Drain());
        p.Deliver(40000, 53, 1001, sa.Seq + 1, Ack);
        var h = Assert.Single(p.Events()).Handle;
        p.Set.Send(h, new byte[1000], out int w);
        Assert.Equal(1000, w);
        var segs = p.Drain();
        Assert.Equal([300, 300, 300, 100], segs.Select(s => s.Payload.Length));
    }

    [Fact]
    public void Rfc9293_peer_window_is_respected_and_a_zero_window_is_probed_by_the_persist_timer()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne(window: 1000);
        p.Set.Send(h, new byte[3000], out _);
        var segs = p.Drain();
        Assert.Equal(1000, segs.Sum(s => s.Payload.Length)); // the window, not the buffer

        // The peer acknowledges everything but closes its window.
        p.Deliver(40000, 53, 1001, iss + 1 + 1000, Ack, window: 0);
        Assert.Empty(p.Drain());
        p.Advance(TimeSpan.FromSeconds(5));
        Sent probe = Assert.Single(p.Drain());
        Assert.Single(probe.Payload); // one byte beyond the zero window
        Assert.Equal(iss + 1 + 1000, probe.Seq);

        // The window opens: the rest flows (the probed byte once more from go-back-N, then new data).
        p.Deliver(40000, 53, 1001, iss + 1 + 1000, Ack, window: 5000);
        var rest = p.Drain();
        Assert.Equal(2000u, rest.Where(s => s.Seq >= iss + 1 + 1000).Max(s => s.Seq + (uint)s.Payload.Length) - (iss + 1 + 1000));
    }

    [Fact]
    public void Rfc5961_3_rst_out_of_window_is_ignored_in_window_gets_a_challenge_ack_and_exact_resets()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001 + 1_000_000, iss + 1, Rst);
        Assert.Empty(p.Drain());
        Assert.Equal(TcpState.Established, p.Set.GetState(h));

        p.Deliver(40000, 53, 1001 + 100, iss + 1, Rst);
        Sent challenge = Assert.Single(p.Drain());
        Assert.True(challenge.HasAck && !challenge.Rst);
        Assert.Equal(1001u, challenge.Ack);
        Assert.Equal(TcpState.Established, p.Set.GetState(h));
        Assert.Empty(p.Events());

        p.Deliver(40000, 53, 1001, 0, Rst);
        Assert.Equal(TcpEventKind.Reset, Assert.Single(p.Events()).Kind);
        Assert.Equal(TcpResult.ConnectionClosed, p.Set.Receive(h, new byte[10], out _));
    }

    [Fact]
    public void Rfc5961_4_syn_on_an_established_connection_gets_a_challenge_ack_and_changes_nothing()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001, 0, Syn);
        Sent challenge = Assert.Single(p.Drain());
        Assert.True(challenge.HasAck && !challenge.Syn && !challenge.Rst);
        Assert.Equal(1001u, challenge.Ack);
        Assert.Equal(TcpState.Established, p.Set.GetState(h));
    }

    [Fact]
    public void Rfc5961_5_ack_of_unsent_data_is_dropped_and_answered_with_an_ack()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001, iss + 1 + 5000, Ack, payload: "hi"u8);
        Sent a = Assert.Single(p.Drain());
        Assert.Equal(1001u, a.Ack); // the data was not taken
        Assert.Equal(0, p.Set.GetConnection(h)!.BytesToRead);
    }

    [Fact]
    public void Rfc9293_3_10_7_4_unacceptable_segment_is_acknowledged_and_dropped()
    {
        var p = new RawPeer();
        var (h, _) = p.AcceptOne();
        p.Deliver(40000, 53, 1001 + 70_000, 0, Ack, payload: "x"u8);
        Sent a = Assert.Single(p.Drain());
        Assert.Equal(1001u, a.Ack);
        Assert.Equal(0, p.Set.GetConnection(h)!.BytesToRead);
    }

    [Fact]
    public void Out_of_order_segments_inside_the_window_are_reassembled_and_delivered_in_order()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001 + 6, iss + 1, Ack, payload: "world"u8);
        Sent dup = Assert.Single(p.Drain());
        Assert.Equal(1001u, dup.Ack); // a duplicate ACK: nothing in order yet
        p.Deliver(40000, 53, 1001 + 5, iss + 1, Ack, payload: " "u8);
        p.Deliver(40000, 53, 1001, iss + 1, Ack, payload: "hello"u8);
        Assert.Equal(1001u + 11, p.Drain().Last().Ack);
        byte[] buf = new byte[64];
        Assert.Equal(TcpResult.Ok, p.Set.Receive(h, buf, out int n));
        Assert.Equal("hello world", System.Text.Encoding.ASCII.GetString(buf, 0, n));
    }

    [Fact]
    public void Out_of_order_ranges_beyond_the_cap_are_not_stored_so_the_peer_retransmits_them()
    {
        var p = new RawPeer(new TcpOptions { MaxReassemblyRanges = 2 });
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001 + 10, iss + 1, Ack, payload: "b"u8);
        p.Deliver(40000, 53, 1001 + 20, iss + 1, Ack, payload: "c"u8);
        p.Deliver(40000, 53, 1001 + 30, iss + 1, Ack, payload: "d"u8); // a third range: dropped
        Assert.Equal(2, p.Set.GetConnection(h)!.OutOfOrderRanges);
        p.Drain();
    }

[Fact]
    public void Rfc6298_5_5_syn_retransmissions_back_off_exponentially_until_syn_retries_then_time_out()
    {
        var p = new RawPeer(new TcpOptions { SynRetries = 4 });
        var h = p.Set.Connect(Engine(0), Peer(53), p.Now)!.Value;
        var times = new List<double>();
        for (int i = 0; i < 200 && p.Set.GetState(h) == TcpState.SynSent; i++)
        {
            foreach (Sent s in p.Drain()) { Assert.True(s.Syn); times.Add(p.Now.TotalSeconds); }
            if (p.Set.PollTimeout() is { } t) { p.Now = t; p.Set.HandleTimeout(t); }
        }
        Assert.Equal([0, 1, 3, 7, 15], times); // 1 s initial RTO, doubled on each expiry
        Assert.Equal(TcpEventKind.TimedOut, Assert.Single(p.Events()).Kind);
        Assert.Equal(31, p.Now.TotalSeconds); // the last SYN's 16 s ran out
    }

    [Fact]
    public void Active_open_uses_an_ephemeral_port_in_49152_to_65535()
    {
        var p = new RawPeer();
        for (int i = 0; i < 50; i++) p.Set.Connect(Engine(0), Peer(53), p.Now);
        var ports = p.Drain().Select(s => (int)s.SourcePort).ToList();
        Assert.Equal(50, ports.Distinct().Count());
        Assert.All(ports, port => Assert.InRange(port, 49152, 65535));
    }

    [Fact]
    public void Rfc6298_2_first_rtt_sample_sets_srtt_r_rttvar_r_over_2_and_rto_srtt_plus_4_rttvar()
    {
        var p = new RawPeer(new TcpOptions { MinRto = TimeSpan.FromMilliseconds(1) });
        var h = p.Set.Connect(Engine(0), Peer(53), p.Now)!.Value;
        Sent syn = Assert.Single(p.Drain());
        p.Now = TimeSpan.FromMilliseconds(100);
        p.Deliver(53, syn.SourcePort, 5000, syn.Seq + 1, Syn | Ack);
        var rto = p.Set.GetConnection(h)!.Rto;
        Assert.Equal(TimeSpan.FromMilliseconds(100), rto.SmoothedRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(50), rto.RttVariation);
        Assert.Equal(TimeSpan.FromMilliseconds(300), rto.Current);
    }

    [Fact]
    public void Karn_an_ack_after_a_retransmitted_syn_gives_no_rtt_sample_and_rfc6298_5_7_data_starts_with_a_3s_rto()
    {
        var p = new RawPeer();
        var h = p.Set.Connect(Engine(0), Peer(53), p.Now)!.Value;
        Sent syn = Assert.Single(p.Drain());
        p.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(p.Drain()); // the retransmitted SYN
        p.Now += TimeSpan.FromMilliseconds(10);
        p.Deliver(53, syn.SourcePort, 5000, syn.Seq + 1, Syn | Ack);
        var c = p.Set.GetConnection(h)!;
        Assert.Equal(TcpState.Established, c.State);
        Assert.False(c.Rto.HasSample); // 1.01 s would be wrong: which SYN was acknowledged is unknown
        Assert.Equal(TimeSpan.FromSeconds(3), c.CurrentRto);
    }

    [Fact]
    public void Karn_retransmitted_data_is_not_timed_but_the_backed_off_rto_stays_until_new_data_is_acked()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        var c = p.Set.GetConnection(h)!;
        Assert.True(c.Rto.HasSample); // the handshake was timed (0 s here → the 200 ms floor)
        TimeSpan before = c.CurrentRto;
        p.Set.Send(h, "abc"u8, out _);
        p.Drain();
        p.Advance(before);
        Assert.Single(p.Drain()); // retransmission
        Assert.Equal(before * 2, c.CurrentRto);
        p.Now += TimeSpan.FromMilliseconds(5);
        p.Deliver(40000, 53, 1001, iss + 1 + 3, Ack);
        Assert.Equal(before * 2, c.CurrentRto); // no sample from the ambiguous ACK
        Assert.Equal(TimeSpan.Zero, c.Rto.SmoothedRtt); // unchanged from the 0 s handshake sample
    }

    [Fact]
    public void Fin_is_retransmitted_when_its_ack_is_lost()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Set.Close(h);
        Sent fin = Assert.Single(p.Drain());
        Assert.True(fin.Fin);
        Assert.Equal(TcpState.FinWait1, p.Set.GetState(h));
        p.Advance(p.Set.GetConnection(h)!.CurrentRto);
        Sent again = Assert.Single(p.Drain());
        Assert.True(again.Fin);
        Assert.Equal(fin.Seq, again.Seq);
        p.Deliver(40000, 53, 1001, fin.Seq + 1, Ack);
        Assert.Equal(TcpState.FinWait2, p.Set.GetState(h));
    }

    [Fact]
    public void Time_wait_lasts_the_stated_2s_acks_a_retransmitted_fin_and_then_the_tuple_is_gone()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Set.Close(h);
        Sent fin = Assert.Single(p.Drain());
        p.Deliver(40000, 53, 1001, fin.Seq + 1, Ack | Fin);
        Assert.Equal(TcpState.TimeWait, p.Set.GetState(h));
        Assert.Equal(1002u, Assert.Single(p.Drain()).Ack);
        Assert.Equal([TcpEventKind.Readable, TcpEventKind.Closed], p.Events().Select(e => e.Kind)); // EOF, then done

        p.Advance(TimeSpan.FromSeconds(1.5));
        p.Deliver(40000, 53, 1001, fin.Seq + 1, Ack | Fin); // our ACK was lost
        Assert.Equal(1002u, Assert.Single(p.Drain()).Ack);
        p.Advance(TimeSpan.FromSeconds(1.9)); // restarted: still lingering
        Assert.Equal(1, p.Set.ConnectionCount);
        p.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(0, p.Set.ConnectionCount);
        Assert.Equal(TcpResult.EndOfStream, p.Set.Receive(h, new byte[1], out _)); // the handle remains until released
        p.Set.Release(h);
        Assert.Equal(0, p.Set.HandleCount);
    }

    [Fact]
    public void Half_close_peer_fin_gives_end_of_stream_while_we_keep_sending()
    {
        var p = new RawPeer();
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001, iss + 1, Ack | Fin, payload: "q"u8);
        p.Drain();
        byte[] buf = new byte[4];
        Assert.Equal(TcpResult.Ok, p.Set.Receive(h, buf, out int n));
        Assert.Equal(1, n);
        Assert.Equal(TcpResult.EndOfStream, p.Set.Receive(h, buf, out _));
        Assert.Equal(TcpState.CloseWait, p.Set.GetState(h));
        Assert.Equal(TcpResult.Ok, p.Set.Send(h, "answer"u8, out int w));
        Assert.Equal(6, w);
        p.Set.Close(h);
        var segs = p.Drain();
        Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(segs.SelectMany(s => s.Payload).ToArray()));
        Assert.True(segs.Last().Fin);
        Assert.Equal(TcpState.LastAck, p.Set.GetState(h));
        p.Deliver(40000, 53, 1003, segs.Last().Seq + (uint)segs.Last().Payload.Length + 1, Ack);
        Assert.Contains(p.Events(), e => e.Kind == TcpEventKind.Closed);
        Assert.Equal(0, p.Set.ConnectionCount);
    }

    [Fact]
    public void Data_retransmissions_run_out_after_data_retries_then_rst_and_timed_out()
    {
        var p = new RawPeer(new TcpOptions { DataRetries = 3 });
        var (h, _) = p.AcceptOne();
        p.Set.Send(h, "lost"u8, out _);
        int sent = 0;
        for (int i = 0; i < 100 && p.Set.GetState(h) != TcpState.Closed; i++)
        {
            var segs = p.Drain();
            sent += segs.Count(s => s.Payload.Length > 0);
            if (segs.Any(s => s.Rst)) break;
            p.Now = p.Set.PollTimeout()!.Value;
            p.Set.HandleTimeout(p.Now);
        }
        Assert.Equal(4, sent); // the original and 3 retransmissions
        Assert.Equal(TcpEventKind.TimedOut, p.Events().Last().Kind);
    }

    [Fact]
    public void Idle_timeout_aborts_with_rst_and_timed_out()
    {
        var p = new RawPeer(new TcpOptions { IdleTimeout = TimeSpan.FromSeconds(10) });
        var (h, _) = p.AcceptOne();
        p.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(p.Drain());
        p.Advance(TimeSpan.FromSeconds(1));
        Assert.True(Assert.Single(p.Drain()).Rst);
        Assert.Equal(TcpEventKind.TimedOut, Assert.Single(p.Events()).Kind);
    }

    [Fact]
    public void Listener_cap_refuses_the_eleventh_concurrent_syn_with_rst()
    {
        var p = new RawPeer();
        p.Set.Listen(Engine(53), 10);
        for (ushort i = 0; i < 11; i++) p.Deliver((ushort)(40000 + i), 53, 1000, 0, Syn);
        var segs = p.Drain();
        Assert.Equal(10, segs.Count(s => s.Syn && s.HasAck));
        Sent refused = Assert.Single(segs, s => s.Rst);
        Assert.Equal(40010, refused.DestinationPort);
        Assert.Equal(10, p.Set.ConnectionCount);
    }

    [Fact]
    public void Half_open_connections_are_dropped_after_syn_ack_retries_without_events()
    {
        var p = new RawPeer(new TcpOptions { SynAckRetries = 2 });
        p.Set.Listen(Engine(53), 10);
        p.Deliver(40000, 53, 1000, 0, Syn);
        for (int i = 0; i < 20 && p.Set.PollTimeout() is { } t; i++) { p.Drain(); p.Now = t; p.Set.HandleTimeout(t); }
        Assert.Equal(0, p.Set.ConnectionCount);
        Assert.Equal(0, p.Set.HandleCount);
        Assert.Empty(p.Events());
    }

    [Fact]
    public void Retransmitted_syn_in_syn_received_gets_the_syn_ack_again()
    {
        var p = new RawPeer();
        p.Set.Listen(Engine(53), 10);
        p.Deliver(40000, 53, 1000, 0, Syn);
        Sent first = Assert.Single(p.Drain());
        p.Deliver(40000, 53, 1000, 0, Syn);
        Sent second = Assert.Single(p.Drain());
        Assert.True(second.Syn && second.HasAck);
        Assert.Equal(first.Seq, second.Seq);
        Assert.Equal(1, p.Set.ConnectionCount);
    }

    [Fact]
    public void Syn_sent_rst_with_acceptable_ack_is_connection_refused_and_without_ack_is_ignored()
    {
        var p = new RawPeer();
        var h = p.Set.Connect(Engine(0), Peer(53), p.Now)!.Value;
        Sent syn = Assert.Single(p.Drain());
        p.Deliver(53, syn.SourcePort, 0, 0, Rst);
        Assert.Equal(TcpState.SynSent, p.Set.GetState(h));
        p.Deliver(53, syn.SourcePort, 0, syn.Seq + 1, Rst | Ack);
        Assert.Equal(TcpEventKind.Reset, Assert.Single(p.Events()).Kind);
    }

    [Fact]
    public void Receive_window_shrinks_as_data_waits_and_reopens_after_reading()
    {
        var p = new RawPeer(new TcpOptions { ReceiveBufferSize = 4000 });
        var (h, iss) = p.AcceptOne();
        p.Deliver(40000, 53, 1001, iss + 1, Ack, payload: new byte[1200]);
        Assert.Equal(2800, p.Drain().Last().Window);
        p.Deliver(40000, 53, 1001 + 1200, iss + 1, Ack, payload: new byte[1200]);
        p.Deliver(40000, 53, 1001 + 2400, iss + 1, Ack, payload: new byte[1200]);
        p.Deliver(40000, 53, 1001 + 3600, iss + 1, Ack, payload: new byte[1200]); // only 400 fit
        Sent last = p.Drain().Last();
        Assert.Equal(0, last.Window);
        Assert.Equal(1001u + 4000, last.Ack);
        p.Set.Receive(h, new byte[4000], out int n);
        Assert.Equal(4000, n);
        Sent update = Assert.Single(p.Drain()); // window update once it grew by at least min(MSS, buffer/2)
        Assert.Equal(4000, update.Window);
    }
}
