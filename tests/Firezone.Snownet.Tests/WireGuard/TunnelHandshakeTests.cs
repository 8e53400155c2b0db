using System.Net;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;

namespace Firezone.Snownet.Tests.WireGuard;

public class TunnelHandshakeTests
{
    /// <summary>Monotonic time of the tests' tunnels (an arbitrary origin: 0 is a valid instant too).</summary>
    internal static readonly TimeSpan T0 = TimeSpan.FromSeconds(1000);

    /// <summary>The wall-clock anchor: TAI64N timestamps are <c>Wall + now</c>.</summary>
    internal static readonly DateTimeOffset Wall = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    internal sealed class Peer
    {
        public readonly byte[] Private = new byte[32];
        public readonly byte[] Public = new byte[32];
        public Peer() => X25519.GenerateKeyPair(Private, Public);
    }

    internal static (Tunnel A, Tunnel B) Pair(uint indexA = 0x123456, uint indexB = 0xABCDEF, byte[]? psk = null, int limitB = RateLimiter.DefaultLimit, TimeSpan? keepalive = null)
    {
        var a = new Peer();
        var b = new Peer();
        psk ??= new byte[32];
        var ta = new Tunnel(a.Private, b.Public, psk, keepalive, indexA, new RateLimiter(a.Public), T0, Wall, RandomSource.Secure);
        var tb = new Tunnel(b.Private, a.Public, psk, keepalive, indexB, new RateLimiter(b.Public, limitB), T0, Wall, RandomSource.Secure);
        return (ta, tb);
    }

    internal static byte[] Ping(ushort seq, int payload = 56) =>
        Icmp4.EchoRequest(IPAddress.Parse("198.18.104.2"), IPAddress.Parse("198.18.104.1"), 7, seq, new byte[payload]);

    private static byte[] Copy(Span<byte> buffer, TunnelResult r) => buffer[..r.Length].ToArray();

    [Fact]
    public void Handshake_completes_and_queued_packet_is_delivered()
    {
        var (a, b) = Pair();
        var buf = new byte[2048];
        var packet = Ping(1);

        var r = a.Encapsulate(packet, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.Equal(1, a.QueuedPackets);
        var initiation = Copy(buf, r);
        Assert.Equal([1, 0, 0, 0], initiation[..4]);
        // Sender index: 24-bit generator output << 8 | per-handshake counter starting at 1.
        Assert.Equal(0x12345601u, MessageFormat.ReadIndex(initiation, 4));

        // A second packet while the handshake is in progress is only queued.
        Assert.Equal(TunnelResultKind.Done, a.Encapsulate(Ping(2), buf, T0).Kind);
        Assert.Equal(2, a.QueuedPackets);

        r = b.Decapsulate(initiation, default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        Assert.Equal(MessageFormat.ResponseLength, r.Length);
        var response = Copy(buf, r);
        Assert.Equal(0xABCDEF01u, MessageFormat.ReadIndex(response, 4));
        Assert.Equal(0x12345601u, MessageFormat.ReadIndex(response, 8));
        Assert.False(b.HasCurrentSession); // responder waits for the first transport message

        r = a.Decapsulate(response, default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        Assert.Equal(32, r.Length); // immediate keepalive
        Assert.True(a.HasCurrentSession);
        var keepalive = Copy(buf, r);

        var queued = new List<byte[]>();
        while ((r = a.PollTransmit(buf, T0)).Kind == TunnelResultKind.WriteToNetwork) queued.Add(Copy(buf, r));
        Assert.Equal(2, queued.Count);
        Assert.Equal(0, a.QueuedPackets);

        Assert.Equal(TunnelResultKind.Done, b.Decapsulate(keepalive, default, buf, T0).Kind);
        Assert.True(b.HasCurrentSession);
        Assert.Equal(a.CurrentLocalIndex, b.CurrentRemoteIndex);
        Assert.Equal(b.CurrentLocalIndex, a.CurrentRemoteIndex);

        r = b.Decapsulate(queued[0], default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, r.Kind);
        Assert.Equal(packet, Copy(buf, r));
        r = b.Decapsulate(queued[1], default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, r.Kind);

        // And back.
        r = b.Encapsulate(packet, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        Assert.Equal(packet.Length + 32, r.Length);
        r = a.Decapsulate(Copy(buf, r), default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, r.Kind);
        Assert.Equal(packet, Copy(buf, r));
    }

    internal static void Establish(Tunnel initiator, Tunnel responder, TimeSpan now)
    {
        var buf = new byte[2048];
        var r = initiator.FormatHandshakeInitiation(buf, force: true, now);
        r = responder.Decapsulate(buf.AsSpan(0, r.Length).ToArray(), default, buf, now);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        r = initiator.Decapsulate(buf.AsSpan(0, r.Length).ToArray(), default, buf, now);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        r = responder.Decapsulate(buf.AsSpan(0, r.Length).ToArray(), default, buf, now);
        Assert.NotEqual(TunnelResultKind.Error, r.Kind);
        Assert.True(initiator.HasCurrentSession && responder.HasCurrentSession);
    }

    [Fact]
    public void Preshared_key_mismatch_fails_the_handshake()
    {
        var a = new Peer();
        var b = new Peer();
        var ta = new Tunnel(a.Private, b.Public, new byte[32], null, 1, new RateLimiter(a.Public), T0, Wall, RandomSource.Secure);
        var pskB = new byte[32];
        pskB[0] = 1;
        var tb = new Tunnel(b.Private, a.Public, pskB, null, 2, new RateLimiter(b.Public), T0, Wall, RandomSource.Secure);
        var buf = new byte[256];
        var r = ta.FormatHandshakeInitiation(buf, true, T0);
        r = tb.Decapsulate(buf[..r.Length], default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind); // the responder cannot tell yet
        r = ta.Decapsulate(buf[..r.Length], default, buf, T0);
        Assert.Equal(WireGuardError.HandshakeFailed, r.Error);
        Assert.Equal(1, ta.Stats.DroppedHandshake);
        Assert.False(ta.HasCurrentSession);
    }

    [Fact]
    public void Initiation_from_an_unexpected_static_key_is_refused()
    {
        var a = new Peer();
        var b = new Peer();
        var mallory = new Peer();
        var tm = new Tunnel(mallory.Private, b.Public, new byte[32], null, 1, new RateLimiter(mallory.Public), T0, Wall, RandomSource.Secure);
        var tb = new Tunnel(b.Private, a.Public, new byte[32], null, 2, new RateLimiter(b.Public), T0, Wall, RandomSource.Secure);
        var buf = new byte[256];
        var r = tm.FormatHandshakeInitiation(buf, true, T0);
        r = tb.Decapsulate(buf[..r.Length], default, buf, T0);
        Assert.Equal(WireGuardError.HandshakeFailed, r.Error);
        Assert.Equal(1, tb.Stats.DroppedHandshake);
    }

    [Fact]
    public void Replayed_initiation_is_refused_by_its_timestamp()
    {
        var (a, b) = Pair();
        var buf = new byte[256];
        var r = a.FormatHandshakeInitiation(buf, true, T0);
        var initiation = buf[..r.Length];
        Assert.Equal(TunnelResultKind.WriteToNetwork, b.Decapsulate(initiation, default, buf, T0).Kind);
        r = b.Decapsulate(initiation, default, buf, T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(WireGuardError.HandshakeFailed, r.Error);
        Assert.Equal(1, b.Stats.DroppedHandshake);
    }

    [Fact]
    public void Bad_mac1_is_dropped_and_counted()
    {
        var (a, b) = Pair();
        var buf = new byte[256];
        var r = a.FormatHandshakeInitiation(buf, true, T0);
        var initiation = buf[..r.Length];
        initiation[MessageFormat.InitMac1] ^= 0x80;
        r = b.Decapsulate(initiation, default, buf, T0);
        Assert.Equal(WireGuardError.InvalidMac, r.Error);
        Assert.Equal(1, b.Stats.DroppedInvalidMac);
    }

    [Fact]
    public void Under_load_a_cookie_reply_is_sent_and_the_retransmission_with_mac2_is_accepted()
    {
        var (a, b) = Pair(limitB: 0);
        var buf = new byte[256];
        var source = new byte[] { 198, 18, 4, 2, 0xCA, 0xFE };
        var r = a.FormatHandshakeInitiation(buf, true, T0);
        r = b.Decapsulate(buf[..r.Length], source, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, r.Kind);
        Assert.Equal(MessageFormat.CookieReplyLength, r.Length);
        Assert.Equal(3, buf[0]);
        Assert.Equal(1, b.Stats.CookieRepliesSent);

        // Without a source address there is nothing to bind a cookie to.
        var again = a.FormatHandshakeInitiation(new byte[256], true, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, again.Kind);

        // A's last sent message is now the second initiation; a cookie reply for the first one is refused.
        r = a.Decapsulate(buf[..MessageFormat.CookieReplyLength], default, buf, T0);
        Assert.Equal(WireGuardError.HandshakeFailed, r.Error);

        // Fresh round: initiation, cookie reply, consumed, retransmission carries a valid mac2.
        r = a.FormatHandshakeInitiation(buf, true, T0 + TimeSpan.FromSeconds(1));
        r = b.Decapsulate(buf[..r.Length], source, buf, T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(MessageFormat.CookieReplyLength, r.Length);
        Assert.Equal(TunnelResultKind.Done, a.Decapsulate(buf[..r.Length], default, buf, T0 + TimeSpan.FromSeconds(1)).Kind);
        Assert.Equal(1, a.Stats.CookieRepliesReceived);

        r = a.Tick(buf, T0 + TimeSpan.FromSeconds(7)); // REKEY_TIMEOUT retransmission
        Assert.Equal(MessageFormat.InitiationLength, r.Length);
        Assert.False(buf.AsSpan(MessageFormat.InitMac2, 16).SequenceEqual(new byte[16]));
        r = b.Decapsulate(buf[..r.Length], source, buf, T0 + TimeSpan.FromSeconds(7));
        Assert.Equal(MessageFormat.ResponseLength, r.Length);

        // Over the limit with no source address: dropped and counted.
        r = a.FormatHandshakeInitiation(buf, true, T0 + TimeSpan.FromSeconds(8));
        Assert.Equal(WireGuardError.UnderLoad, b.Decapsulate(buf[..r.Length], default, buf, T0 + TimeSpan.FromSeconds(8)).Error);
        Assert.Equal(1, b.Stats.DroppedUnderLoad);
    }

    [Fact]
    public void The_rate_limiter_is_shared_by_every_tunnel_of_a_node_and_reset_by_its_owner()
    {
        // One node (static key N) with two tunnels to peers P and Q, sharing one limiter of 1 handshake per window.
        var n = new Peer();
        var p = new Peer();
        var q = new Peer();
        var limiter = new RateLimiter(n.Public, limit: 1);
        var toP = new Tunnel(n.Private, p.Public, new byte[32], null, 1, limiter, T0, Wall, RandomSource.Secure);
        var toQ = new Tunnel(n.Private, q.Public, new byte[32], null, 2, limiter, T0, Wall, RandomSource.Secure);
        var fromP = new Tunnel(p.Private, n.Public, new byte[32], null, 3, new RateLimiter(p.Public), T0, Wall, RandomSource.Secure);
        var fromQ = new Tunnel(q.Private, n.Public, new byte[32], null, 4, new RateLimiter(q.Public), T0, Wall, RandomSource.Secure);
        var buf = new byte[256];
        var source = new byte[] { 198, 18, 4, 9, 0, 1 };

        var r = fromP.FormatHandshakeInitiation(buf, true, T0);
        Assert.Equal(MessageFormat.ResponseLength, toP.Decapsulate(buf[..r.Length], source, buf, T0).Length);
        r = fromQ.FormatHandshakeInitiation(buf, true, T0);
        Assert.Equal(MessageFormat.CookieReplyLength, toQ.Decapsulate(buf[..r.Length], source, buf, T0).Length);
        Assert.Equal(2, limiter.Count);

        limiter.ResetCount();
        r = fromQ.FormatHandshakeInitiation(buf, true, T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(MessageFormat.ResponseLength, toQ.Decapsulate(buf[..r.Length], source, buf, T0 + TimeSpan.FromSeconds(1)).Length);
    }

    [Fact]
    public void Crossing_initiations_still_end_with_agreeing_sessions()
    {
        var (a, b) = Pair();
        var buf = new byte[2048];
        var ia = a.Encapsulate(Ping(1), buf, T0);
        var initA = buf[..ia.Length];
        var ib = b.Encapsulate(Ping(2), buf, T0);
        var initB = buf[..ib.Length];

        var respB = b.Decapsulate(initA, default, buf, T0);
        var responseFromB = buf[..respB.Length];
        var respA = a.Decapsulate(initB, default, buf, T0);
        var responseFromA = buf[..respA.Length];

        var ka = a.Decapsulate(responseFromB, default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, ka.Kind);
        var keepaliveA = buf[..ka.Length];
        var kb = b.Decapsulate(responseFromA, default, buf, T0);
        Assert.Equal(TunnelResultKind.WriteToNetwork, kb.Kind);
        var keepaliveB = buf[..kb.Length];
        Assert.NotEqual(TunnelResultKind.Error, b.Decapsulate(keepaliveA, default, buf, T0).Kind);
        Assert.NotEqual(TunnelResultKind.Error, a.Decapsulate(keepaliveB, default, buf, T0).Kind);

        // Whatever each side ends up sending on, the other can read it.
        var r = a.Encapsulate(Ping(3), buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, b.Decapsulate(buf[..r.Length], default, buf, T0).Kind);
        r = b.Encapsulate(Ping(4), buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, a.Decapsulate(buf[..r.Length], default, buf, T0).Kind);
    }

    [Fact]
    public void Index_generator_yields_distinct_24_bit_values_and_the_lfsr_period_is_full()
    {
        var g = new IndexGenerator(seed: 0x000001, mask: 0x5A5A5A);
        var seen = new HashSet<uint>();
        for (var i = 0; i < 100_000; i++)
        {
            var v = g.Next();
            Assert.True(v <= 0xFFFFFF);
            Assert.True(seen.Add(v));
        }
        // The polynomial is maximal: exactly 2^24 - 1 values before the seed comes back.
        var h = new IndexGenerator(seed: 0xABCDE, mask: 0);
        var count = 0;
        try
        {
            while (true) { h.Next(); count++; }
        }
        catch (InvalidOperationException e)
        {
            Assert.Equal("Too many peers created", e.Message);
        }
        Assert.Equal((1 << 24) - 1, count);
    }
}
