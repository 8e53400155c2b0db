using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Firezone.Snownet.WireGuard;

/// <summary>
/// BLAKE2s (RFC 7693), incremental, with optional key and output lengths 1..32.
/// Written by hand because no maintained .NET package provides it; checked against the RFC 7693 vectors and
/// BouncyCastle in the tests. A mutable struct: create with <see cref="Create"/>, feed with <see cref="Update"/>,
/// finish with <see cref="Finish"/>.
/// </summary>
internal unsafe struct Blake2s
{
    /// <summary>Block size in bytes.</summary>
    public const int BlockSize = 64;

    /// <summary>Maximum (and WireGuard's HASH) output length.</summary>
    public const int MaxOutputLength = 32;

    private static ReadOnlySpan<uint> Iv =>
    [
        0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au, 0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
    ];

    private static ReadOnlySpan<byte> Sigma =>
    [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
        11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
        7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
        9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
        2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
        12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
        13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
        6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
        10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    ];

    private fixed uint _h[8];
    private fixed byte _buffer[BlockSize];
    private ulong _t;
    private int _bufferLength;
    private int _outputLength;

    /// <summary>Starts a hash with the given output length (1..32) and optional key (0..32 bytes).</summary>
    public static Blake2s Create(int outputLength = MaxOutputLength, ReadOnlySpan<byte> key = default)
    {
        if (outputLength is < 1 or > MaxOutputLength) throw new ArgumentOutOfRangeException(nameof(outputLength));
        if (key.Length > 32) throw new ArgumentOutOfRangeException(nameof(key));
        var s = default(Blake2s);
        for (var i = 0; i < 8; i++) s._h[i] = Iv[i];
        s._h[0] ^= 0x01010000u ^ ((uint)key.Length << 8) ^ (uint)outputLength;
        s._outputLength = outputLength;
        if (!key.IsEmpty)
        {
            var block = new Span<byte>(s._buffer, BlockSize);
            key.CopyTo(block);
            s._bufferLength = BlockSize;
        }
        return s;
    }

    /// <summary>Absorbs more input.</summary>
    public void Update(ReadOnlySpan<byte> input)
    {
        fixed (byte* bufPtr = _buffer)
        {
            var buffer = new Span<byte>(bufPtr, BlockSize);
            while (!input.IsEmpty)
            {
                if (_bufferLength == BlockSize)
                {
                    // Only compress a full buffer once more input follows: the last block must be finalised.
                    _t += BlockSize;
                    Compress(buffer, last: false);
                    _bufferLength = 0;
                }
                if (_bufferLength == 0)
                {
                    // Fast path: compress whole blocks straight from the input, keeping at least one byte back.
                    while (input.Length > BlockSize)
                    {
                        _t += BlockSize;
                        Compress(input[..BlockSize], last: false);
                        input = input[BlockSize..];
                    }
                }
                var take = Math.Min(BlockSize - _bufferLength, input.Length);
                input[..take].CopyTo(buffer[_bufferLength..]);
                _bufferLength += take;
                input = input[take..];
            }
        }
    }

    /// <summary>Finishes the hash and writes <c>outputLength</c> bytes into <paramref name="output"/>.</summary>
    public void Finish(Span<byte> output)
    {
        if (output.Length < _outputLength) throw new ArgumentException("Output too small.", nameof(output));
        fixed (byte* bufPtr = _buffer)
        {
            var buffer = new Span<byte>(bufPtr, BlockSize);
            _t += (ulong)_bufferLength;
            buffer[_bufferLength..].Clear();
            Compress(buffer, last: true);
            buffer.Clear();
        }
        Span<byte> full = stackalloc byte[32];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32LittleEndian(full[(i * 4)..], _h[i]);
        full[.._outputLength].CopyTo(output);
        full.Clear();
        for (var i = 0; i < 8; i++) _h[i] = 0;
    }

    /// <summary>One-shot unkeyed 32-byte hash (WireGuard's HASH).</summary>
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var s = Create();
        s.Update(input);
        s.Finish(output);
    }

    /// <summary>One-shot 32-byte hash of two concatenated inputs.</summary>
    public static void Hash(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> output)
    {
        var s = Create();
        s.Update(a);
        s.Update(b);
        s.Finish(output);
    }

    /// <summary>WireGuard's MAC: keyed BLAKE2s with a 16-byte output.</summary>
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var s = Create(16, key);
        s.Update(input);
        s.Finish(output);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(ref uint a, ref uint b, ref uint c, ref uint d, uint x, uint y)
    {
        a = a + b + x;
        d = BitOperations.RotateRight(d ^ a, 16);
        c += d;
        b = BitOperations.RotateRight(b ^ c, 12);
        a = a + b + y;
        d = BitOperations.RotateRight(d ^ a, 8);
        c += d;
        b = BitOperations.RotateRight(b ^ c, 7);
    }

    private void Compress(ReadOnlySpan<byte> block, bool last)
    {
        Span<uint> m = stackalloc uint[16];
        for (var i = 0; i < 16; i++) m[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        uint v0 = _h[0], v1 = _h[1], v2 = _h[2], v3 = _h[3], v4 = _h[4], v5 = _h[5], v6 = _h[6], v7 = _h[7];
        uint v8 = Iv[0], v9 = Iv[1], v10 = Iv[2], v11 = Iv[3];
        uint v12 = Iv[4] ^ (uint)_t, v13 = Iv[5] ^ (uint)(_t >> 32), v14 = Iv[6], v15 = Iv[7];
        if (last) v14 = ~v14;
        var sigma = Sigma;
        for (var r = 0; r < 10; r++)
        {
            var s = sigma.Slice(r * 16, 16);
            G(ref v0, ref v4, ref v8, ref v12, m[s[0]], m[s[1]]);
            G(ref v1, ref v5, ref v9, ref v13, m[s[2]], m[s[3]]);
            G(ref v2, ref v6, ref v10, ref v14, m[s[4]], m[s[5]]);
            G(ref v3, ref v7, ref v11, ref v15, m[s[6]], m[s[7]]);
            G(ref v0, ref v5, ref v10, ref v15, m[s[8]], m[s[9]]);
            G(ref v1, ref v6, ref v11, ref v12, m[s[10]], m[s[11]]);
            G(ref v2, ref v7, ref v8, ref v13, m[s[12]], m[s[13]]);
            G(ref v3, ref v4, ref v9, ref v14, m[s[14]], m[s[15]]);
        }
        _h[0] ^= v0 ^ v8; _h[1] ^= v1 ^ v9; _h[2] ^= v2 ^ v10; _h[3] ^= v3 ^ v11;
        _h[4] ^= v4 ^ v12; _h[5] ^= v5 ^ v13; _h[6] ^= v6 ^ v14; _h[7] ^= v7 ^ v15;
    }
}
