using System.Buffers.Binary;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.WireGuard.TunnelHandshakeTests;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>
/// Datagrams an attacker or a broken network can produce, into an established tunnel: random garbage (with the
/// header of each message type, and for transport messages the receiver's real index, so that the AEAD runs),
/// truncations, bit flips and extensions of genuine messages of every type. None may throw (an exception per
/// forged datagram is a cheap way to burn CPU) and none may come out as a packet for the TUN device.
/// </summary>
public class TunnelDamagedInputTests
{
    private enum Damage
    {
        Garbage,
        Truncated,
        Flipped,
        Extended,
    }

    private sealed record DamageCase(Damage Kind, int Source, int Seed, int Length, int Type, bool Header, bool WithAddress, bool SmallDestination);

    private static readonly Gen<DamageCase> Cases =
        from kind in Gen.Elements(Damage.Garbage, Damage.Truncated, Damage.Flipped, Damage.Extended)
        from source in Gen.Choose(0, 1000)
        from seed in Gen.Choose(int.MinValue, int.MaxValue)
        from length in Gen.Choose(0, 1600)
        from type in Gen.Choose(0, 5)
        from header in Gen.Elements(true, false)
        from withAddress in Gen.Elements(true, false)
        from small in Gen.Elements(true, false)
        select new DamageCase(kind, source, seed, length, type, header, withAddress, small);

    /// <summary>Genuine datagrams of every kind that reach <paramref name="b"/> in a real exchange (or its peer).</summary>
    private static List<byte[]> GenuineDatagrams(Tunnel a, Tunnel b, Tunnel underLoadA)
    {
        var pool = new List<byte[]>();
        var buf = new byte[2048];
        byte[] Take(TunnelResult r) => buf.AsSpan(0, r.Length).ToArray();
        for (ushort i = 0; i < 8; i++)
        {
            pool.Add(Take(a.Encapsulate(Ping(i, payload: 37 * i), buf, T0)));        // transport from A
            pool.Add(Take(b.Encapsulate(Ping(i), buf, T0)));                          // B's own transport (wrong index for B)
        }

        pool.Add(Take(a.Encapsulate([], buf, T0)));                                   // keepalive
        pool.Add(Take(a.FormatHandshakeInitiation(buf, force: true, T0)));            // initiation for B (never delivered)
        var initiationFromB = Take(b.FormatHandshakeInitiation(buf, force: true, T0));
        pool.Add(initiationFromB);
        pool.Add(Take(a.Decapsulate(initiationFromB, default, buf, T0)));            // response to B's pending initiation
        var cookie = underLoadA.Decapsulate(initiationFromB, new byte[] { 198, 18, 0, 2, 0, 1 }, buf, T0);
        Assert.Equal(MessageFormat.CookieReplyLength, cookie.Length);
        pool.Add(Take(cookie));                                                       // cookie reply for B's initiation
        return pool;
    }

    private static byte[] Build(DamageCase c, List<byte[]> pool, uint receiverIndex)
    {
        var rng = new Random(c.Seed);
        var genuine = pool[c.Source % pool.Count];
        switch (c.Kind)
        {
            case Damage.Garbage:
            {
                var garbage = new byte[c.Length];
                rng.NextBytes(garbage);
                if (c.Header && garbage.Length >= 4)
                {
                    garbage[0] = (byte)c.Type;
                    garbage[1] = garbage[2] = garbage[3] = 0;
                    if (c.Type == MessageFormat.TypeData && garbage.Length >= 8) BinaryPrimitives.WriteUInt32LittleEndian(garbage.AsSpan(4), receiverIndex);
                }
                return garbage;
            }
            case Damage.Truncated:
                return genuine[..(c.Length % genuine.Length)];
            case Damage.Flipped:
            {
                var flipped = (byte[])genuine.Clone();
                var flips = 1 + rng.Next(4);
                for (var i = 0; i < flips; i++) flipped[rng.Next(flipped.Length)] ^= (byte)rng.Next(1, 256);
                return flipped.AsSpan().SequenceEqual(genuine) ? [.. flipped, 0] : flipped; // two flips may cancel out
            }
            default:
            {
                var extra = new byte[1 + c.Length % 64];
                rng.NextBytes(extra);
                return [.. genuine, .. extra];
            }
        }
    }

    /// <summary>
    /// 10,000 cases against one tunnel that lives through all of them (as under a real attack: state carries over,
    /// e.g. the rate limiter goes under load and flipped mac2s of genuine handshakes are answered). A [Fact] running
    /// the check, because FsCheck calls a [Property] method again for every case, which would rebuild the tunnels.
    /// </summary>
    [Fact]
    public void Garbage_truncated_and_mutated_datagrams_never_throw_and_never_yield_a_packet()
    {
        var pa = new Peer();
        var pb = new Peer();
        var a = new Tunnel(pa.Private, pb.Public, new byte[32], null, 0x123456, new RateLimiter(pa.Public), T0, Wall, RandomSource.Secure);
        var b = new Tunnel(pb.Private, pa.Public, new byte[32], null, 0xABCDEF, new RateLimiter(pb.Public), T0, Wall, RandomSource.Secure);
        // A second tunnel with A's keys whose limiter is always over its limit: it answers with cookie replies.
        var aUnderLoad = new Tunnel(pa.Private, pb.Public, new byte[32], null, 0x777777, new RateLimiter(pa.Public, limit: 0), T0, Wall, RandomSource.Secure);
        Establish(a, b, T0);
        var pool = GenuineDatagrams(a, b, aUnderLoad);
        var large = new byte[2048];
        var small = new byte[10];
        var source = new byte[] { 198, 18, 0, 1, 0xCA, 0xFE };
        var property = Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var datagram = Build(c, pool, b.CurrentLocalIndex);
            var r = b.Decapsulate(datagram, c.WithAddress ? source : default, c.SmallDestination ? small : large, T0);
            var packet = r.Kind is TunnelResultKind.WriteToTunnelV4 or TunnelResultKind.WriteToTunnelV6;
            while (b.PollTransmit(large, T0).Kind == TunnelResultKind.WriteToNetwork)
            {
            }

            return (!packet).Label($"{c.Kind} of #{c.Source % pool.Count} came out as a packet")
                .And(b.HasCurrentSession).Label("the established session survives");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(10_000), property);

        // Still a working tunnel afterwards.
        var buf = new byte[2048];
        var sealedPacket = a.Encapsulate(Ping(9999), buf, T0);
        Assert.Equal(TunnelResultKind.WriteToTunnelV4, b.Decapsulate(buf[..sealedPacket.Length], default, large, T0).Kind);
        Assert.True(b.Stats.DroppedDecryptionFailed > 1000, $"{b.Stats.DroppedDecryptionFailed} datagrams reached the AEAD");
    }
}
