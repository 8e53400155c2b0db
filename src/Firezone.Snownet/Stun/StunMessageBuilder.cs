using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net;
using System.Text;

namespace Firezone.Snownet.Stun;

/// <summary>
/// Writes a STUN message into a caller-provided buffer, attribute by attribute, keeping the header length current.
/// Values are padded with zeros to 4 bytes. <see cref="AddMessageIntegrity"/> and <see cref="AddFingerprint"/> sign
/// everything written before them. Throws <see cref="ArgumentException"/> when the buffer is too small (a programming
/// error: size buffers for the largest message, e.g. 1500 bytes).
/// </summary>
internal ref struct StunMessageBuilder
{
    private readonly Span<byte> _buffer;
    private int _length;

    /// <summary>Starts a message of the given method and class.</summary>
    public StunMessageBuilder(Span<byte> buffer, StunMethod method, StunClass cls, TransactionId transactionId)
    {
        if (buffer.Length < StunHeader.Size)
        {
            throw new ArgumentException("Buffer too small for a STUN header.", nameof(buffer));
        }

        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, StunHeader.EncodeType(method, cls));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], StunHeader.MagicCookie);
        transactionId.CopyTo(buffer[8..]);
        _length = StunHeader.Size;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Length => _length;

    /// <summary>The message written so far.</summary>
    public readonly ReadOnlySpan<byte> Message => _buffer[.._length];

    /// <summary>A copy of the message.</summary>
    public readonly byte[] ToArray() => Message.ToArray();

    /// <summary>Reserves an attribute with a value of <paramref name="valueLength"/> bytes and returns the value span to fill.</summary>
    public Span<byte> AddAttribute(ushort type, int valueLength)
    {
        int padded = (valueLength + 3) & ~3;
        if (valueLength > ushort.MaxValue || _length + 4 + padded > _buffer.Length)
        {
            throw new ArgumentException("STUN message buffer too small.");
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_length + 2)..], (ushort)valueLength);
        var value = _buffer.Slice(_length + 4, valueLength);
        _buffer.Slice(_length + 4 + valueLength, padded - valueLength).Clear();
        _length += 4 + padded;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(_length - StunHeader.Size));
        return value;
    }

    /// <summary>Adds an attribute with raw value bytes.</summary>
    public void AddAttribute(ushort type, ReadOnlySpan<byte> value) => value.CopyTo(AddAttribute(type, value.Length));

    /// <summary>Adds an attribute whose value is UTF-8 text.</summary>
    public void AddText(ushort type, ReadOnlySpan<char> text) =>
        Encoding.UTF8.GetBytes(text, AddAttribute(type, Encoding.UTF8.GetByteCount(text)));

    /// <summary>Adds an XOR-encoded address attribute.</summary>
    public void AddXorAddress(ushort type, IPEndPoint endPoint)
    {
        var value = AddAttribute(type, StunAddressCodec.ValueLength(endPoint));
        StunAddressCodec.Write(value, endPoint, _buffer[..StunHeader.Size]);
    }

    /// <summary>XOR-MAPPED-ADDRESS.</summary>
    public void AddXorMappedAddress(IPEndPoint endPoint) => AddXorAddress(StunAttributeType.XorMappedAddress, endPoint);

    /// <summary>XOR-RELAYED-ADDRESS.</summary>
    public void AddXorRelayedAddress(IPEndPoint endPoint) => AddXorAddress(StunAttributeType.XorRelayedAddress, endPoint);

    /// <summary>XOR-PEER-ADDRESS.</summary>
    public void AddXorPeerAddress(IPEndPoint endPoint) => AddXorAddress(StunAttributeType.XorPeerAddress, endPoint);

    /// <summary>MAPPED-ADDRESS (plain).</summary>
    public void AddMappedAddress(IPEndPoint endPoint) =>
        StunAddressCodec.Write(AddAttribute(StunAttributeType.MappedAddress, StunAddressCodec.ValueLength(endPoint)), endPoint, default);

    private void AddUInt32(ushort type, uint value) => BinaryPrimitives.WriteUInt32BigEndian(AddAttribute(type, 4), value);

    /// <summary>LIFETIME in seconds.</summary>
    public void AddLifetime(uint seconds) => AddUInt32(StunAttributeType.Lifetime, seconds);

    /// <summary>PRIORITY (ICE).</summary>
    public void AddPriority(uint priority) => AddUInt32(StunAttributeType.Priority, priority);

    /// <summary>REQUESTED-TRANSPORT (protocol number then three zero bytes; 17 = UDP).</summary>
    public void AddRequestedTransport(byte protocol = 17) => AddUInt32(StunAttributeType.RequestedTransport, (uint)protocol << 24);

    /// <summary>REQUESTED-ADDRESS-FAMILY.</summary>
    public void AddRequestedAddressFamily(StunAddressFamily family) => AddUInt32(StunAttributeType.RequestedAddressFamily, (uint)family << 24);

    /// <summary>ADDITIONAL-ADDRESS-FAMILY.</summary>
    public void AddAdditionalAddressFamily(StunAddressFamily family) => AddUInt32(StunAttributeType.AdditionalAddressFamily, (uint)family << 24);

    /// <summary>CHANNEL-NUMBER (number then two zero bytes).</summary>
    public void AddChannelNumber(ushort channel) => AddUInt32(StunAttributeType.ChannelNumber, (uint)channel << 16);

    /// <summary>USERNAME.</summary>
    public void AddUsername(ReadOnlySpan<char> username) => AddText(StunAttributeType.Username, username);

    /// <summary>REALM.</summary>
    public void AddRealm(ReadOnlySpan<char> realm) => AddText(StunAttributeType.Realm, realm);

    /// <summary>NONCE.</summary>
    public void AddNonce(ReadOnlySpan<char> nonce) => AddText(StunAttributeType.Nonce, nonce);

    /// <summary>SOFTWARE.</summary>
    public void AddSoftware(ReadOnlySpan<char> software) => AddText(StunAttributeType.Software, software);

    /// <summary>DATA (Send/Data indications).</summary>
    public void AddData(ReadOnlySpan<byte> data) => AddAttribute(StunAttributeType.Data, data);

    /// <summary>USE-CANDIDATE (ICE, empty value).</summary>
    public void AddUseCandidate() => AddAttribute(StunAttributeType.UseCandidate, 0);

    /// <summary>ICE-CONTROLLING with a tie-breaker.</summary>
    public void AddIceControlling(ulong tieBreaker) => BinaryPrimitives.WriteUInt64BigEndian(AddAttribute(StunAttributeType.IceControlling, 8), tieBreaker);

    /// <summary>ICE-CONTROLLED with a tie-breaker.</summary>
    public void AddIceControlled(ulong tieBreaker) => BinaryPrimitives.WriteUInt64BigEndian(AddAttribute(StunAttributeType.IceControlled, 8), tieBreaker);

    /// <summary>ERROR-CODE with a reason phrase (default: the standard phrase for the code).</summary>
    public void AddErrorCode(int code, string? reason = null)
    {
        reason ??= StunErrorCode.ReasonPhrase(code);
        var value = AddAttribute(StunAttributeType.ErrorCode, 4 + Encoding.UTF8.GetByteCount(reason));
        value[0] = 0;
        value[1] = 0;
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        Encoding.UTF8.GetBytes(reason, value[4..]);
    }

    /// <summary>MESSAGE-INTEGRITY (HMAC-SHA1) over everything written so far.</summary>
    public void AddMessageIntegrity(ReadOnlySpan<byte> key)
    {
        int start = _length;
        var value = AddAttribute(StunAttributeType.MessageIntegrity, StunMessage.MessageIntegrityLength);
        StunMessage.ComputeMac(_buffer[..start], StunMessage.MessageIntegrityLength, key, value, sha256: false);
    }

    /// <summary>MESSAGE-INTEGRITY-SHA256 (full 32-byte HMAC-SHA256) over everything written so far.</summary>
    public void AddMessageIntegritySha256(ReadOnlySpan<byte> key)
    {
        int start = _length;
        var value = AddAttribute(StunAttributeType.MessageIntegritySha256, 32);
        StunMessage.ComputeMac(_buffer[..start], 32, key, value, sha256: true);
    }

    /// <summary>FINGERPRINT (CRC-32 XOR 0x5354554e); must be the last attribute.</summary>
    public void AddFingerprint()
    {
        int start = _length;
        var value = AddAttribute(StunAttributeType.Fingerprint, 4);
        BinaryPrimitives.WriteUInt32BigEndian(value, Crc32.HashToUInt32(_buffer[..start]) ^ StunMessage.FingerprintXor);
    }
}
