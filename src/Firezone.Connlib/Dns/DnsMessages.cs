using System.Buffers.Binary;

namespace Firezone.Connlib.Dns;

/// <summary>
/// The small DNS operations the client tunnel needs around its stub resolver (tunnel spec §4.4, §4.7), on spans and
/// without allocating: reading a query's id, name and type without a full parse, SERVFAIL and NXDOMAIN replies to a
/// given query, and the UDP truncation of oversized responses.
/// </summary>
internal static class DnsMessages
{
    /// <summary>
    /// The largest UDP DNS response passed on unchanged (<c>MAX_DATAGRAM_PAYLOAD</c>: 1280 + 32 WireGuard + 20 NAT46
    /// headroom + 4 TURN channel-data).
    /// </summary>
    public const int MaxUdpResponseLength = 1336;

    /// <summary>A buffer of this size holds every reply <see cref="WriteError"/> and the stub resolver write for a query of up to 512 bytes.</summary>
    public const int MinResponseBufferLength = 1024;

    /// <summary>
    /// Reads the id and the first question (name uncompressed into <paramref name="nameBuffer"/>, at least 255 bytes)
    /// of a message; false when the header is missing, there is no question or the first one is malformed. Does not
    /// look at the QR bit or the other sections.
    /// </summary>
    public static bool TryReadQuery(ReadOnlySpan<byte> message, Span<byte> nameBuffer, out DnsHeader header, out DnsQuestion question)
    {
        question = default;
        return DnsHeader.TryRead(message, out header) && header.QuestionCount > 0 &&
               DnsQuestion.TryRead(message, DnsHeader.Length, nameBuffer, out question);
    }

    /// <summary>
    /// Writes a reply with <paramref name="responseCode"/> and no records to the query <paramref name="query"/>, as
    /// upstream's <c>servfail</c> and its DoH-canary NXDOMAIN do: id, opcode and RD copied, QR set, RA clear, and the
    /// query's questions copied until the first malformed one (or until the buffer is full). Returns the length, or 0
    /// when the query has no complete header (nothing to answer).
    /// </summary>
    public static int WriteError(ReadOnlySpan<byte> query, Span<byte> destination, DnsResponseCode responseCode)
    {
        if (!DnsHeader.TryRead(query, out var header) || destination.Length < DnsHeader.Length)
        {
            return 0;
        }

        var writer = new DnsResponseWriter(destination, header, responseCode, recursionAvailable: false);
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        int position = DnsHeader.Length;
        for (int i = 0; i < header.QuestionCount; i++)
        {
            if (!DnsQuestion.TryRead(query, position, name, out var question) ||
                !writer.AddQuestion(name[..question.NameLength], question.Type, question.Class))
            {
                break;
            }

            position = question.End;
        }

        return writer.Length;
    }

    /// <summary>SERVFAIL to <paramref name="query"/> (see <see cref="WriteError"/>).</summary>
    public static int WriteServFail(ReadOnlySpan<byte> query, Span<byte> destination) =>
        WriteError(query, destination, DnsResponseCode.ServFail);

    /// <summary>NXDOMAIN to <paramref name="query"/> (see <see cref="WriteError"/>).</summary>
    public static int WriteNxDomain(ReadOnlySpan<byte> query, Span<byte> destination) =>
        WriteError(query, destination, DnsResponseCode.NxDomain);

    /// <summary>
    /// UDP truncation of a response (tunnel spec §4.7, upstream's <c>truncate_dns_response</c>): a response of at most
    /// <see cref="MaxUdpResponseLength"/> bytes is left alone; a longer one gets TC set and is cut right after its
    /// question section (after the header only when the question section is malformed or itself too long). The
    /// answer/authority/additional counts are set to zero (and the question count too when cut after the header), so
    /// the result is a well-formed message; upstream leaves the counts, announcing records that are not there, which
    /// strict parsers reject (found by the tunnel model test; fixed on purpose). Works in place; returns the new length
    /// (the input length when unchanged, 0 for a message shorter than a header that is too long, which cannot happen
    /// for a 1336-byte limit).
    /// </summary>
    public static int TruncateForUdp(Span<byte> response) => TruncateForUdp(response, MaxUdpResponseLength);

    /// <summary>
    /// <see cref="TruncateForUdp(Span{byte})"/> with another limit: the client uses the room one 1280-byte IP packet has
    /// for a UDP payload (1252 bytes on IPv4, 1232 on IPv6), so no answer between that and 1336 bytes is lost
    /// (upstream drops those, §11.9; a deliberate fix). <paramref name="maxLength"/> must be at least a header.
    /// </summary>
    public static int TruncateForUdp(Span<byte> response, int maxLength)
    {
        if (response.Length <= maxLength)
        {
            return response.Length;
        }

        int questionEnd = DnsQuestion.SectionEnd(response);
        int cut = questionEnd > 0 && questionEnd <= maxLength ? questionEnd : DnsHeader.Length;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(response[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], (ushort)(flags | DnsHeader.TruncatedFlag));
        if (cut == DnsHeader.Length)
        {
            response[4..6].Clear(); // QDCOUNT: the question was not kept
        }

        response[6..12].Clear(); // ANCOUNT, NSCOUNT, ARCOUNT: nothing of those sections was kept
        return cut;
    }
}
