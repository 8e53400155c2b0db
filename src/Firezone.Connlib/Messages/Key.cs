using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Firezone.Connlib.Messages;

/// <summary>
/// A 32-byte key of the portal protocol: a WireGuard public key or a preshared key (phoenix-and-portal spec §6). On the
/// wire it is canonical standard base64 <b>with</b> padding (44 characters); anything else fails the message that
/// carries it. <c>default(Key)</c> is the all-zero key.
/// </summary>
/// <remarks>
/// <see cref="ToString"/> prints the base64 text, as upstream's <c>Display</c> does; messages that carry a preshared key
/// leave it out of their own <c>ToString</c>.
/// </remarks>
public readonly struct Key : IEquatable<Key>
{
    /// <summary>The key length in bytes.</summary>
    public const int Length = 32;

    private static readonly byte[] Zero = new byte[Length];
    private readonly byte[]? _bytes;

    /// <summary>Creates a key from exactly 32 bytes (copied).</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
    public Key(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"A key is {Length} bytes, not {bytes.Length}.", nameof(bytes));
        }

        _bytes = bytes.ToArray();
    }

    /// <summary>The 32 bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes ?? Zero;

    /// <summary>
    /// Parses the wire form: standard base64 with padding, exactly 44 characters, of exactly 32 bytes, canonical (the
    /// unused low bits of the last character zero). No whitespace, no URL-safe alphabet.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Key key)
    {
        key = default;
        if (text is null || text.Length != 44 || text[43] != '=' || text[42] == '=')
        {
            return false;
        }

        foreach (char c in text.AsSpan(0, 43))
        {
            if (!IsBase64Char(c))
            {
                return false;
            }
        }

        Span<byte> decoded = stackalloc byte[33];
        if (!Convert.TryFromBase64Chars(text, decoded, out int written) || written != Length)
        {
            return false;
        }

        // Canonical: the last data character carries 2 unused bits that must be zero (32 bytes = 42 chars + 4 bits).
        if ((DecodeChar(text[42]) & 0b11) != 0)
        {
            return false;
        }

        key = new Key(decoded[..Length]);
        return true;
    }

    /// <summary>Parses the wire form (see <see cref="TryParse"/>).</summary>
    /// <exception cref="FormatException">Not the canonical padded base64 of 32 bytes.</exception>
    public static Key Parse(string text) =>
        TryParse(text, out var key) ? key : throw new FormatException("A key is the padded standard base64 of exactly 32 bytes.");

    /// <summary>A key of 32 random bytes (e.g. a fresh preshared key), drawn from <paramref name="random"/>.</summary>
    /// <param name="random">Fills a span with random bytes; null: the OS CSPRNG.</param>
    public static Key Random(Action<Span<byte>>? random = null)
    {
        Span<byte> bytes = stackalloc byte[Length];
        if (random is null)
        {
            RandomNumberGenerator.Fill(bytes);
        }
        else
        {
            random(bytes);
        }

        var key = new Key(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return key;
    }

    /// <summary>A copy of the 32 bytes.</summary>
    public byte[] ToArray() => Bytes.ToArray();

    /// <summary>The wire form: padded standard base64 (44 characters).</summary>
    public override string ToString() => Convert.ToBase64String(Bytes);

    /// <inheritdoc/>
    public bool Equals(Key other) => CryptographicOperations.FixedTimeEquals(Bytes, other.Bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Key other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(Bytes);

    /// <summary>Equal when the 32 bytes are.</summary>
    public static bool operator ==(Key left, Key right) => left.Equals(right);

    /// <summary>Different when the 32 bytes are.</summary>
    public static bool operator !=(Key left, Key right) => !left.Equals(right);

    private static bool IsBase64Char(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '/';

    private static int DecodeChar(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        _ => 63,
    };
}
