using System.Security.Cryptography;
using System.Text;
using Firezone.Snownet.WireGuard;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace Firezone.Snownet.Tests.WireGuard;

public class Blake2sTests
{
    [Fact]
    public void Rfc7693_appendix_B_abc()
    {
        Span<byte> output = stackalloc byte[32];
        Blake2s.Hash("abc"u8, output);
        Assert.Equal("508C5E8C327C14E2E1A72BA34EEB452F37458B209ED63A294D999B4C86675982", Convert.ToHexString(output));
    }

    [Fact]
    public void Empty_input_unkeyed()
    {
        Span<byte> output = stackalloc byte[32];
        Blake2s.Hash(ReadOnlySpan<byte>.Empty, output);
        Assert.Equal("69217A3079908094E11121D042354A7C1F55B6482CA1A51E1B250DFD1ED0EEF9", Convert.ToHexString(output));
    }

    private static void SelftestSeq(Span<byte> output, uint seed)
    {
        uint a = 0xDEAD4BADu * seed, b = 1;
        for (var i = 0; i < output.Length; i++)
        {
            var t = a + b;
            a = b;
            b = t;
            output[i] = (byte)(t >> 24);
        }
    }

    /// <summary>RFC 7693 Appendix E self-test: a hash over keyed and unkeyed hashes of several lengths.</summary>
    [Fact]
    public void Rfc7693_appendix_E_selftest()
    {
        int[] mdLen = [16, 20, 28, 32];
        int[] inLen = [0, 3, 64, 65, 255, 1024];
        var input = new byte[1024];
        var md = new byte[32];
        var key = new byte[32];
        var ctx = Blake2s.Create(32);
        foreach (var outlen in mdLen)
        {
            foreach (var inlen in inLen)
            {
                SelftestSeq(input.AsSpan(0, inlen), (uint)inlen);
                var h = Blake2s.Create(outlen);
                h.Update(input.AsSpan(0, inlen));
                h.Finish(md);
                ctx.Update(md.AsSpan(0, outlen));

                SelftestSeq(key.AsSpan(0, outlen), (uint)outlen);
                h = Blake2s.Create(outlen, key.AsSpan(0, outlen));
                h.Update(input.AsSpan(0, inlen));
                h.Finish(md);
                ctx.Update(md.AsSpan(0, outlen));
            }
        }
        ctx.Finish(md);
        Assert.Equal("6A411F08CE25ADCDFB02ABA641451CEC53C598B24F4FC787FBDC88797F4C1DFE", Convert.ToHexString(md));
    }

    private static byte[] BouncyBlake2s(byte[] key, int outLen, byte[] data)
    {
        var d = key.Length == 0 ? new Blake2sDigest(outLen * 8) : new Blake2sDigest(key, outLen, null, null);
        d.BlockUpdate(data, 0, data.Length);
        var o = new byte[outLen];
        d.DoFinal(o, 0);
        return o;
    }

    [Property(MaxTest = 300)]
    public bool Matches_BouncyCastle_for_any_key_length_and_chunking(byte[] data, byte[] keySeed, PositiveInt outLenSeed, PositiveInt chunkSeed)
    {
        var key = keySeed.Length > 32 ? keySeed[..32] : keySeed;
        var outLen = outLenSeed.Get % 32 + 1;
        var expected = BouncyBlake2s(key, outLen, data);

        var chunk = chunkSeed.Get % 130 + 1;
        var h = Blake2s.Create(outLen, key);
        for (var i = 0; i < data.Length; i += chunk) h.Update(data.AsSpan(i, Math.Min(chunk, data.Length - i)));
        var actual = new byte[outLen];
        h.Finish(actual);
        return expected.AsSpan().SequenceEqual(actual);
    }

    [Property(MaxTest = 200)]
    public bool Hmac_matches_BouncyCastle(byte[] key, byte[] data)
    {
        var mac = new HMac(new Blake2sDigest(256));
        mac.Init(new KeyParameter(key));
        mac.BlockUpdate(data, 0, data.Length);
        var expected = new byte[32];
        mac.DoFinal(expected, 0);

        var actual = new byte[32];
        HmacBlake2s.Compute(key, data, actual);
        return expected.AsSpan().SequenceEqual(actual);
    }

    private static byte[] BouncyHmac(byte[] key, params byte[][] parts)
    {
        var mac = new HMac(new Blake2sDigest(256));
        mac.Init(new KeyParameter(key));
        foreach (var p in parts) mac.BlockUpdate(p, 0, p.Length);
        var o = new byte[32];
        mac.DoFinal(o, 0);
        return o;
    }

    [Property(MaxTest = 100)]
    public bool Kdf3_matches_the_whitepaper_definition_over_BouncyCastle_hmac(byte[] chainingKeySeed, byte[] input)
    {
        var ck = new byte[32];
        chainingKeySeed.AsSpan(0, Math.Min(32, chainingKeySeed.Length)).CopyTo(ck);
        var t0 = BouncyHmac(ck, input);
        var e1 = BouncyHmac(t0, [1]);
        var e2 = BouncyHmac(t0, e1, [2]);
        var e3 = BouncyHmac(t0, e2, [3]);

        byte[] a1 = new byte[32], a2 = new byte[32], a3 = new byte[32];
        Hkdf.Kdf3(ck, input, a1, a2, a3);
        byte[] b1 = new byte[32], b2 = new byte[32];
        Hkdf.Kdf2(ck, input, b1, b2);
        var c1 = (byte[])ck.Clone();
        Hkdf.Kdf1(c1, input, c1); // output aliasing the chaining key, as the handshake does
        return e1.SequenceEqual(a1) && e2.SequenceEqual(a2) && e3.SequenceEqual(a3)
            && e1.SequenceEqual(b1) && e2.SequenceEqual(b2) && e1.SequenceEqual(c1);
    }

    [Fact]
    public void Noise_initial_chaining_key_and_hash_match_the_WireGuard_constants()
    {
        // HASH("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s") is a well-known constant of every WireGuard implementation.
        var ck = new byte[32];
        Blake2s.Hash(Encoding.ASCII.GetBytes("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"), ck);
        Assert.Equal("60E26DAEF327EFC02EC335E2A025D2D016EB4206F87277F52D38D1988B78CD36", Convert.ToHexString(ck));
        Assert.True(ck.AsSpan().SequenceEqual(NoiseConstants.InitialChainingKey));
        var h = new byte[32];
        Blake2s.Hash(ck, Encoding.ASCII.GetBytes("WireGuard v1 zx2c4 Jason@zx2c4.com"), h);
        Assert.True(h.AsSpan().SequenceEqual(NoiseConstants.InitialHash));
    }

    [Fact]
    public void NSec_native_libsodium_loads_and_X25519_agrees_both_ways()
    {
        byte[] a = new byte[32], ap = new byte[32], b = new byte[32], bp = new byte[32];
        X25519.GenerateKeyPair(a, ap);
        X25519.GenerateKeyPair(b, bp);
        byte[] s1 = new byte[32], s2 = new byte[32];
        Assert.True(X25519.TryAgree(a, bp, s1));
        Assert.True(X25519.TryAgree(b, ap, s2));
        Assert.Equal(s1, s2);
        var derived = new byte[32];
        X25519.PublicKeyOf(a, derived);
        Assert.Equal(ap, derived);
        Assert.False(X25519.TryAgree(a, new byte[32], s1)); // low-order point (all zeros) is refused
    }

    [Fact]
    public void XChaCha20Poly1305_round_trips_and_rejects_tampering()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var nonce = RandomNumberGenerator.GetBytes(24);
        var aad = RandomNumberGenerator.GetBytes(16);
        var plain = RandomNumberGenerator.GetBytes(16);
        var sealedData = new byte[32];
        HandshakeAead.XSeal(key, nonce, plain, aad, sealedData);
        var opened = new byte[16];
        Assert.True(HandshakeAead.XOpen(key, nonce, sealedData, aad, opened));
        Assert.Equal(plain, opened);
        sealedData[3] ^= 1;
        Assert.False(HandshakeAead.XOpen(key, nonce, sealedData, aad, opened));
    }
}
