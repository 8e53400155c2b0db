namespace Firezone.Snownet.WireGuard;

/// <summary>HMAC (RFC 2104) over BLAKE2s-256 with a 64-byte block, as used by WireGuard's KDF.</summary>
internal static class HmacBlake2s
{
    /// <summary>Output length in bytes.</summary>
    public const int Length = 32;

    /// <summary>HMAC(key, a || b) written to the first 32 bytes of <paramref name="output"/>.</summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> output)
    {
        Span<byte> k = stackalloc byte[Blake2s.BlockSize];
        k.Clear();
        if (key.Length > Blake2s.BlockSize) Blake2s.Hash(key, k);
        else key.CopyTo(k);

        Span<byte> pad = stackalloc byte[Blake2s.BlockSize];
        for (var i = 0; i < pad.Length; i++) pad[i] = (byte)(k[i] ^ 0x36);
        var inner = Blake2s.Create();
        inner.Update(pad);
        inner.Update(a);
        inner.Update(b);
        Span<byte> innerHash = stackalloc byte[Length];
        inner.Finish(innerHash);

        for (var i = 0; i < pad.Length; i++) pad[i] = (byte)(k[i] ^ 0x5C);
        var outer = Blake2s.Create();
        outer.Update(pad);
        outer.Update(innerHash);
        outer.Finish(output);
        k.Clear();
        pad.Clear();
        innerHash.Clear();
    }

    /// <summary>HMAC(key, input).</summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output) =>
        Compute(key, input, default, output);
}
