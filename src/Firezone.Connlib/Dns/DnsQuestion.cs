using System.Buffers.Binary;

namespace Firezone.Connlib.Dns;

/// <summary>
/// One entry of a message's question section (RFC 1035 §4.1.2): its name (uncompressed, in the caller's buffer),
/// type and class, and where the entry ends in the message.
/// </summary>
/// <param name="NameLength">The length of the uncompressed wire name written to the caller's buffer.</param>
/// <param name="Type">QTYPE.</param>
/// <param name="Class">QCLASS.</param>
/// <param name="End">The offset right after this entry in the message.</param>
internal readonly record struct DnsQuestion(int NameLength, DnsRecordType Type, ushort Class, int End)
{
    /// <summary>The Internet class.</summary>
    public const ushort ClassIn = 1;

    /// <summary>Reads the question entry at <paramref name="offset"/>, writing its name to <paramref name="nameBuffer"/> (at least 255 bytes).</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, int offset, Span<byte> nameBuffer, out DnsQuestion question)
    {
        if (!DnsName.TryRead(message, offset, nameBuffer, out int nameLength, out int end) || end + 4 > message.Length)
        {
            question = default;
            return false;
        }

        question = new DnsQuestion(
            nameLength,
            (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(message[end..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[(end + 2)..]),
            end + 4);
        return true;
    }

    /// <summary>The offset right after the whole question section, or -1 when the header is missing or an entry is malformed.</summary>
    public static int SectionEnd(ReadOnlySpan<byte> message)
    {
        if (!DnsHeader.TryRead(message, out var header))
        {
            return -1;
        }

        int position = DnsHeader.Length;
        for (int i = 0; i < header.QuestionCount; i++)
        {
            if (!DnsName.TrySkip(message, position, out int end) || end + 4 > message.Length)
            {
                return -1;
            }

            position = end + 4;
        }

        return position;
    }
}
