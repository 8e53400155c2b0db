using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Firezone.Snownet.WireGuard;

/// <summary>
/// AEAD helpers for handshakes: ChaCha20-Poly1305 with a zero counter (sealing with System.Security.Cryptography,
/// opening with NSec so that a failed authentication is a return value, never an exception), and
/// XChaCha20-Poly1305 (NSec) for cookie replies.
/// </summary>
internal static class HandshakeAead
{
    /// <summary>AEAD(key, 0, plaintext, aad) into <paramref name="output"/> (plaintext length + 16).</summary>
    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> aad, Span<byte> output)
    {
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        using var aead = new ChaCha20Poly1305(key);
        aead.Encrypt(nonce, plaintext, output[..plaintext.Length], output.Slice(plaintext.Length, MessageFormat.TagLength), aad);
    }

    /// <summary>
    /// Opens AEAD(key, 0, ..., aad); false on authentication failure, without an exception (NSec/libsodium returns
    /// false; the BCL would throw, which a forged handshake message with a valid mac1 could otherwise provoke).
    /// </summary>
    public static bool Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> aad, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        var length = sealedData.Length - MessageFormat.TagLength;
        if (length < 0 || plaintext.Length < length) return false;
        using var k = NSec.Cryptography.Key.Import(NSec.Cryptography.AeadAlgorithm.ChaCha20Poly1305, key, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
        return NSec.Cryptography.AeadAlgorithm.ChaCha20Poly1305.Decrypt(k, nonce, aad, sealedData, plaintext[..length]);
    }

    /// <summary>Writes the 12-byte transport nonce: 4 zero bytes then the little-endian counter.</summary>
    public static void WriteNonce(Span<byte> nonce, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(nonce, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    /// <summary>XAEAD(key, nonce, plaintext, aad) for cookie replies.</summary>
    public static void XSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> aad, Span<byte> output)
    {
        using var k = NSec.Cryptography.Key.Import(NSec.Cryptography.AeadAlgorithm.XChaCha20Poly1305, key, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
        NSec.Cryptography.AeadAlgorithm.XChaCha20Poly1305.Encrypt(k, nonce, aad, plaintext, output[..(plaintext.Length + MessageFormat.TagLength)]);
    }

    /// <summary>Opens XAEAD(key, nonce, ..., aad); false on authentication failure.</summary>
    public static bool XOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> aad, Span<byte> plaintext)
    {
        if (sealedData.Length < MessageFormat.TagLength) return false;
        using var k = NSec.Cryptography.Key.Import(NSec.Cryptography.AeadAlgorithm.XChaCha20Poly1305, key, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
        return NSec.Cryptography.AeadAlgorithm.XChaCha20Poly1305.Decrypt(k, nonce, aad, sealedData, plaintext[..(sealedData.Length - MessageFormat.TagLength)]);
    }
}
