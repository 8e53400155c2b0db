using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Client;
using Firezone.Connlib.Io;

namespace Firezone.Connlib.Tests.Io;

/// <summary>The client's recursive DNS on the host's sockets (hosts-and-tun spec §4.2 "one-shot", tunnel spec §1).</summary>
public sealed class RecursiveDnsClientTests
{
    private static readonly IPEndPoint Sentinel = new(IPAddress.Parse("100.100.111.1"), 53);
    private static readonly IPEndPoint App = new(IPAddress.Parse("100.64.0.1"), 40000);

    private static async Task<DnsQueryResult> RunAsync(DnsQuery query)
    {
        var done = new SemaphoreSlim(0);
        using var client = new RecursiveDnsClient(() => done.Release(), new TunnelCounters());
        Assert.True(client.Start(query));
        DnsQueryResult result;
        while (!client.TryTakeResult(out result))
        {
            Assert.True(await done.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        }

        return result;
    }

    [Fact]
    public async Task A_udp_query_goes_out_on_a_fresh_socket_and_the_servers_datagram_is_the_answer()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            var r = await server.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
            var answer = buffer[..r.ReceivedBytes];
            answer[2] |= 0x80; // QR
            await server.SendToAsync(answer, r.RemoteEndPoint);
        }, TestContext.Current.CancellationToken);

        var result = await RunAsync(new DnsQuery((IPEndPoint)server.LocalEndPoint!, new byte[] { 0x12, 0x34, 0x01, 0, 0, 0 }, DnsTransport.Udp, Sentinel, App, null));
        await serving;

        Assert.Equal([0x12, 0x34, 0x81, 0, 0, 0], result.Response);
    }

    [Fact]
    public async Task A_udp_answer_from_another_sender_than_the_server_is_a_failure()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var impostor = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        impostor.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            var r = await server.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
            await impostor.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint);
        }, TestContext.Current.CancellationToken);

        var result = await RunAsync(new DnsQuery((IPEndPoint)server.LocalEndPoint!, new byte[] { 1, 2 }, DnsTransport.Udp, Sentinel, App, null));
        await serving;

        Assert.Null(result.Response);
        Assert.Equal(DnsQueryFailure.Failed, result.Failure);
    }

    [Fact]
    public async Task A_tcp_query_uses_a_new_connection_with_two_byte_length_framing_both_ways()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var query = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var serving = Task.Run(async () =>
        {
            using var connection = await listener.AcceptAsync();
            var header = new byte[2];
            await connection.ReceiveAsync(header);
            int length = BinaryPrimitives.ReadUInt16BigEndian(header);
            var message = new byte[length];
            int read = 0;
            while (read < length)
            {
                read += await connection.ReceiveAsync(message.AsMemory(read));
            }

            var framed = new byte[2 + length];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)length);
            message.Reverse().ToArray().CopyTo(framed, 2);
            await connection.SendAsync(framed);
            return message;
        }, TestContext.Current.CancellationToken);

        var result = await RunAsync(new DnsQuery((IPEndPoint)listener.LocalEndPoint!, query, DnsTransport.Tcp, Sentinel, App, null));

        Assert.Equal(query, await serving);
        Assert.Equal(query.Reverse(), result.Response);
    }

    [Fact]
    public async Task A_refused_tcp_connection_is_a_failure()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var address = (IPEndPoint)closed.LocalEndPoint!; // bound, never listening: the connect is refused

        var result = await RunAsync(new DnsQuery(address, new byte[] { 1, 2 }, DnsTransport.Tcp, Sentinel, App, null));

        Assert.Equal(DnsQueryFailure.Failed, result.Failure);
    }
}
