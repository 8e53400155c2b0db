using System.Buffers.Binary;

namespace Firezone.Connlib.Dns;

/// <summary>The fixed 12-byte header of a DNS message (RFC 1035 §4.1.1), read without copying the message.</summary>
internal readonly record struct DnsHeader(ushort Id, ushort Flags, ushort QuestionCount, ushort AnswerCount, ushort AuthorityCount, ushort AdditionalCount)
{
    /// <summary>The length of the header in bytes.</summary>
    public const int Length = 12;

    /// <summary>The QR bit: the message is a response.</summary>
    public const ushort ResponseFlag = 0x8000;

    /// <summary>The TC bit: the message was truncated.</summary>
    public const ushort TruncatedFlag = 0x0200;

    /// <summary>The RD bit: recursion desired.</summary>
    public const ushort RecursionDesiredFlag = 0x0100;

    /// <summary>The RA bit: recursion available.</summary>
    public const ushort RecursionAvailableFlag = 0x0080;

    /// <summary>True for a response (QR set).</summary>
    public bool IsResponse => (Flags & ResponseFlag) != 0;

    /// <summary>True when TC is set.</summary>
    public bool IsTruncated => (Flags & TruncatedFlag) != 0;

    /// <summary>True when RD is set.</summary>
    public bool RecursionDesired => (Flags & RecursionDesiredFlag) != 0;

    /// <summary>True when RA is set.</summary>
    public bool RecursionAvailable => (Flags & RecursionAvailableFlag) != 0;

    /// <summary>The 4-bit opcode.</summary>
    public int Opcode => (Flags >> 11) & 0xF;

    /// <summary>The 4-bit response code.</summary>
    public DnsResponseCode ResponseCode => (DnsResponseCode)(Flags & 0xF);

    /// <summary>Reads the header; false when the message is shorter than 12 bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, out DnsHeader header)
    {
        if (message.Length < Length)
        {
            header = default;
            return false;
        }

        header = new DnsHeader(
            BinaryPrimitives.ReadUInt16BigEndian(message),
            BinaryPrimitives.ReadUInt16BigEndian(message[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[10..]));
        return true;
    }
}
