using System.Security.Cryptography;

namespace Firezone.Snownet.SansIo;

/// <summary>
/// Randomness for the sans-IO engines, always injected: a delegate that fills a buffer with random bytes. Production
/// code uses <see cref="Secure"/> (the OS CSPRNG); simulations pass a seeded source (<see cref="Seeded(int)"/>) so that
/// a failing seed replays exactly.
/// </summary>
internal static class RandomSource
{
    /// <summary>The operating system's cryptographic random number generator.</summary>
    public static readonly Action<Span<byte>> Secure = RandomNumberGenerator.Fill;

    /// <summary>A deterministic source for tests and simulations (not cryptographically secure).</summary>
    public static Action<Span<byte>> Seeded(int seed)
    {
        var random = new Random(seed);
        return random.NextBytes;
    }

    /// <summary>A uniformly drawn integer in [0, <paramref name="exclusiveMax"/>) from <paramref name="source"/>.</summary>
    public static int NextInt(Action<Span<byte>> source, int exclusiveMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(exclusiveMax);
        Span<byte> bytes = stackalloc byte[8];
        source(bytes);
        return (int)(BitConverter.ToUInt64(bytes) % (ulong)exclusiveMax);
    }

    /// <summary>A random 64-bit value from <paramref name="source"/>.</summary>
    public static ulong NextUInt64(Action<Span<byte>> source)
    {
        Span<byte> bytes = stackalloc byte[8];
        source(bytes);
        return BitConverter.ToUInt64(bytes);
    }
}
