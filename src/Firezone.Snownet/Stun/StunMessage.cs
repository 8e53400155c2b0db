using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Firezone.Snownet.Stun;

/// <summary>
/// A STUN message parsed in place over the datagram it came from (no copy). Every datagram is parsed on its own;
/// <c>TryParse</c> validates the header, the attribute layout and the values of the known attributes, and
/// never throws. Accessors and <see cref="Attributes"/> see only the attributes RFC 8489 lets a receiver use: after
/// MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT,
/// after FINGERPRINT nothing (§14.5–§14.7). Among those, the <em>first</em> occurrence of a type wins. The ignored
/// attributes must still be well-formed (an overrun fails the parse) but their values are not validated or read, so
/// nothing appended behind the integrity of a replayed request (a XOR-PEER-ADDRESS, a LIFETIME, a USE-CANDIDATE) has
/// any effect. This deliberately differs from the Firezone relay, whose codec honours attributes after
/// MESSAGE-INTEGRITY (relay.md §4). Integrity and fingerprint checks cover only the bytes before their attribute.
/// </summary>
internal readonly ref struct StunMessage
{
    /// <summary>The value FINGERPRINT's CRC-32 is XORed with.</summary>
    public const uint FingerprintXor = 0x5354554e;

    /// <summary>Length of the MESSAGE-INTEGRITY value (HMAC-SHA1).</summary>
    public const int MessageIntegrityLength = 20;

    /// <summary>Largest USERNAME in bytes (RFC 8489: &lt; 513).</summary>
    public const int MaxUsernameBytes = 512;

    /// <summary>REALM, NONCE and SOFTWARE must have fewer than this many characters.</summary>
    public const int MaxTextCharacters = 128;

    private readonly ReadOnlySpan<byte> _bytes;

    private StunMessage(ReadOnlySpan<byte> bytes, StunHeader header)
    {
        _bytes = bytes;
        Header = header;
    }

    /// <summary>The header (class, method, length, transaction id).</summary>
    public StunHeader Header { get; }

    /// <summary>The class.</summary>
    public StunClass Class => Header.Class;

    /// <summary>The method.</summary>
    public StunMethod Method => Header.Method;

    /// <summary>The transaction id.</summary>
    public TransactionId TransactionId => Header.TransactionId;

    /// <summary>The whole message as received.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>The attributes that count, in wire order (the ones RFC 8489 says to ignore are left out).</summary>
    public StunAttributeEnumerator Attributes => new(_bytes);

    /// <summary>Parses one datagram. Returns false with an error value on malformed input; never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out StunMessage message, out StunParseError error)
    {
        message = default;
        if (datagram.Length < StunHeader.Size)
        {
            error = StunParseError.TooShort;
            return false;
        }

        if ((datagram[0] & 0xC0) != 0)
        {
            error = StunParseError.NotStun;
            return false;
        }

        if (!StunHeader.TryRead(datagram, out var header))
        {
            error = StunParseError.BadMagicCookie;
            return false;
        }

        if (header.Length + StunHeader.Size != datagram.Length)
        {
            error = StunParseError.LengthMismatch;
            return false;
        }

        int offset = StunHeader.Size;
        var stage = StunAttributeEnumerator.Stage.Open;
        while (offset < datagram.Length)
        {
            if (!TryReadAttributeAt(datagram, offset, out var attribute, out int next))
            {
                error = StunParseError.AttributeOverrun;
                return false;
            }

            // Only attributes that count are validated: an ignored one (after the integrity) is never read.
            if (StunAttributeEnumerator.Advance(ref stage, attribute.Type) && !IsValidValue(attribute.Type, attribute.Value))
            {
                error = StunParseError.InvalidAttribute;
                return false;
            }

            offset = next;
        }

        message = new StunMessage(datagram, header);
        error = StunParseError.None;
        return true;
    }

    /// <summary>Parses one datagram, ignoring the reason on failure.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out StunMessage message) => TryParse(datagram, out message, out _);

    /// <summary>Reads the attribute at <paramref name="offset"/>; the padding of the last attribute may be missing.</summary>
    internal static bool TryReadAttributeAt(ReadOnlySpan<byte> message, int offset, out StunAttribute attribute, out int next)
    {
        attribute = default;
        next = offset;
        if (offset + 4 > message.Length)
        {
            return false;
        }

        ushort type = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
        int valueStart = offset + 4;
        if (valueStart + length > message.Length)
        {
            return false;
        }

        attribute = new StunAttribute(type, message.Slice(valueStart, length), offset);
        next = Math.Min(valueStart + ((length + 3) & ~3), message.Length);
        return true;
    }

    private static bool IsValidValue(ushort type, ReadOnlySpan<byte> value) => type switch
    {
        StunAttributeType.MappedAddress or StunAttributeType.XorMappedAddress or StunAttributeType.XorPeerAddress
            or StunAttributeType.XorRelayedAddress => StunAddressCodec.IsValid(value),
        StunAttributeType.Username => value.Length <= MaxUsernameBytes && Utf8.IsValid(value),
        StunAttributeType.Realm or StunAttributeType.Nonce or StunAttributeType.Software =>
            Utf8.IsValid(value) && CountCharacters(value) < MaxTextCharacters,
        StunAttributeType.MessageIntegrity => value.Length == MessageIntegrityLength,
        StunAttributeType.MessageIntegritySha256 => value.Length is >= 16 and <= 32 && value.Length % 4 == 0,
        StunAttributeType.Fingerprint => value.Length == 4,
        StunAttributeType.ErrorCode => value.Length >= 4 && value[2] is >= 3 and <= 6 && value[3] < 100 && Utf8.IsValid(value[4..]),
        StunAttributeType.ChannelNumber => value.Length == 4 && IsChannelNumber(BinaryPrimitives.ReadUInt16BigEndian(value)),
        StunAttributeType.Lifetime or StunAttributeType.Priority or StunAttributeType.RequestedTransport => value.Length == 4,
        StunAttributeType.RequestedAddressFamily or StunAttributeType.AdditionalAddressFamily =>
            value.Length == 4 && value[0] is (byte)StunAddressFamily.IPv4 or (byte)StunAddressFamily.IPv6,
        StunAttributeType.UseCandidate => value.Length == 0,
        StunAttributeType.IceControlled or StunAttributeType.IceControlling => value.Length == 8,
        _ => true,
    };

    /// <summary>True for channel numbers 0x4000–0x7FFF (RFC 5766 range; Firezone clients use 0x4000–0x4FFF).</summary>
    public static bool IsChannelNumber(ushort channel) => channel is >= 0x4000 and <= 0x7FFF;

    private static int CountCharacters(ReadOnlySpan<byte> utf8)
    {
        int count = 0;
        foreach (byte b in utf8)
        {
            if ((b & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Finds the first attribute of a type among those that count.</summary>
    public bool TryGetAttribute(ushort type, out StunAttribute attribute)
    {
        foreach (var a in Attributes)
        {
            if (a.Type == type)
            {
                attribute = a;
                return true;
            }
        }

        attribute = default;
        return false;
    }

    /// <summary>Finds the value of the first attribute of a type among those that count.</summary>
    public bool TryGetAttributeValue(ushort type, out ReadOnlySpan<byte> value)
    {
        if (TryGetAttribute(type, out var attribute))
        {
            value = attribute.Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>True if an attribute of that type is present (and not ignored).</summary>
    public bool Has(ushort type) => TryGetAttribute(type, out _);

    /// <summary>Reads an XOR-encoded address attribute (XOR-MAPPED, XOR-RELAYED, XOR-PEER).</summary>
    public bool TryGetXorAddress(ushort type, out IPEndPoint endPoint)
    {
        endPoint = null!;
        return TryGetAttributeValue(type, out var value) && StunAddressCodec.TryRead(value, _bytes[..StunHeader.Size], out endPoint);
    }

    /// <summary>XOR-MAPPED-ADDRESS.</summary>
    public bool TryGetXorMappedAddress(out IPEndPoint endPoint) => TryGetXorAddress(StunAttributeType.XorMappedAddress, out endPoint);

    /// <summary>XOR-PEER-ADDRESS.</summary>
    public bool TryGetXorPeerAddress(out IPEndPoint endPoint) => TryGetXorAddress(StunAttributeType.XorPeerAddress, out endPoint);

    /// <summary>The first XOR-RELAYED-ADDRESS.</summary>
    public bool TryGetXorRelayedAddress(out IPEndPoint endPoint) => TryGetXorAddress(StunAttributeType.XorRelayedAddress, out endPoint);

    /// <summary>The first XOR-RELAYED-ADDRESS of a family (a dual-stack Allocate response carries two).</summary>
    public bool TryGetXorRelayedAddress(AddressFamily family, out IPEndPoint endPoint)
    {
        foreach (var a in Attributes)
        {
            if (a.Type == StunAttributeType.XorRelayedAddress
                && StunAddressCodec.TryRead(a.Value, _bytes[..StunHeader.Size], out endPoint)
                && endPoint.AddressFamily == family)
            {
                return true;
            }
        }

        endPoint = null!;
        return false;
    }

    /// <summary>MAPPED-ADDRESS (plain, for old servers).</summary>
    public bool TryGetMappedAddress(out IPEndPoint endPoint)
    {
        endPoint = null!;
        return TryGetAttributeValue(StunAttributeType.MappedAddress, out var value) && StunAddressCodec.TryRead(value, default, out endPoint);
    }

    private bool TryGetUInt32(ushort type, out uint result)
    {
        if (TryGetAttributeValue(type, out var value) && value.Length == 4)
        {
            result = BinaryPrimitives.ReadUInt32BigEndian(value);
            return true;
        }

        result = 0;
        return false;
    }

    /// <summary>LIFETIME in seconds.</summary>
    public bool TryGetLifetime(out uint seconds) => TryGetUInt32(StunAttributeType.Lifetime, out seconds);

    /// <summary>PRIORITY (ICE).</summary>
    public bool TryGetPriority(out uint priority) => TryGetUInt32(StunAttributeType.Priority, out priority);

    /// <summary>REQUESTED-TRANSPORT protocol number (first byte; 17 = UDP).</summary>
    public bool TryGetRequestedTransport(out byte protocol)
    {
        protocol = 0;
        if (!TryGetAttributeValue(StunAttributeType.RequestedTransport, out var value) || value.Length < 1)
        {
            return false;
        }

        protocol = value[0];
        return true;
    }

    private bool TryGetFamily(ushort type, out StunAddressFamily family)
    {
        family = default;
        if (!TryGetAttributeValue(type, out var value) || value.Length < 1)
        {
            return false;
        }

        family = (StunAddressFamily)value[0];
        return true;
    }

    /// <summary>REQUESTED-ADDRESS-FAMILY.</summary>
    public bool TryGetRequestedAddressFamily(out StunAddressFamily family) => TryGetFamily(StunAttributeType.RequestedAddressFamily, out family);

    /// <summary>ADDITIONAL-ADDRESS-FAMILY.</summary>
    public bool TryGetAdditionalAddressFamily(out StunAddressFamily family) => TryGetFamily(StunAttributeType.AdditionalAddressFamily, out family);

    /// <summary>CHANNEL-NUMBER.</summary>
    public bool TryGetChannelNumber(out ushort channel)
    {
        channel = 0;
        if (!TryGetAttributeValue(StunAttributeType.ChannelNumber, out var value) || value.Length < 2)
        {
            return false;
        }

        channel = BinaryPrimitives.ReadUInt16BigEndian(value);
        return true;
    }

    private bool TryGetUInt64(ushort type, out ulong result)
    {
        result = 0;
        if (!TryGetAttributeValue(type, out var value) || value.Length != 8)
        {
            return false;
        }

        result = BinaryPrimitives.ReadUInt64BigEndian(value);
        return true;
    }

    /// <summary>ICE-CONTROLLING tie-breaker.</summary>
    public bool TryGetIceControlling(out ulong tieBreaker) => TryGetUInt64(StunAttributeType.IceControlling, out tieBreaker);

    /// <summary>ICE-CONTROLLED tie-breaker.</summary>
    public bool TryGetIceControlled(out ulong tieBreaker) => TryGetUInt64(StunAttributeType.IceControlled, out tieBreaker);

    /// <summary>USE-CANDIDATE present (ICE).</summary>
    public bool HasUseCandidate => Has(StunAttributeType.UseCandidate);

    /// <summary>DATA (Send/Data indications).</summary>
    public bool TryGetData(out ReadOnlySpan<byte> data) => TryGetAttributeValue(StunAttributeType.Data, out data);

    private string? GetText(ushort type) => TryGetAttributeValue(type, out var value) ? Encoding.UTF8.GetString(value) : null;

    /// <summary>USERNAME as a string (allocates), or null.</summary>
    public string? Username => GetText(StunAttributeType.Username);

    /// <summary>REALM as a string (allocates), or null.</summary>
    public string? Realm => GetText(StunAttributeType.Realm);

    /// <summary>NONCE as a string (allocates), or null.</summary>
    public string? Nonce => GetText(StunAttributeType.Nonce);

    /// <summary>SOFTWARE as a string (allocates), or null.</summary>
    public string? Software => GetText(StunAttributeType.Software);

    /// <summary>ERROR-CODE number (e.g. 401), or null.</summary>
    public int? ErrorCode => TryGetErrorCode(out int code, out _) ? code : null;

    /// <summary>ERROR-CODE number and reason phrase.</summary>
    public bool TryGetErrorCode(out int code, out string reason)
    {
        code = 0;
        reason = string.Empty;
        if (!TryGetAttributeValue(StunAttributeType.ErrorCode, out var value) || value.Length < 4)
        {
            return false;
        }

        code = ((value[2] & 0x7) * 100) + value[3];
        reason = Encoding.UTF8.GetString(value[4..]);
        return true;
    }

    /// <summary>True if MESSAGE-INTEGRITY is present.</summary>
    public bool HasMessageIntegrity => Has(StunAttributeType.MessageIntegrity);

    /// <summary>True if MESSAGE-INTEGRITY-SHA256 is present.</summary>
    public bool HasMessageIntegritySha256 => Has(StunAttributeType.MessageIntegritySha256);

    /// <summary>True if FINGERPRINT is present.</summary>
    public bool HasFingerprint => Has(StunAttributeType.Fingerprint);

    /// <summary>
    /// Checks the first MESSAGE-INTEGRITY (HMAC-SHA1) with a key (long-term: <see cref="StunCredentials.LongTermKey(string, string, string)"/>;
    /// short-term: the password bytes). False when absent or wrong.
    /// </summary>
    public bool VerifyMessageIntegrity(ReadOnlySpan<byte> key)
    {
        if (!TryGetAttribute(StunAttributeType.MessageIntegrity, out var mi) || mi.Value.Length != MessageIntegrityLength)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[MessageIntegrityLength];
        ComputeMac(_bytes[..mi.Offset], MessageIntegrityLength, key, mac, sha256: false);
        return CryptographicOperations.FixedTimeEquals(mac, mi.Value);
    }

    /// <summary>Checks the first MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, possibly truncated to 16–32 bytes).</summary>
    public bool VerifyMessageIntegritySha256(ReadOnlySpan<byte> key)
    {
        if (!TryGetAttribute(StunAttributeType.MessageIntegritySha256, out var mi))
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[32];
        ComputeMac(_bytes[..mi.Offset], mi.Value.Length, key, mac, sha256: true);
        return CryptographicOperations.FixedTimeEquals(mac[..mi.Value.Length], mi.Value);
    }

    /// <summary>
    /// Computes HMAC over <paramref name="prefix"/> (header + attributes before the integrity attribute) with the header
    /// length rewritten to cover the integrity attribute itself.
    /// </summary>
    internal static void ComputeMac(ReadOnlySpan<byte> prefix, int macLength, ReadOnlySpan<byte> key, Span<byte> destination, bool sha256)
    {
        byte[]? rented = null;
        Span<byte> copy = prefix.Length <= 1536 ? stackalloc byte[prefix.Length] : (rented = ArrayPool<byte>.Shared.Rent(prefix.Length)).AsSpan(0, prefix.Length);
        try
        {
            prefix.CopyTo(copy);
            BinaryPrimitives.WriteUInt16BigEndian(copy[2..], (ushort)(prefix.Length - StunHeader.Size + 4 + macLength));
            if (sha256)
            {
                HMACSHA256.HashData(key, copy, destination);
            }
            else
            {
                HMACSHA1.HashData(key, copy, destination);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Checks FINGERPRINT: it must be the last attribute and match CRC-32 XOR 0x5354554e.</summary>
    public bool VerifyFingerprint()
    {
        if (!TryGetAttribute(StunAttributeType.Fingerprint, out var fp) || fp.Offset + 8 != _bytes.Length)
        {
            return false;
        }

        uint expected = Crc32.HashToUInt32(_bytes[..fp.Offset]) ^ FingerprintXor;
        return BinaryPrimitives.ReadUInt32BigEndian(fp.Value) == expected;
    }
}
