using System.Buffers.Binary;
using System.Security.Cryptography;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Ice;

/// <summary>
/// The MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) of connectivity checks under one short-term key (an ICE
/// password): an HMAC keyed once and reused for every check, so the key schedule is not redone per message (the
/// one-shot <c>HMACSHA1.HashData</c> re-keys each time: 1.18 µs against 0.48 µs for a 68-byte check on this
/// machine, and a check needs two). Allocation-free per use.
/// Not thread-safe: one agent owns it (the agent is single-threaded).
/// </summary>
internal sealed class CheckIntegrityKey : IDisposable
{
    private const int MaxStackPrefix = 1536;

    private readonly IncrementalHash _hmac;

    /// <summary>Keys the HMAC with the password's UTF-8 bytes (<see cref="StunCredentials.ShortTermKey"/>).</summary>
    public CheckIntegrityKey(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        byte[] key = StunCredentials.ShortTermKey(password);
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, key);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary>
    /// Computes the MESSAGE-INTEGRITY value of a message whose attribute starts at <c>prefix.Length</c>:
    /// HMAC over the header and attributes before it, with the header length rewritten to end just after it.
    /// The prefix is copied to the stack and hashed in one call (each call into OpenSSL costs about 0.1 µs, more than
    /// the copy); prefixes beyond a datagram's size are hashed in three parts.
    /// </summary>
    public void Compute(ReadOnlySpan<byte> prefix, Span<byte> destination)
    {
        ushort length = (ushort)(prefix.Length - StunHeader.Size + 4 + StunMessage.MessageIntegrityLength);
        if (prefix.Length <= MaxStackPrefix)
        {
            Span<byte> copy = stackalloc byte[prefix.Length];
            prefix.CopyTo(copy);
            BinaryPrimitives.WriteUInt16BigEndian(copy[2..], length);
            _hmac.AppendData(copy);
        }
        else
        {
            Span<byte> header = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(header, length);
            _hmac.AppendData(prefix[..2]);
            _hmac.AppendData(header);
            _hmac.AppendData(prefix[4..]);
        }

        _hmac.GetHashAndReset(destination);
    }

    /// <summary>
    /// True when the MESSAGE-INTEGRITY attribute at <paramref name="integrityOffset"/> of <paramref name="message"/>
    /// verifies (constant-time comparison).
    /// </summary>
    public bool Verify(ReadOnlySpan<byte> message, int integrityOffset)
    {
        if (integrityOffset < StunHeader.Size || integrityOffset + 4 + StunMessage.MessageIntegrityLength > message.Length)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[StunMessage.MessageIntegrityLength];
        Compute(message[..integrityOffset], mac);
        return CryptographicOperations.FixedTimeEquals(mac, message.Slice(integrityOffset + 4, StunMessage.MessageIntegrityLength));
    }

    /// <summary>Releases the HMAC context.</summary>
    public void Dispose() => _hmac.Dispose();
}
