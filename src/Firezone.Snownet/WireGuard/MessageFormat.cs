using System.Buffers.Binary;

namespace Firezone.Snownet.WireGuard;

/// <summary>WireGuard message types, sizes and field offsets (whitepaper §5.4). Indices and counters are little-endian.</summary>
internal static class MessageFormat
{
    /// <summary>Handshake initiation type.</summary>
    public const byte TypeInitiation = 1;
    /// <summary>Handshake response type.</summary>
    public const byte TypeResponse = 2;
    /// <summary>Cookie reply type.</summary>
    public const byte TypeCookieReply = 3;
    /// <summary>Transport data type.</summary>
    public const byte TypeData = 4;

    /// <summary>Size of a handshake initiation.</summary>
    public const int InitiationLength = 148;
    /// <summary>Size of a handshake response.</summary>
    public const int ResponseLength = 92;
    /// <summary>Size of a cookie reply.</summary>
    public const int CookieReplyLength = 64;
    /// <summary>Transport header: type, receiver index, counter.</summary>
    public const int DataHeaderLength = 16;
    /// <summary>Poly1305 tag length.</summary>
    public const int TagLength = 16;
    /// <summary>Bytes added to an IP packet by transport encryption.</summary>
    public const int DataOverhead = DataHeaderLength + TagLength;

    // Initiation: type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1(16) mac2(16)
    /// <summary>Offset of the initiation's sender index.</summary>
    public const int InitSender = 4;
    /// <summary>Offset of the initiation's unencrypted ephemeral key.</summary>
    public const int InitEphemeral = 8;
    /// <summary>Offset of the initiation's encrypted static key.</summary>
    public const int InitStatic = 40;
    /// <summary>Offset of the initiation's encrypted TAI64N timestamp.</summary>
    public const int InitTimestamp = 88;
    /// <summary>Offset of the initiation's mac1.</summary>
    public const int InitMac1 = 116;
    /// <summary>Offset of the initiation's mac2.</summary>
    public const int InitMac2 = 132;

    // Response: type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1(16) mac2(16)
    /// <summary>Offset of the response's sender index.</summary>
    public const int RespSender = 4;
    /// <summary>Offset of the response's receiver index.</summary>
    public const int RespReceiver = 8;
    /// <summary>Offset of the response's ephemeral key.</summary>
    public const int RespEphemeral = 12;
    /// <summary>Offset of the response's encrypted empty payload.</summary>
    public const int RespEmpty = 44;
    /// <summary>Offset of the response's mac1.</summary>
    public const int RespMac1 = 60;
    /// <summary>Offset of the response's mac2.</summary>
    public const int RespMac2 = 76;

    // Cookie reply: type(4) receiver(4) nonce(24) cookie(16+16)
    /// <summary>Offset of the cookie reply's receiver index.</summary>
    public const int CookieReceiver = 4;
    /// <summary>Offset of the cookie reply's XChaCha20 nonce.</summary>
    public const int CookieNonce = 8;
    /// <summary>Offset of the cookie reply's encrypted cookie.</summary>
    public const int CookieEncrypted = 32;

    // Transport: type(4) receiver(4) counter(8) data
    /// <summary>Offset of the transport receiver index.</summary>
    public const int DataReceiver = 4;
    /// <summary>Offset of the transport counter.</summary>
    public const int DataCounter = 8;

    /// <summary>Kind of a datagram, by its type byte, the three reserved zero bytes and its length.</summary>
    public static byte Classify(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 4) return 0;
        if (datagram[1] != 0 || datagram[2] != 0 || datagram[3] != 0) return 0;
        return datagram[0] switch
        {
            TypeInitiation when datagram.Length == InitiationLength => TypeInitiation,
            TypeResponse when datagram.Length == ResponseLength => TypeResponse,
            TypeCookieReply when datagram.Length == CookieReplyLength => TypeCookieReply,
            TypeData when datagram.Length >= DataOverhead => TypeData,
            _ => 0,
        };
    }

    /// <summary>Writes the type byte followed by three zero bytes.</summary>
    public static void WriteType(Span<byte> message, byte type) =>
        BinaryPrimitives.WriteUInt32LittleEndian(message, type);

    /// <summary>Reads a little-endian 32-bit index.</summary>
    public static uint ReadIndex(ReadOnlySpan<byte> message, int offset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(message[offset..]);

    /// <summary>Writes a little-endian 32-bit index.</summary>
    public static void WriteIndex(Span<byte> message, int offset, uint index) =>
        BinaryPrimitives.WriteUInt32LittleEndian(message[offset..], index);
}
