namespace Firezone.Snownet.WireGuard;

/// <summary>
/// The WireGuard whitepaper's KDF_n (HKDF over HMAC-BLAKE2s): τ0 = HMAC(C, input), τ1 = HMAC(τ0, 0x1),
/// τi = HMAC(τ0, τ(i-1) || i). Each output is 32 bytes.
/// </summary>
internal static class Hkdf
{
    /// <summary>KDF1: one output.</summary>
    public static void Kdf1(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1)
    {
        Span<byte> scratch = stackalloc byte[64];
        Kdf(chainingKey, input, t1, default, default, scratch);
    }

    /// <summary>KDF2: two outputs.</summary>
    public static void Kdf2(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2)
    {
        Span<byte> scratch = stackalloc byte[64];
        Kdf(chainingKey, input, t1, t2, default, scratch);
    }

    /// <summary>KDF3: three outputs.</summary>
    public static void Kdf3(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2, Span<byte> t3)
    {
        Span<byte> scratch = stackalloc byte[64];
        Kdf(chainingKey, input, t1, t2, t3, scratch);
    }

    private static void Kdf(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2, Span<byte> t3, Span<byte> scratch)
    {
        // Outputs may alias the chaining key, so everything is computed into scratch first.
        var t0 = scratch[..32];
        var prev = scratch[32..64];
        HmacBlake2s.Compute(chainingKey, input, t0);
        ReadOnlySpan<byte> one = [1], two = [2], three = [3];
        HmacBlake2s.Compute(t0, one, prev);
        Span<byte> tmp = stackalloc byte[32];
        if (!t2.IsEmpty)
        {
            HmacBlake2s.Compute(t0, prev, two, tmp);
            if (!t3.IsEmpty)
            {
                Span<byte> tmp3 = stackalloc byte[32];
                HmacBlake2s.Compute(t0, tmp, three, tmp3);
                tmp3.CopyTo(t3);
                tmp3.Clear();
            }
            tmp.CopyTo(t2);
        }
        prev.CopyTo(t1);
        scratch.Clear();
        tmp.Clear();
    }
}
