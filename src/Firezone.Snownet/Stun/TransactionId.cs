using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Firezone.Snownet.Stun;

/// <summary>The 96-bit STUN transaction id (RFC 8489 §5), stored by value.</summary>
internal readonly struct TransactionId : IEquatable<TransactionId>
{
    /// <summary>Length of a transaction id in bytes.</summary>
    public const int Length = 12;

    private readonly ulong _high;
    private readonly uint _low;

    /// <summary>Creates a transaction id from exactly 12 bytes.</summary>
    public TransactionId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException("A transaction id is 12 bytes.", nameof(bytes));
        }

        _high = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _low = BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]);
    }

    /// <summary>A fresh id from the cryptographic RNG.</summary>
    public static TransactionId NewRandom() => NewRandom(RandomNumberGenerator.Fill);

    /// <summary>A fresh id from an injected random source (the one helper every engine uses).</summary>
    public static TransactionId NewRandom(Action<Span<byte>> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<byte> bytes = stackalloc byte[Length];
        random(bytes);
        return new TransactionId(bytes);
    }

    /// <summary>Writes the 12 bytes into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], _low);
    }

    /// <summary>The 12 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <inheritdoc/>
    public bool Equals(TransactionId other) => _high == other._high && _low == other._low;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TransactionId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low);

    /// <summary>Lowercase hex.</summary>
    public override string ToString() => $"{_high:x16}{_low:x8}";

    /// <summary>Equality.</summary>
    public static bool operator ==(TransactionId left, TransactionId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(TransactionId left, TransactionId right) => !left.Equals(right);
}
