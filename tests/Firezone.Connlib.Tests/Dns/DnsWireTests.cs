using System.Buffers.Binary;
using Ar = ARSoft.Tools.Net.Dns;
using Firezone.Connlib.Dns;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>The span-based DNS wire helpers: names, questions, error replies and UDP truncation.</summary>
public sealed class DnsWireTests
{
    [Fact]
    public void Reads_a_query_id_name_and_type_without_a_full_parse()
    {
        var query = Query("Example.COM", DnsRecordType.Aaaa, id: 0xBEEF);
        Span<byte> name = stackalloc byte[255];
        Assert.True(DnsMessages.TryReadQuery(query, name, out var header, out var question));
        Assert.Equal(0xBEEF, header.Id);
        Assert.Equal(DnsRecordType.Aaaa, question.Type);
        Assert.Equal(DnsQuestion.ClassIn, question.Class);
        Assert.Equal(query.Length, question.End);
        Span<char> text = stackalloc char[DnsName.MaxPresentationLength];
        int n = DnsName.FormatPresentation(name[..question.NameLength], text, lowercase: false);
        Assert.Equal("Example.COM", text[..n].ToString());
        n = DnsName.FormatPresentation(name[..question.NameLength], text, lowercase: true);
        Assert.Equal("example.com", text[..n].ToString());
    }

    [Fact]
    public void Compression_pointers_are_followed_backwards_only()
    {
        // Header, then "foo" + pointer to a name stored in the header area is not possible; build: name1 at 12, name2 = "www" + ptr(12).
        var m = new List<byte>(new byte[12]);
        m.AddRange(Name("example.com"));
        int second = m.Count;
        m.AddRange([3, (byte)'w', (byte)'w', (byte)'w', 0xC0, 12]);
        var message = m.ToArray();
        Span<byte> name = stackalloc byte[255];
        Assert.True(DnsName.TryRead(message, second, name, out int written, out int end));
        Assert.Equal(message.Length, end);
        Assert.Equal(Name("www.example.com"), name[..written].ToArray());

        // A pointer to itself or forwards is a loop: rejected.
        message[^1] = (byte)second;
        Assert.False(DnsName.TryRead(message, second, name, out _, out _));
        message[^1] = (byte)(message.Length - 2);
        Assert.False(DnsName.TryRead(message, second, name, out _, out _));
    }

    [Theory]
    [InlineData(new byte[] { 5, (byte)'a' })] // label past the end
    [InlineData(new byte[] { 0x40, 0 })] // extended label type
    [InlineData(new byte[] { 0x80, 0 })] // reserved label type
    [InlineData(new byte[] { 0xC0 })] // half a pointer
    [InlineData(new byte[] { 1, (byte)'a' })] // no root label
    public void Malformed_names_are_rejected(byte[] name)
    {
        var message = new byte[12].Concat(name).ToArray();
        Assert.False(DnsName.TryRead(message, 12, new byte[255], out _, out _));
    }

    [Fact]
    public void Names_longer_than_255_bytes_are_rejected()
    {
        var m = new List<byte>(new byte[12]);
        for (int i = 0; i < 5; i++)
        {
            m.Add(63);
            m.AddRange(Enumerable.Repeat((byte)'a', 63));
        }

        m.Add(0);
        Assert.False(DnsName.TryRead(m.ToArray(), 12, new byte[255], out _, out _));
        Assert.False(DnsName.TrySkip(m.ToArray(), 12, out _));
    }

    [Fact]
    public void Presentation_escapes_like_the_rust_domain_crate()
    {
        byte[] wire = [3, (byte)'a', (byte)'.', (byte)'\\', 2, 0x07, (byte)'Z', 0];
        Span<char> text = stackalloc char[64];
        int n = DnsName.FormatPresentation(wire, text, lowercase: true);
        Assert.Equal(@"a\.\\.\007z", text[..n].ToString());
    }

    [Fact]
    public void Servfail_copies_id_opcode_rd_and_the_question_and_sets_qr_without_ra()
    {
        var query = Query("example.com", DnsRecordType.Mx, id: 77);
        var buffer = new byte[512];
        int n = DnsMessages.WriteServFail(query, buffer);
        var parsed = Parse(buffer.AsSpan(0, n));
        Assert.Equal(77, parsed.TransactionID);
        Assert.False(parsed.IsQuery);
        Assert.Equal(Ar.ReturnCode.ServerFailure, parsed.ReturnCode);
        Assert.True(parsed.IsRecursionDesired);
        Assert.False(parsed.IsRecursionAllowed);
        Assert.Equal("example.com.", parsed.Questions.Single().Name.ToString());
        Assert.Equal(Ar.RecordType.Mx, parsed.Questions.Single().RecordType);
        Assert.Empty(parsed.AnswerRecords);
    }

    [Fact]
    public void Nxdomain_builder_copies_every_question()
    {
        var query = Query(5, 0, ("a.example", 1), ("b.example", 28));
        var buffer = new byte[512];
        var parsed = Parse(buffer.AsSpan(0, DnsMessages.WriteNxDomain(query, buffer)));
        Assert.Equal(Ar.ReturnCode.NxDomain, parsed.ReturnCode);
        Assert.Equal(["a.example.", "b.example."], parsed.Questions.Select(q => q.Name.ToString()));
        Assert.False(parsed.IsRecursionDesired);
    }

    [Fact]
    public void Error_reply_to_less_than_a_header_is_nothing() =>
        Assert.Equal(0, DnsMessages.WriteServFail(new byte[11], new byte[512]));

    [Fact]
    public void Udp_responses_up_to_1336_bytes_are_left_alone()
    {
        var response = BigResponse(1336);
        var copy = response.ToArray();
        Assert.Equal(1336, DnsMessages.TruncateForUdp(response));
        Assert.Equal(copy, response);
    }

    [Fact]
    public void Udp_responses_over_1336_bytes_get_tc_and_are_cut_after_the_question_with_zero_record_counts_deliberate_fix()
    {
        // Upstream leaves ANCOUNT as it was, announcing records that were cut: a malformed message. We zero the counts,
        // and an independent parser (ARSoft) reads the result as a truncated answer with its question and no records.
        var response = BigResponse(1337);
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(response.AsSpan(6)));
        int questionEnd = 12 + Name("big.example.com").Length + 4;
        int n = DnsMessages.TruncateForUdp(response);
        Assert.Equal(questionEnd, n);
        var parsed = Parse(response.AsSpan(0, n));
        Assert.True(parsed.IsTruncated);
        Assert.Equal("big.example.com.", Assert.Single(parsed.Questions).Name.ToString());
        Assert.Empty(parsed.AnswerRecords);
        Assert.Empty(parsed.AuthorityRecords);
        Assert.Empty(parsed.AdditionalRecords);
    }

    [Fact]
    public void Oversized_udp_response_with_a_malformed_question_is_cut_after_the_header()
    {
        var response = new byte[2000];
        response[5] = 1; // one question, then garbage label types
        response.AsSpan(12).Fill(0x80);
        Assert.Equal(12, DnsMessages.TruncateForUdp(response));
        Assert.True(response.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0); // no section announced: a bare header
    }

    /// <summary>A response to an A query for big.example.com padded with TXT answers to exactly <paramref name="length"/> bytes.</summary>
    private static byte[] BigResponse(int length)
    {
        var m = new List<byte>(Query("big.example.com", DnsRecordType.A));
        m[2] |= 0x80;
        int answers = 0;
        while (m.Count < length)
        {
            int room = length - m.Count - 12; // pointer 2 + type/class/ttl/rdlength 10
            int data = Math.Min(room, 200);
            if (data < 1)
            {
                // Pad the previous TXT record's string instead (keeps the message exact and well-formed).
                throw new InvalidOperationException("bad padding");
            }

            m.AddRange([0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, (byte)(data >> 8), (byte)data, (byte)(data - 1)]);
            m.AddRange(Enumerable.Repeat((byte)'x', data - 1));
            answers++;
            if (length - m.Count is > 0 and < 13)
            {
                // Grow the last record so the next one is not needed.
                int extra = length - m.Count;
                m.AddRange(Enumerable.Repeat((byte)'x', extra));
                int rdlengthAt = m.Count - data - extra - 2;
                int newLength = data + extra;
                m[rdlengthAt] = (byte)(newLength >> 8);
                m[rdlengthAt + 1] = (byte)newLength;
                m[rdlengthAt + 2] = (byte)(newLength - 1 > 255 ? 255 : newLength - 1);
            }
        }

        var bytes = m.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), (ushort)answers);
        return bytes;
    }
}
