using System.Buffers.Binary;

namespace Firezone.Snownet.Stun;

/// <summary>
/// The fixed 20-byte STUN header: message type (class + method), length, magic cookie, transaction id.
/// Readable on its own so a server can answer a message whose attributes are broken.
/// </summary>
internal readonly record struct StunHeader(StunClass Class, StunMethod Method, ushort Length, TransactionId TransactionId)
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Size = 20;

    /// <summary>The magic cookie 0x2112A442.</summary>
    public const uint MagicCookie = 0x2112A442;

    /// <summary>
    /// Reads the header. Succeeds when there are at least 20 bytes, the top two bits are zero and the magic cookie matches;
    /// the declared length is not checked against the datagram here.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out StunHeader header)
    {
        header = default;
        if (datagram.Length < Size || (datagram[0] & 0xC0) != 0
            || BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != MagicCookie)
        {
            return false;
        }

        ushort type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        header = new StunHeader(
            DecodeClass(type),
            DecodeMethod(type),
            BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]),
            new TransactionId(datagram.Slice(8, TransactionId.Length)));
        return true;
    }

    /// <summary>Quick demultiplexing check: first byte 0x00–0x03, at least 20 bytes and the magic cookie.</summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= Size && datagram[0] < 4 && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    /// <summary>Encodes method and class into the 14-bit message type.</summary>
    public static ushort EncodeType(StunMethod method, StunClass cls)
    {
        int m = (int)method & 0x0FFF;
        int c = (int)cls;
        return (ushort)((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
    }

    /// <summary>The method part of a message type.</summary>
    public static StunMethod DecodeMethod(ushort type) =>
        (StunMethod)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));

    /// <summary>The class part of a message type.</summary>
    public static StunClass DecodeClass(ushort type) => (StunClass)(((type >> 4) & 1) | ((type >> 7) & 2));
}
