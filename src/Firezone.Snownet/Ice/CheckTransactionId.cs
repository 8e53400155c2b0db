using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Firezone.Snownet.Ice;

/// <summary>The 96-bit STUN transaction id of a connectivity check (RFC 8489 §5), as a hashable value.</summary>
internal readonly record struct CheckTransactionId(ulong High, uint Low)
{
    /// <summary>Length in bytes.</summary>
    public const int Length = 12;

    /// <summary>Reads 12 bytes.</summary>
    public static CheckTransactionId Read(ReadOnlySpan<byte> bytes)
        => new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));

    /// <summary>Writes 12 bytes.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Low);
    }

    /// <summary>A random id: from <paramref name="rng"/> when given (simulations), else cryptographically random.</summary>
    public static CheckTransactionId NewRandom(Random? rng)
    {
        Span<byte> b = stackalloc byte[Length];
        if (rng is null)
        {
            RandomNumberGenerator.Fill(b);
        }
        else
        {
            rng.NextBytes(b);
        }

        return Read(b);
    }
}
