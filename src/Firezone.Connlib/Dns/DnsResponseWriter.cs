using System.Buffers.Binary;

namespace Firezone.Connlib.Dns;

/// <summary>
/// Writes a response to a query into a caller buffer, the way upstream's <c>MessageBuilder::start_answer</c> does
/// (tunnel spec §4.7): id, opcode and RD copied from the query, QR set, the response code, RA only when asked
/// (upstream sets it on NOERROR answers, not on NXDOMAIN/SERVFAIL), AA/TC/AD/CD clear, no EDNS. Questions are written
/// uncompressed; answer owner names are a compression pointer to the first question's name (upstream writes them
/// uncompressed: the same message, a few bytes shorter). Every append checks the remaining space and returns false
/// when it does not fit, leaving the message as it was before the call.
/// </summary>
internal ref struct DnsResponseWriter
{
    private const ushort FirstQuestionPointer = 0xC000 | DnsHeader.Length;
    private readonly Span<byte> _buffer;
    private int _questions;
    private int _answers;
    private bool _answersStarted;

    /// <summary>Starts a response to <paramref name="query"/>; the buffer must hold at least the 12-byte header.</summary>
    public DnsResponseWriter(Span<byte> buffer, in DnsHeader query, DnsResponseCode responseCode, bool recursionAvailable)
    {
        if (buffer.Length < DnsHeader.Length)
        {
            throw new ArgumentException("The response buffer must hold at least a DNS header.", nameof(buffer));
        }

        _buffer = buffer;
        int flags = DnsHeader.ResponseFlag | (query.Flags & (0x7800 | DnsHeader.RecursionDesiredFlag)) | (int)responseCode;
        if (recursionAvailable)
        {
            flags |= DnsHeader.RecursionAvailableFlag;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer, query.Id);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)flags);
        buffer.Slice(4, 8).Clear();
        Length = DnsHeader.Length;
    }

    /// <summary>The number of bytes written so far.</summary>
    public int Length { get; private set; }

    /// <summary>Appends a question (name in uncompressed wire form); only before the first answer.</summary>
    public bool AddQuestion(ReadOnlySpan<byte> wireName, DnsRecordType type, ushort @class)
    {
        if (_answersStarted || Length + wireName.Length + 4 > _buffer.Length)
        {
            return false;
        }

        wireName.CopyTo(_buffer[Length..]);
        int p = Length + wireName.Length;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[p..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(p + 2)..], @class);
        Length = p + 4;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[4..], (ushort)++_questions);
        return true;
    }

    /// <summary>Appends an A (4-byte address) or AAAA (16-byte address) record owned by the first question's name, class IN.</summary>
    public bool AddAddress(ReadOnlySpan<byte> address, uint ttl) =>
        AddRecord(address.Length == 4 ? DnsRecordType.A : DnsRecordType.Aaaa, ttl, address);

    /// <summary>Appends a PTR record (target in uncompressed wire form) owned by the first question's name, class IN.</summary>
    public bool AddPtr(ReadOnlySpan<byte> targetWireName, uint ttl) => AddRecord(DnsRecordType.Ptr, ttl, targetWireName);

    private bool AddRecord(DnsRecordType type, uint ttl, ReadOnlySpan<byte> data)
    {
        if (_questions == 0 || Length + 12 + data.Length > _buffer.Length || _answers == ushort.MaxValue)
        {
            return false;
        }

        var record = _buffer[Length..];
        BinaryPrimitives.WriteUInt16BigEndian(record, FirstQuestionPointer);
        BinaryPrimitives.WriteUInt16BigEndian(record[2..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(record[4..], DnsQuestion.ClassIn);
        BinaryPrimitives.WriteUInt32BigEndian(record[6..], ttl);
        BinaryPrimitives.WriteUInt16BigEndian(record[10..], (ushort)data.Length);
        data.CopyTo(record[12..]);
        Length += 12 + data.Length;
        _answersStarted = true;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[6..], (ushort)++_answers);
        return true;
    }
}
