using Firezone.Snownet.WireGuard;
using static Firezone.Snownet.Tests.WireGuard.TunnelHandshakeTests;

namespace Firezone.Snownet.Tests.WireGuard;

public class TunnelTransportTests
{
    private static byte[] Seal(Tunnel from, byte[] packet, TimeSpan now)
    {
        var buf = new byte[2048];
        var r = from.Encapsulate(packet, buf, now);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        return buf[..r.Length];
    }

    [Fact]
    public void Replayed_tampered_and_unknown_index_datagrams_are_dropped_and_counted()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var datagram = Seal(a, Ping(1), T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, b.Decapsulate(datagram, default, buf, T0).Kind);

        Assert.Equal(WireGuardError.ReplayedCounter, b.Decapsulate(datagram, default, buf, T0).Error);
        Assert.Equal(1, b.Stats.DroppedReplayed);

        var tampered = Seal(a, Ping(2), T0);
        tampered[40] ^= 1;
        Assert.Equal(WireGuardError.DecryptionFailed, b.Decapsulate(tampered, default, buf, T0).Error);
        Assert.Equal(1, b.Stats.DroppedDecryptionFailed);
        // A forged datagram must not burn its counter: the genuine one still arrives later.
        tampered[40] ^= 1;
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, b.Decapsulate(tampered, default, buf, T0).Kind);

        var wrong = Seal(a, Ping(3), T0);
        wrong[4] ^= 0xFF;
        Assert.Equal(WireGuardError.WrongIndex, b.Decapsulate(wrong, default, buf, T0).Error);
        Assert.Equal(1, b.Stats.DroppedWrongIndex);

        Assert.Equal(WireGuardError.InvalidPacket, b.Decapsulate([4, 0, 0, 0, 1], default, buf, T0).Error);
        Assert.Equal(1, b.Stats.DroppedMalformed);
    }

    [Fact]
    public void Decrypted_packets_are_cut_to_their_ip_length_and_non_ip_is_dropped()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var padded = Ping(1).Concat(new byte[13]).ToArray();
        var r = b.Decapsulate(Seal(a, padded, T0), default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, r.Kind);
        Assert.Equal(Ping(1).Length, r.Length);

        var v6 = new byte[60];
        v6[0] = 0x60;
        v6[5] = 20; // payload length
        r = b.Decapsulate(Seal(a, v6, T0), default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV6, r.Kind);
        Assert.Equal(60, r.Length);

        r = b.Decapsulate(Seal(a, [0x12, 0x34, 0x56], T0), default, buf, T0);
        Assert.Equal(WireGuardError.InvalidTunnelPacket, r.Error);
        var truncated = Ping(1)[..30];
        r = b.Decapsulate(Seal(a, truncated, T0), default, buf, T0);
        Assert.Equal(WireGuardError.InvalidTunnelPacket, r.Error);
        Assert.Equal(2, b.Stats.DroppedInvalidTunnelPacket);
    }

    [Fact]
    public void Initiation_is_retransmitted_after_rekey_timeout_and_given_up_after_rekey_attempt_time()
    {
        var (a, _) = Pair();
        var buf = new byte[2048];
        Assert.Equal(MessageFormat.InitiationLength, a.Encapsulate(Ping(1), buf, T0).Length);
        Assert.Equal(TunnelResultKind.Done, a.Tick(buf, T0 + TimeSpan.FromSeconds(4.9)).Kind);
        Assert.InRange(a.PollTimeout()!.Value - T0, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.333));

        // Driven by PollTimeout alone, as a real driver would: every wake-up is exact.
        var retransmissions = 0;
        var t = T0;
        for (var step = 0; step < 100 && !a.IsExpired; step++)
        {
            t = a.PollTimeout()!.Value;
            a.HandleTimeout(t);
            TunnelResult r;
            while ((r = a.PollTransmit(buf, t)).Kind == TunnelResultKind.WriteToNetwork)
            {
                Assert.Equal(MessageFormat.InitiationLength, r.Length);
                retransmissions++;
            }
        }
        Assert.True(a.IsExpired);
        Assert.Equal(T0 + WireGuardTimers.RekeyAttemptTime, t);
        // 90 s at 5–5.333 s per retry.
        Assert.InRange(retransmissions, 16, 17);
        Assert.Equal(0, a.QueuedPackets);
        Assert.Equal(1, a.Stats.DroppedQueued);
        Assert.False(a.IsHandshakeInProgress);
    }

    [Fact]
    public void Queue_holds_at_most_256_packets()
    {
        var (a, _) = Pair();
        var buf = new byte[2048];
        for (var i = 0; i < 300; i++) a.Encapsulate(Ping((ushort)i), buf, T0);
        Assert.Equal(256, a.QueuedPackets);
        Assert.Equal(44, a.Stats.DroppedQueued);
    }

    [Fact]
    public void Initiator_rekeys_after_120s_when_sending_and_old_session_still_decrypts()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var oldIndex = a.CurrentLocalIndex;
        var t = T0 + TimeSpan.FromSeconds(119);
        var inFlight = Seal(a, Ping(1), t);
        Assert.NotEqual(TunnelResultKind.WriteToNetwork, a.Tick(buf, t).Kind);
        Assert.NotEqual(MessageFormat.InitiationLength, b.Tick(buf, t).Length);

        t = T0 + TimeSpan.FromSeconds(120);
        var r = a.Tick(buf, t);
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.Equal(0x12345602u, MessageFormat.ReadIndex(buf, 4)); // counter byte advanced
        r = b.Decapsulate(buf[..r.Length], default, buf, t);
        r = a.Decapsulate(buf[..r.Length], default, buf, t);
        Assert.NotEqual(oldIndex, a.CurrentLocalIndex);
        r = b.Decapsulate(buf[..r.Length], default, buf, t); // keepalive promotes B's new keypair
        Assert.Equal(a.CurrentLocalIndex, b.CurrentRemoteIndex);

        // A packet sent on the previous keypair before the rekey still arrives.
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, b.Decapsulate(inFlight, default, buf, t).Kind);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, b.Decapsulate(Seal(a, Ping(2), t), default, buf, t).Kind);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, a.Decapsulate(Seal(b, Ping(3), t), default, buf, t).Kind);
    }

    [Fact]
    public void Responder_does_not_rekey_but_the_initiator_rekeys_on_receive_at_165s()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var t = T0 + TimeSpan.FromSeconds(130);
        // B (responder) sends; A receives and answers so nobody waits for a reply.
        a.Decapsulate(Seal(b, Ping(1), t), default, buf, t);
        b.Decapsulate(Seal(a, Ping(2), t), default, buf, t);
        var r = b.Tick(buf, t);
        Assert.False(r.Kind == TunnelResultKind.WriteToNetwork && r.Length == MessageFormat.InitiationLength);
        r = a.Tick(buf, t); // A has sent data too, at 130 s ≥ 120 s
        Assert.Equal(MessageFormat.InitiationLength, r.Length);

        var (c, d) = Pair();
        Establish(c, d, T0);
        t = T0 + TimeSpan.FromSeconds(164);
        c.Decapsulate(Seal(d, Ping(1), t), default, buf, t);
        Assert.NotEqual(MessageFormat.InitiationLength, c.Tick(buf, t).Length);
        t = T0 + TimeSpan.FromSeconds(165);
        c.Decapsulate(Seal(d, Ping(1), t), default, buf, t);
        Assert.Equal(MessageFormat.InitiationLength, c.Tick(buf, t).Length);
    }

    [Fact]
    public void Sessions_are_rejected_after_180s_and_sending_starts_a_new_handshake()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var t = T0 + TimeSpan.FromSeconds(179.9);
        var late = Seal(a, Ping(1), t);
        t = T0 + TimeSpan.FromSeconds(180);
        Assert.Equal(WireGuardError.SessionExpired, b.Decapsulate(late, default, buf, t).Error);
        Assert.Equal(1, b.Stats.DroppedExpiredSession);
        var r = a.Encapsulate(Ping(2), buf, t);
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.Equal(1, a.QueuedPackets);
    }

    [Fact]
    public void Passive_keepalive_after_10s_of_receiving_without_sending()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var t = T0 + TimeSpan.FromSeconds(1);
        b.Decapsulate(Seal(a, Ping(1), t), default, buf, t);
        Assert.Equal(TunnelResultKind.Done, b.Tick(buf, t + TimeSpan.FromSeconds(9.9)).Kind);
        var r = b.Tick(buf, t + TimeSpan.FromSeconds(10));
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        Assert.Equal(32, r.Length);
        Assert.Equal(1, b.Stats.KeepalivesSent);
        Assert.Equal(TunnelResultKind.Done, b.Tick(buf, t + TimeSpan.FromSeconds(11)).Kind); // only once
        Assert.Equal(TunnelResultKind.Done, a.Decapsulate(buf[..32], default, buf, t + TimeSpan.FromSeconds(11)).Kind);
        Assert.Equal(1, a.Stats.KeepalivesReceived);
    }

    [Fact]
    public void Persistent_keepalive_every_25s_of_silence()
    {
        var (a, b) = Pair(keepalive: WireGuardTimers.FirezonePersistentKeepalive);
        Establish(a, b, T0);
        var buf = new byte[2048];
        Assert.Equal(TunnelResultKind.Done, a.Tick(buf, T0 + TimeSpan.FromSeconds(24.9)).Kind);
        var r = a.Tick(buf, T0 + TimeSpan.FromSeconds(25));
        Assert.Equal(32, r.Length);
        Assert.Equal(TunnelResultKind.Done, a.Tick(buf, T0 + TimeSpan.FromSeconds(49.9)).Kind);
        Assert.Equal(32, a.Tick(buf, T0 + TimeSpan.FromSeconds(50)).Length);
    }

    [Fact]
    public void New_handshake_when_data_sent_but_nothing_heard_for_15s()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var t = T0 + TimeSpan.FromSeconds(2);
        Seal(b, Ping(1), t); // lost
        Assert.Equal(TunnelResultKind.Done, b.Tick(buf, t + TimeSpan.FromSeconds(14.9)).Kind);
        var r = b.Tick(buf, t + TimeSpan.FromSeconds(15));
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.True(b.IsHandshakeInProgress);
    }

    [Fact]
    public void Connection_expires_540s_after_the_last_session()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        Assert.NotEqual(TunnelResultKind.Error, a.Tick(buf, T0 + TimeSpan.FromSeconds(539)).Kind);
        Assert.False(a.IsExpired);
        Assert.False(a.HasCurrentSession); // rejected after 180 s
        Assert.Equal(T0 + WireGuardTimers.ExpiryTime, a.PollTimeout());
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(540));
        b.HandleTimeout(T0 + TimeSpan.FromSeconds(540));
        Assert.True(a.IsExpired);
        Assert.True(b.IsExpired);
        Assert.Equal(TunnelResultKind.Done, a.PollTransmit(buf, T0 + TimeSpan.FromSeconds(540)).Kind);
    }
}

public class TunnelSteadyStateTests
{
    [Fact]
    public void Encapsulate_and_decapsulate_allocate_nothing_in_steady_state()
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var packet = Ping(1, payload: 1252);
        var wire = new byte[2048];
        var plain = new byte[2048];
        for (var i = 0; i < 100; i++) // warm up (JIT, tiering)
        {
            var r = a.Encapsulate(packet, wire, T0);
            b.Decapsulate(wire.AsSpan(0, r.Length), default, plain, T0);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        var delivered = 0;
        for (var i = 0; i < 1000; i++)
        {
            var r = a.Encapsulate(packet, wire, T0);
            if (b.Decapsulate(wire.AsSpan(0, r.Length), default, plain, T0).Kind == TunnelResultKind.WriteToTunnelV4) delivered++;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, delivered);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Per_handshake_index_counter_wraps_through_zero_keeping_the_24_bit_prefix()
    {
        var (a, _) = Pair(indexA: 0xC0FFEE);
        var buf = new byte[256];
        var lows = new List<uint>();
        for (var i = 0; i < 257; i++)
        {
            var r = a.FormatHandshakeInitiation(buf, force: true, T0 + TimeSpan.FromSeconds(i));
            var index = MessageFormat.ReadIndex(buf, MessageFormat.InitSender);
            Assert.Equal(0xC0FFEEu, index >> 8);
            lows.Add(index & 0xFF);
        }
        Assert.Equal(1u, lows[0]);
        Assert.Equal(255u, lows[254]);
        Assert.Equal(0u, lows[255]);
        Assert.Equal(1u, lows[256]);
    }
}
