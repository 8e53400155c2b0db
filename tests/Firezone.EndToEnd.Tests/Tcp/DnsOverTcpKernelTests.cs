using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Firezone.Connlib.Dns.Tcp;
using Firezone.Connlib.Tcp;
using Firezone.Tun;
using Firezone.Tun.Io;
using Firezone.Tun.Packets;
using Firezone.Tun.Tests.Linux;

namespace Firezone.EndToEnd.Tests.Tcp;

/// <summary>
/// The DNS-over-TCP glue against the kernel through a TUN device: a kernel TCP client pipelines framed queries to
/// <see cref="DnsOverTcpServer"/> on a "sentinel" routed into the device; <see cref="DnsOverTcpClient"/> queries a
/// kernel TCP "resolver" listening on the device's address. Root only (skipped with the reason otherwise).
/// </summary>
[Collection("netns")]
[SupportedOSPlatform("linux")]
public sealed class DnsOverTcpKernelTests
{
    private static byte[] Query(ushort id, int length)
    {
        byte[] m = new byte[length];
        new Random(id).NextBytes(m);
        BinaryPrimitives.WriteUInt16BigEndian(m, id);
        return m;
    }

    private static byte[] Answer(byte[] query) { byte[] a = query.ToArray(); a[^1] ^= 0x5A; return a; }

    /// <summary>Moves packets between the device and a sans-IO engine until <paramref name="done"/>.</summary>
    private static bool Pump(ITun tun, Func<Span<byte>, TimeSpan, bool> input, Func<Span<byte>, int> poll, Action<TimeSpan> timeout,
        Action<TimeSpan> app, Func<bool> done, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        byte[] rx = new byte[IpConstants.BufferSize], tx = new byte[IpConstants.MaxPacketSize];
        while (!done())
        {
            if (clock.Elapsed > limit) return false;
            while (tun.TryRead(rx.AsSpan(IpConstants.Nat46Headroom, IpConstants.MaxPacketSize), out int n) == TunReadStatus.Packet)
                input(rx.AsSpan(IpConstants.Nat46Headroom, n), clock.Elapsed);
            timeout(clock.Elapsed);
            app(clock.Elapsed);
            int m;
            while ((m = poll(tx)) > 0) tun.TryWrite(tx.AsSpan(0, m));
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(2));
            try { tun.WaitReadableAsync(cts.Token).AsTask().Wait(); } catch (AggregateException) { }
        }
        return true;
    }

    private static byte[] ReadFrame(Socket s)
    {
        byte[] len = new byte[2];
        ReadExactly(s, len);
        byte[] m = new byte[BinaryPrimitives.ReadUInt16BigEndian(len)];
        ReadExactly(s, m);
        return m;
    }

    private static void ReadExactly(Socket s, byte[] b)
    {
        int got = 0;
        while (got < b.Length)
        {
            int n = s.Receive(b, got, b.Length - got, SocketFlags.None);
            if (n == 0) throw new EndOfStreamException();
            got += n;
        }
    }

    private static byte[] Frame(byte[] m)
    {
        byte[] f = new byte[m.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(f, (ushort)m.Length);
        m.CopyTo(f, 2);
        return f;
    }

    [Fact]
    public async Task Kernel_client_pipelines_queries_to_the_server_on_a_sentinel_and_gets_every_answer()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        var server = new DnsOverTcpServer(b => Random.Shared.NextBytes(b));
        server.SetListenEndpoints([TcpEndpoint.From(TunFixture.RemoteV4, 53), TcpEndpoint.From(TunFixture.RemoteV6, 53)]);
        byte[][] queries = [Query(1, 40), Query(2, 3000), Query(3, 12), Query(4, 20_000)];
        using var socket = f.Ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        var kernel = Task.Run(() =>
        {
            socket.ReceiveTimeout = 20_000;
            socket.Connect(new IPEndPoint(TunFixture.RemoteV4, 53));
            socket.Send(queries.SelectMany(Frame).ToArray()); // all pipelined before any answer
            var answers = queries.Select(_ => ReadFrame(socket)).ToList();
            socket.Shutdown(SocketShutdown.Send);
            return answers;
        }, TestContext.Current.CancellationToken);
        int answered = 0;
        bool ok = Pump(f.Tun, (p, now) => server.HandleInput(p, now), server.PollTransmit, server.HandleTimeout,
            _ =>
            {
                while (server.TryPollQuery(out var q)) { Assert.True(server.SendResponse(q.Handle, Answer(q.Message))); answered++; }
            },
            () => kernel.IsCompleted && server.ConnectionCount == 0, TimeSpan.FromSeconds(30));
        Assert.True(ok, $"answered {answered}, kernel {kernel.Status}, connections {server.ConnectionCount}");
        var got = await kernel;
        Assert.Equal(queries.Select(Answer), got);
    }

    [Fact]
    public async Task Client_queries_a_kernel_resolver_through_the_device_pipelined_on_one_connection()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        var resolver = TcpEndpoint.From(TunFixture.TunV4, 5353);
        using var listener = f.Ns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(TunFixture.TunV4, 5353));
            s.Listen(4);
            return s;
        });
        int connections = 0;
        var kernel = Task.Run(() =>
        {
            using Socket c = listener.Accept();
            Interlocked.Increment(ref connections);
            c.ReceiveTimeout = 20_000;
            try
            {
                while (true) c.Send(Frame(Answer(ReadFrame(c))));
            }
            catch (EndOfStreamException) { }
            catch (SocketException) { }
        }, TestContext.Current.CancellationToken);
        var client = new DnsOverTcpClient(b => Random.Shared.NextBytes(b));
        client.Configure(TunFixture.RemoteV4, null, [resolver], TimeSpan.Zero);
        byte[][] queries = Enumerable.Range(1, 20).Select(i => Query((ushort)i, 30 + i * 200)).ToArray();
        var results = new List<DnsTcpResult>();
        bool sent = false;
        bool ok = Pump(f.Tun, (p, now) => client.HandleInput(p, now), client.PollTransmit, client.HandleTimeout,
            now =>
            {
                if (!sent) { foreach (var q in queries) Assert.Equal(DnsTcpSendError.None, client.SendQuery(resolver, q, now)); sent = true; }
                while (client.TryPollResult(out var r)) results.Add(r);
            },
            () => results.Count == queries.Length, TimeSpan.FromSeconds(30));
        Assert.True(ok, $"{results.Count} results");
        Assert.All(results, r => Assert.Equal(DnsTcpFailure.None, r.Failure));
        Assert.Equal(queries.Select(Answer), results.OrderBy(r => r.QueryId).Select(r => r.Response!));
        Assert.Equal(1, Volatile.Read(ref connections));
        client.Reset(TimeSpan.FromSeconds(1)); // RST: the kernel side's Receive fails and the task ends
        Pump(f.Tun, (p, now) => client.HandleInput(p, now), client.PollTransmit, client.HandleTimeout, _ => { }, () => kernel.IsCompleted, TimeSpan.FromSeconds(10));
        await kernel.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }
}
