using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Firezone.Connlib.Tcp;
using static Firezone.Connlib.Tests.Client.ClientTestKit;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;
using Ar = ARSoft.Tools.Net.Dns;

namespace Firezone.Connlib.Tests.Client;

/// <summary>DNS over TCP on the client (tunnel spec §4.4 step 1, §4.7 TCP paragraphs, §4.8): an application's TCP connection to a sentinel, answered locally or by the host.</summary>
public sealed class ClientTcpDnsTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1);
    private static readonly IPEndPoint Upstream = new(IPAddress.Parse("198.18.53.53"), 53);
    private static readonly IPAddress Sentinel = IPAddress.Parse("100.100.111.1");
    private readonly byte[] _buffer = new byte[4096];
    private readonly byte[] _wire = new byte[Firezone.Snownet.Node.BufferSize];

    private static byte[] Frame(byte[] message)
    {
        var f = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(f, (ushort)message.Length);
        message.CopyTo(f, 2);
        return f;
    }

    /// <summary>Moves packets between the application's TCP stack and the client (TUN in, TUN out) until quiet.</summary>
    private void Shuttle(TcpSocketSet app, ClientState client, TimeSpan now)
    {
        for (int round = 0; round < 1000; round++)
        {
            bool any = false;
            int n;
            while ((n = app.PollTransmit(_buffer)) > 0)
            {
                any = true;
                client.HandleTunInput(_buffer.AsSpan(0, n).ToArray(), _wire, now);
            }

            client.HandleTimeout(now);
            while (client.PollPacket() is { } p)
            {
                any = true;
                app.HandleInput(p.ToArray(), now);
            }

            if (!any)
            {
                return;
            }
        }
    }

    private static List<byte[]> ReadMessages(TcpSocketSet app, TcpSocketHandle h)
    {
        var got = new List<byte>();
        var b = new byte[70000];
        while (app.Receive(h, b, out int n) == TcpResult.Ok && n > 0)
        {
            got.AddRange(b.AsSpan(0, n));
        }

        var messages = new List<byte[]>();
        var bytes = got.ToArray();
        for (int i = 0; i + 2 <= bytes.Length;)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(i));
            messages.Add(bytes.AsSpan(i + 2, length).ToArray());
            i += 2 + length;
        }

        return messages;
    }

    private (ClientState Client, TcpSocketSet App, TcpSocketHandle Handle) Connected()
    {
        var client = NewClient(T0);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [Upstream]));
        client.AddResource(DnsRes(1, "*.example.com"), T0);
        Drain(client);
        var random = new Random(5);
        var app = new TcpSocketSet(new TcpOptions(), b => random.NextBytes(b));
        var h = app.Connect(TcpEndpoint.From(TunnelV4, 0), TcpEndpoint.From(Sentinel, 53), T0)!.Value;
        Shuttle(app, client, T0);
        Assert.Equal(TcpState.Established, app.GetState(h));
        return (client, app, h);
    }

    [Fact]
    public void A_tcp_query_to_a_sentinel_for_a_dns_resource_is_answered_with_proxy_ips_on_the_same_connection()
    {
        var (client, app, h) = Connected();
        app.Send(h, Frame(Query("app.example.com", DnsRecordType.A, id: 0x0101)), out _);
        Shuttle(app, client, T0);
        var answer = Parse(Assert.Single(ReadMessages(app, h)));
        Assert.Equal(0x0101, answer.TransactionID);
        Assert.Equal(4, answer.AnswerRecords.Count);
        Assert.All(answer.AnswerRecords, r => Assert.True(IPNetwork.Parse("100.96.0.0/11").Contains(((Ar.ARecord)r).Address)));
    }

    [Fact]
    public void Pipelined_tcp_queries_are_each_answered()
    {
        var (client, app, h) = Connected();
        app.Send(h, [.. Frame(Query("a.example.com", DnsRecordType.A, id: 1)), .. Frame(Query("b.example.com", DnsRecordType.Aaaa, id: 2))], out _);
        Shuttle(app, client, T0);
        var answers = ReadMessages(app, h).Select(m => Parse(m)).ToList();
        Assert.Equal([1, 2], answers.Select(a => (int)a.TransactionID).Order());
    }

    [Fact]
    public void A_tcp_query_the_host_must_resolve_is_handed_out_and_its_answer_goes_back_on_the_connection()
    {
        var (client, app, h) = Connected();
        var query = Query("example.org", DnsRecordType.Mx, id: 0x0202);
        app.Send(h, Frame(query), out _);
        Shuttle(app, client, T0);
        var recursive = client.PollDnsQuery();
        Assert.NotNull(recursive);
        Assert.Equal(DnsTransport.Tcp, recursive.Transport);
        Assert.Equal(Upstream, recursive.Server);
        Assert.Equal(query, recursive.Message.ToArray());
        var response = query.ToArray();
        response[2] |= 0x80;
        client.HandleDnsResponse(recursive, response);
        Shuttle(app, client, T0);
        Assert.Equal(response, Assert.Single(ReadMessages(app, h)));
    }

    [Fact]
    public void A_failed_tcp_query_answers_servfail_even_on_timeout()
    {
        var (client, app, h) = Connected();
        app.Send(h, Frame(Query("example.org", DnsRecordType.Mx, id: 0x0303)), out _);
        Shuttle(app, client, T0);
        client.HandleDnsFailure(client.PollDnsQuery()!, DnsQueryFailure.Timeout);
        Shuttle(app, client, T0);
        var answer = Parse(Assert.Single(ReadMessages(app, h)));
        Assert.Equal(Ar.ReturnCode.ServerFailure, answer.ReturnCode);
    }

    [Fact]
    public void Tcp_to_a_sentinel_on_another_port_is_not_a_dns_query()
    {
        var client = NewClient(T0);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [Upstream]));
        Drain(client);
        var random = new Random(6);
        var app = new TcpSocketSet(new TcpOptions(), b => random.NextBytes(b));
        var h = app.Connect(TcpEndpoint.From(TunnelV4, 0), TcpEndpoint.From(Sentinel, 54), T0)!.Value;
        Shuttle(app, client, T0);
        Assert.NotEqual(TcpState.Established, app.GetState(h));
    }
}
