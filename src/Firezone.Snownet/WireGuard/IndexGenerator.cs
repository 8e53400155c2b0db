using System.Security.Cryptography;
using Firezone.Snownet.SansIo;

namespace Firezone.Snownet.WireGuard;

/// <summary>
/// Produces distinct, unpredictable 24-bit tunnel indices (spec §7): a 24-bit Galois LFSR (polynomial 0xD80000)
/// from a random non-zero seed, each output being (state − 1) XOR a random mask. Throws once all 2^24 − 1 values
/// were handed out.
/// </summary>
internal sealed class IndexGenerator
{
    private const uint Mask24 = 0xFF_FFFF;
    private readonly uint _seed;
    private readonly uint _mask;
    private uint _state;
    private bool _exhausted;

    /// <summary>Creates a generator from a random seed and mask (the OS CSPRNG).</summary>
    public IndexGenerator()
        : this((uint)RandomNumberGenerator.GetInt32(1, 1 << 24), (uint)RandomNumberGenerator.GetInt32(0, 1 << 24))
    {
    }

    /// <summary>Creates a generator whose seed and mask come from an injected source (simulations replay their indices).</summary>
    public IndexGenerator(Action<Span<byte>> random)
        : this(1 + (uint)RandomSource.NextInt(random, (1 << 24) - 1), (uint)RandomSource.NextInt(random, 1 << 24))
    {
    }

    /// <summary>Creates a generator from a given non-zero seed and a mask (tests).</summary>
    public IndexGenerator(uint seed, uint mask)
    {
        seed &= Mask24;
        if (seed == 0) throw new ArgumentOutOfRangeException(nameof(seed), "The LFSR seed must be non-zero.");
        _seed = seed;
        _state = seed;
        _mask = mask & Mask24;
    }

    /// <summary>The next 24-bit index.</summary>
    public uint Next()
    {
        if (_exhausted) throw new InvalidOperationException("Too many peers created");
        var value = ((_state - 1) ^ _mask) & Mask24;
        var lsb = _state & 1;
        _state >>= 1;
        if (lsb != 0) _state ^= 0xD8_0000;
        if (_state == _seed) _exhausted = true;
        return value;
    }
}
