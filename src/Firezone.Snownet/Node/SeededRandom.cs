using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Firezone.Snownet;

/// <summary>
/// The node's random source, derived from its 32-byte seed: HMAC-SHA256(seed, counter) blocks (a counter-mode DRBG,
/// cryptographically strong when the seed is). Every random choice of a node — static key, ICE credentials and
/// tie-breakers, preshared keys, WireGuard indices and ephemeral keys, transaction ids, relay sampling — comes from
/// it, so one seed replays a whole simulation. Upstream draws some of these from the OS instead; production callers
/// pass a seed from <see cref="RandomNumberGenerator"/>, which gives the same strength.
/// </summary>
internal sealed class SeededRandom
{
    private readonly byte[] _key;
    private readonly byte[] _block = new byte[32];
    private ulong _counter;
    private int _used = 32;

    public SeededRandom(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
        {
            throw new ArgumentException("A node seed is 32 bytes.", nameof(seed));
        }

        _key = seed.ToArray();
        Fill = FillBytes;
    }

    /// <summary>The source as the engines take it.</summary>
    public Action<Span<byte>> Fill { get; }

    private void FillBytes(Span<byte> destination)
    {
        Span<byte> counter = stackalloc byte[8];
        while (!destination.IsEmpty)
        {
            if (_used == _block.Length)
            {
                BinaryPrimitives.WriteUInt64BigEndian(counter, _counter++);
                HMACSHA256.HashData(_key, counter, _block);
                _used = 0;
            }

            int n = Math.Min(destination.Length, _block.Length - _used);
            _block.AsSpan(_used, n).CopyTo(destination);
            _used += n;
            destination = destination[n..];
        }
    }

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>).</summary>
    public int Next(int exclusiveMax) => SansIo.RandomSource.NextInt(Fill, exclusiveMax);
}
