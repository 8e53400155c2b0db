using System.Net;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Firezone.Connlib.Dns;
using Mk = Makaretu.Dns;
using Ar = ARSoft.Tools.Net.Dns;

namespace Firezone.Benchmarks.Dns;

/// <summary>
/// The DNS library evaluation (src/Firezone.Connlib/README.md, "DNS"): the per-query work of the stub resolver's hot
/// path — read a query, build an answer with four A records — with each candidate, against Connlib's span codec.
/// ARSoft.Tools.Net and DnsClient have no public message encoder, so only their parsing is measured; parsing a
/// 5-answer response (with name compression) is measured for the libraries that parse whole messages.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[Config(typeof(OpsPerSecondConfig))]
public class DnsCodecBenchmarks
{
    private static readonly byte[] Query = BuildQuery();
    private static readonly byte[] Response = BuildResponse();
    private static readonly IPAddress[] Addresses = [IPAddress.Parse("100.96.0.1"), IPAddress.Parse("100.96.0.2"), IPAddress.Parse("100.96.0.3"), IPAddress.Parse("100.96.0.4")];
    private static readonly byte[] AddressBytes = [.. Addresses.SelectMany(a => a.GetAddressBytes())];
    private readonly byte[] _buffer = new byte[DnsMessages.MinResponseBufferLength];

    private sealed class OpsPerSecondConfig : ManualConfig
    {
        public OpsPerSecondConfig() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.OperationsPerSecond);
    }

    /// <summary>Connlib: read the header and question (no full parse), write header, question and 4 A records.</summary>
    [Benchmark(Baseline = true)]
    public int Connlib_query_to_A_answer()
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        DnsMessages.TryReadQuery(Query, name, out var header, out var question);
        var writer = new DnsResponseWriter(_buffer, header, DnsResponseCode.NoError, recursionAvailable: true);
        writer.AddQuestion(name[..question.NameLength], question.Type, question.Class);
        for (int i = 0; i < 16; i += 4)
        {
            writer.AddAddress(AddressBytes.AsSpan(i, 4), 1);
        }

        return writer.Length;
    }

    /// <summary>Makaretu.Dns: Message.Read, CreateResponse, 4 ARecords, ToByteArray.</summary>
    [Benchmark]
    public int Makaretu_query_to_A_answer()
    {
        var query = new Mk.Message();
        query.Read(Query, 0, Query.Length);
        var response = query.CreateResponse();
        response.RA = true;
        foreach (var a in Addresses)
        {
            response.Answers.Add(new Mk.ARecord { Name = query.Questions[0].Name, Address = a, TTL = TimeSpan.FromSeconds(1) });
        }

        return response.ToByteArray().Length;
    }

    /// <summary>ARSoft.Tools.Net: DnsMessage.Parse of the query (its encoder is internal).</summary>
    [Benchmark]
    public int ARSoft_parse_query() => Ar.DnsMessage.Parse(new ArraySegment<byte>(Query)).Questions.Count;

    /// <summary>DnsClient: its public DnsDatagramReader reading header and question (it has no public message parser or builder).</summary>
    [Benchmark]
    public int DnsClient_read_query()
    {
        var reader = new DnsClient.DnsDatagramReader(new ArraySegment<byte>(Query));
        int id = reader.ReadUInt16NetworkOrder();
        for (int i = 0; i < 5; i++)
        {
            reader.ReadUInt16NetworkOrder();
        }

        var name = reader.ReadQuestionQueryString();
        return id + reader.ReadUInt16NetworkOrder() + name.Value.Length;
    }

    /// <summary>Connlib on a response: the UDP truncation check (question section walk) it needs for forwarded answers.</summary>
    [Benchmark]
    public int Connlib_response_question_end() => DnsQuestion.SectionEnd(Response);

    /// <summary>Makaretu.Dns: full parse of a 5-answer response.</summary>
    [Benchmark]
    public int Makaretu_parse_response()
    {
        var m = new Mk.Message();
        m.Read(Response, 0, Response.Length);
        return m.Answers.Count;
    }

    /// <summary>ARSoft.Tools.Net: full parse of a 5-answer response.</summary>
    [Benchmark]
    public int ARSoft_parse_response() => Ar.DnsMessage.Parse(new ArraySegment<byte>(Response)).AnswerRecords.Count;

    private static byte[] BuildQuery()
    {
        var m = new List<byte> { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in "app.example.com".Split('.'))
        {
            m.Add((byte)label.Length);
            m.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }

        m.AddRange([0, 0, 1, 0, 1]);
        return [.. m];
    }

    private static byte[] BuildResponse()
    {
        var m = new List<byte>(BuildQuery());
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 5;
        for (byte i = 1; i <= 5; i++)
        {
            m.AddRange([0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, i]);
        }

        return [.. m];
    }
}
