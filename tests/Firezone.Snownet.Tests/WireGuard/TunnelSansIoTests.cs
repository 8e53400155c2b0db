using System.Net;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;
using static Firezone.Snownet.Tests.WireGuard.TunnelHandshakeTests;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>The tunnel's half of the sans-IO contract: monotonic time with a wall-clock anchor, injected randomness, polled output.</summary>
public class TunnelSansIoTests
{
    [Fact]
    public void A_wall_clock_jump_shifts_no_timer_and_tai64n_keeps_increasing()
    {
        // The driver's wall clock steps back one hour 30 s into the run (NTP, a suspended VM...). The driver passes
        // only monotonic time; TAI64N timestamps are the anchor plus that time, so neither the retransmission
        // schedule nor the timestamps notice. (With timestamps from the wall clock, the responder would refuse every
        // initiation after the jump as replayed for an hour.)
        var (a, b) = Pair();
        DateTimeOffset WallClockReading(TimeSpan now) => Wall + now - (now - T0 >= TimeSpan.FromSeconds(30) ? TimeSpan.FromHours(1) : TimeSpan.Zero);
        var buf = new byte[2048];
        var reply = new byte[2048];

        var r = a.Encapsulate(Ping(1), buf, T0);
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.Equal(MessageFormat.ResponseLength, b.Decapsulate(buf[..r.Length], default, reply, T0).Length);
        var previousStamp = Tai64N.Read(b.LastPeerTimestamp);
        Assert.Equal(Wall + T0, previousStamp);

        var previous = T0;
        var sawTheJump = false;
        while (previous < T0 + TimeSpan.FromSeconds(60))
        {
            var t = a.PollTimeout()!.Value;   // nothing answers A: it retransmits on REKEY_TIMEOUT + jitter
            Assert.InRange(t - previous, WireGuardTimers.RekeyTimeout, WireGuardTimers.RekeyTimeout + WireGuardTimers.MaxJitter);
            a.HandleTimeout(t);
            r = a.PollTransmit(buf, t);
            Assert.Equal(MessageFormat.InitiationLength, r.Length);
            Assert.Equal(MessageFormat.ResponseLength, b.Decapsulate(buf[..r.Length], default, reply, t).Length); // not a replay
            var stamp = Tai64N.Read(b.LastPeerTimestamp);
            Assert.Equal(Wall + t, stamp);
            Assert.True(stamp > previousStamp);
            sawTheJump |= WallClockReading(t) < WallClockReading(previous);
            (previous, previousStamp) = (t, stamp);
        }

        Assert.True(sawTheJump);
    }

    [Fact]
    public void A_seeded_random_source_replays_a_tunnel_run_byte_for_byte()
    {
        List<byte[]> first = Run(7, out var stats), again = Run(7, out _), other = Run(8, out _);
        // The run covers what draws randomness: handshakes (ephemeral keys), retransmissions (jitter), cookies.
        Assert.True(first.Count > 40, $"{first.Count} datagrams");
        Assert.True(stats.Handshakes >= 3, $"{stats.Handshakes} handshakes");
        Assert.True(stats.CookieReplies >= 1, $"{stats.CookieReplies} cookie replies");
        Assert.True(stats.Initiations > stats.Handshakes, $"{stats.Initiations} initiations for {stats.Handshakes} handshakes (retransmissions)");
        Assert.Equal(first.Count, again.Count);
        for (var i = 0; i < first.Count; i++) Assert.Equal(first[i], again[i]);
        Assert.NotEqual(first, other);
    }

    /// <summary>
    /// Two tunnels over a lossless instant network for 400 s of PollTimeout-driven time: pings both ways, the first
    /// handshake and rekeys, each through a cookie round (B's limiter is always under load), keepalives. Every key and
    /// every random draw (ephemeral keys, jitter, cookie secret and nonces) comes from the seed. Returns every
    /// datagram sent, in order.
    /// </summary>
    private static List<byte[]> Run(int seed, out (long Handshakes, long Initiations, long CookieReplies) stats)
    {
        byte[] NewPrivate(int s)
        {
            var key = new byte[32];
            RandomSource.Seeded(s)(key);
            return key;
        }

        byte[] privA = NewPrivate(seed * 10 + 1), privB = NewPrivate(seed * 10 + 2), pubA = new byte[32], pubB = new byte[32];
        X25519.PublicKeyOf(privA, pubA);
        X25519.PublicKeyOf(privB, pubB);
        var limiterB = new RateLimiter(pubB, limit: 0, RandomSource.Seeded(seed * 10 + 3)); // always under load: cookies
        using var a = new Tunnel(privA, pubB, new byte[32], WireGuardTimers.FirezonePersistentKeepalive, 0x0A0A0A,
            new RateLimiter(pubA, random: RandomSource.Seeded(seed * 10 + 4)), T0, Wall, RandomSource.Seeded(seed * 10 + 5));
        using var b = new Tunnel(privB, pubA, new byte[32], null, 0x0B0B0B, limiterB, T0, Wall, RandomSource.Seeded(seed * 10 + 6));
        Tunnel[] tunnels = [a, b];
        var sourceOf = new[] { new byte[] { 198, 18, 0, 1, 0x13, 0x88 }, new byte[] { 198, 18, 0, 2, 0x13, 0x88 } };
        var sent = new List<byte[]>();
        var buf = new byte[2048];
        var rx = new byte[2048];

        void Deliver(int from, TunnelResult r, TimeSpan now)
        {
            if (r.Kind != TunnelResultKind.WriteToNetwork) return;
            var datagram = buf[..r.Length];
            sent.Add(datagram);
            var answer = tunnels[1 - from].Decapsulate(datagram, sourceOf[from], rx, now);
            if (answer.Kind == TunnelResultKind.WriteToNetwork)
            {
                rx.AsSpan(0, answer.Length).CopyTo(buf);
                Deliver(1 - from, answer, now);
            }
            Drain(1 - from, now);
        }

        void Drain(int side, TimeSpan now)
        {
            for (var i = 0; i < 300; i++)
            {
                var more = tunnels[side].PollTransmit(buf, now);
                if (more.Kind != TunnelResultKind.WriteToNetwork) return;
                Deliver(side, more, now);
            }
        }

        var t = T0;
        var nextPing = T0;
        ushort seq = 0;
        while (t < T0 + TimeSpan.FromSeconds(400))
        {
            if (t >= nextPing)
            {
                var side = seq % 3 == 0 ? 1 : 0;
                Deliver(side, tunnels[side].Encapsulate(Ping(++seq), buf, t), t);
                Drain(side, t);
                nextPing = t + TimeSpan.FromSeconds(7);
            }

            foreach (var (tunnel, side) in new[] { (a, 0), (b, 1) })
            {
                if (tunnel.PollTimeout() is { } due && due <= t)
                {
                    tunnel.HandleTimeout(t);
                    Drain(side, t);
                }
            }

            var wake = nextPing;
            foreach (var tunnel in tunnels)
                if (tunnel.PollTimeout() is { } due && due < wake) wake = due;
            t = wake > t ? wake : t + TimeSpan.FromMilliseconds(1);
        }

        // Both ends count a completed handshake; the initiators' count is the number of handshakes.
        stats = ((a.Stats.HandshakesCompleted + b.Stats.HandshakesCompleted) / 2,
            a.Stats.InitiationsSent + b.Stats.InitiationsSent,
            a.Stats.CookieRepliesReceived + b.Stats.CookieRepliesReceived);
        return sent;
    }

    [Fact]
    public void Handshake_answers_that_do_not_fit_the_callers_buffer_come_from_poll_transmit()
    {
        var (a, b) = Pair();
        var buf = new byte[2048];
        var small = new byte[64];
        var r = a.FormatHandshakeInitiation(buf, force: true, T0);
        Assert.Equal(TunnelResultKind.Done, b.Decapsulate(buf[..r.Length], default, small, T0).Kind);
        r = b.PollTransmit(buf, T0);
        Assert.Equal(MessageFormat.ResponseLength, r.Length);
        Assert.Equal(TunnelResultKind.Done, b.PollTransmit(buf, T0).Kind);
        // The initiator's keepalive (32 bytes) would fit, but the answer slot is used alike for any buffer under 148.
        Assert.Equal(TunnelResultKind.Done, a.Decapsulate(buf[..r.Length], default, small, T0).Kind);
        Assert.Equal(MessageFormat.DataOverhead, a.PollTransmit(buf, T0).Length);
        Assert.True(a.HasCurrentSession);
    }

    [Fact]
    public void Packets_queued_before_the_session_come_from_poll_transmit_once_it_exists()
    {
        var (a, b) = Pair();
        var buf = new byte[2048];
        var r = a.Encapsulate(Ping(1), new byte[120], T0); // holds the packet + 32, not the initiation: it waits in the tunnel
        Assert.Equal(TunnelResultKind.Done, r.Kind);
        a.Encapsulate(Ping(2), buf, T0);                  // only queued: the handshake is in progress
        Assert.Equal(2, a.QueuedPackets);
        r = a.PollTransmit(buf, T0);
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.Equal(TunnelResultKind.Done, a.PollTransmit(buf, T0).Kind); // queued packets wait for the session

        r = b.Decapsulate(buf[..r.Length], default, buf, T0);
        r = a.Decapsulate(buf[..r.Length], default, buf, T0);
        Assert.Equal(MessageFormat.DataOverhead, r.Length); // the keepalive confirming the session
        var datagrams = new List<byte[]>();
        while ((r = a.PollTransmit(buf, T0)).Kind == TunnelResultKind.WriteToNetwork) datagrams.Add(buf[..r.Length]);
        Assert.Equal(2, datagrams.Count);
        Assert.Equal(0, a.QueuedPackets);
        Assert.Equal(TimeSpan.Zero, a.TimeSinceLastHandshake(T0));
        Assert.Equal(TimeSpan.FromSeconds(3), a.TimeSinceLastHandshake(T0 + TimeSpan.FromSeconds(3)));
        Assert.Null(b.TimeSinceLastHandshake(T0)); // the responder waits for the first transport message
    }

    [Fact]
    public void Handling_a_timeout_at_the_polled_instant_always_moves_the_deadline_later()
    {
        var (a, b) = Pair(keepalive: WireGuardTimers.FirezonePersistentKeepalive);
        Establish(a, b, T0);
        var buf = new byte[2048];
        var t = T0;
        for (var i = 0; i < 200; i++)
        {
            var due = a.PollTimeout()!.Value;
            Assert.True(due >= t, $"deadline {due} before the last one {t}");
            t = due;
            a.HandleTimeout(t);
            while (a.PollTransmit(buf, t).Kind == TunnelResultKind.WriteToNetwork)
            {
            }

            // At most one more call at the same instant (an expiry that uncovers another); never a busy loop.
            if (a.PollTimeout() is { } again && again <= t)
            {
                a.HandleTimeout(t);
                Assert.True(a.PollTimeout() is not { } third || third > t);
            }
        }

        Assert.True(t - T0 > TimeSpan.FromMinutes(30), $"only reached {t - T0}");
    }
}
