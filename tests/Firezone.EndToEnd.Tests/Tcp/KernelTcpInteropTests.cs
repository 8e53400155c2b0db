using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Firezone.Connlib.Tcp;
using Firezone.Tun;
using Firezone.Tun.Io;
using Firezone.Tun.Packets;
using Firezone.Tun.Tests.Linux;

namespace Firezone.EndToEnd.Tests.Tcp;

/// <summary>
/// Our sans-IO TCP engine against the Linux kernel's TCP through a real TUN device in a throw-away network namespace:
/// the kernel reaches the engine at 198.18.5.200 / 2001:2:0:6::1 (routed into the device), the engine reaches the
/// kernel at the device's own addresses. Root only (skipped with the reason otherwise).
/// </summary>
[Collection("netns")]
[SupportedOSPlatform("linux")]
public sealed class KernelTcpInteropTests
{
    private const int FromKernel = 300_000, FromEngine = 200_000;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static byte[] Data(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Engine_as_server_with_a_kernel_client_transfers_hundreds_of_kilobytes_each_way_and_closes(bool ipv6)
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        IPAddress engineAddress = ipv6 ? TunFixture.RemoteV6 : TunFixture.RemoteV4;
        byte[] kernelData = Data(FromKernel, 1), engineData = Data(FromEngine, 2);
        var driver = new EngineDriver(f.Tun);
        var listen = TcpEndpoint.From(engineAddress, 5300);
        driver.Set.Listen(listen, 1);
        Task<EngineDriver.Outcome> engine = Task.Factory.StartNew(() => driver.RunExchange(null, engineData, Limit), TaskCreationOptions.LongRunning);

        using var socket = f.Ns.Run(() => new Socket(engineAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        Task<byte[]> kernel = Task.Run(() => KernelExchange(socket, kernelData, connectTo: new IPEndPoint(engineAddress, 5300)));

        EngineDriver.Outcome outcome = await engine.WaitAsync(Limit + TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        byte[] receivedByKernel = await kernel.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(kernelData, outcome.Received);
        Assert.Equal(engineData, receivedByKernel);
        Assert.Equal(TcpEventKind.Closed, outcome.End);
        TestContext.Current.SendDiagnosticMessage($"engine server v{(ipv6 ? 6 : 4)}: {outcome.Packets} packets, {outcome.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Engine_as_client_of_a_kernel_listener_transfers_hundreds_of_kilobytes_each_way_and_closes(bool ipv6)
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        IPAddress engineAddress = ipv6 ? TunFixture.RemoteV6 : TunFixture.RemoteV4;
        IPAddress kernelAddress = ipv6 ? TunFixture.TunV6 : TunFixture.TunV4;
        byte[] kernelData = Data(FromKernel, 3), engineData = Data(FromEngine, 4);
        using var listener = f.Ns.Run(() =>
        {
            var s = new Socket(kernelAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(kernelAddress, 5301));
            s.Listen(4);
            return s;
        });
        Task<byte[]> kernel = Task.Run(() =>
        {
            using Socket accepted = listener.Accept();
            return KernelExchange(accepted, kernelData, connectTo: null);
        });
        var driver = new EngineDriver(f.Tun);
        var remote = TcpEndpoint.From(kernelAddress, 5301);
        Task<EngineDriver.Outcome> engine = Task.Factory.StartNew(
            () => driver.RunExchange((TcpEndpoint.From(engineAddress, 0), remote), engineData, Limit), TaskCreationOptions.LongRunning);

        EngineDriver.Outcome outcome = await engine.WaitAsync(Limit + TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        byte[] receivedByKernel = await kernel.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(kernelData, outcome.Received);
        Assert.Equal(engineData, receivedByKernel);
        Assert.Equal(TcpEventKind.Closed, outcome.End);
        Assert.InRange(outcome.LocalPort, 49152, 65535);
        TestContext.Current.SendDiagnosticMessage($"engine client v{(ipv6 ? 6 : 4)}: {outcome.Packets} packets, {outcome.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Kernel_refuses_the_engine_with_rst_and_the_engine_refuses_the_kernel_with_rst()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        var driver = new EngineDriver(f.Tun);
        // Engine → kernel port without a listener: the kernel's RST is a Reset event.
        var outcome = driver.RunExchange((TcpEndpoint.From(TunFixture.RemoteV4, 0), TcpEndpoint.From(TunFixture.TunV4, 5999)), [], TimeSpan.FromSeconds(10), untilEnd: true);
        Assert.Equal(TcpEventKind.Reset, outcome.End);

        // Kernel → engine address without a listener: our RST makes connect(2) fail with ECONNREFUSED.
        using var socket = f.Ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        var connect = Task.Run(() =>
        {
            try { socket.Connect(new IPEndPoint(TunFixture.RemoteV4, 5998)); return SocketError.Success; }
            catch (SocketException e) { return e.SocketErrorCode; }
        });
        var refused = driver.RunUntil(() => connect.IsCompleted, TimeSpan.FromSeconds(10));
        Assert.True(refused);
        Assert.Equal(SocketError.ConnectionRefused, await connect);
    }

    /// <summary>The kernel side: (connect,) send everything while reading everything, shut down sending, read to EOF.</summary>
    private static byte[] KernelExchange(Socket socket, byte[] toSend, IPEndPoint? connectTo)
    {
        socket.ReceiveTimeout = 30_000;
        socket.SendTimeout = 30_000;
        if (connectTo is not null) socket.Connect(connectTo);
        var received = new MemoryStream();
        var reader = Task.Run(() =>
        {
            byte[] buf = new byte[65536];
            int n;
            while ((n = socket.Receive(buf)) > 0) received.Write(buf, 0, n);
        });
        socket.Send(toSend);
        socket.Shutdown(SocketShutdown.Send);
        reader.Wait(TimeSpan.FromSeconds(40));
        return received.ToArray();
    }

    /// <summary>Runs a <see cref="TcpSocketSet"/> on a TUN device: reads packets in, writes packets out, fires timers.</summary>
    private sealed class EngineDriver(ITun tun)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        public TcpSocketSet Set { get; } = new(new TcpOptions(), b => Random.Shared.NextBytes(b));

        public sealed record Outcome(byte[] Received, TcpEventKind? End, long Packets, TimeSpan Elapsed, int LocalPort);

        /// <summary>Accepts one connection (or opens <paramref name="connect"/>), sends <paramref name="toSend"/>,
        /// closes, reads to EOF and waits for the connection's end.</summary>
        public Outcome RunExchange((TcpEndpoint Local, TcpEndpoint Remote)? connect, byte[] toSend, TimeSpan limit, bool untilEnd = false)
        {
            byte[] rx = new byte[IpConstants.BufferSize], tx = new byte[IpConstants.MaxPacketSize], read = new byte[65536];
            var received = new MemoryStream();
            TcpSocketHandle? h = connect is { } c ? Set.Connect(c.Local, c.Remote, _clock.Elapsed) : null;
            int written = 0, localPort = 0;
            bool closed = false, eof = false;
            TcpEventKind? end = null;
            long packets = 0;
            limit = _clock.Elapsed + limit;
            while (_clock.Elapsed < limit && !(eof && end is not null) && !(untilEnd && end is not null))
            {
                TimeSpan now = _clock.Elapsed;
                while (tun.TryRead(rx.AsSpan(IpConstants.Nat46Headroom, IpConstants.MaxPacketSize), out int n) == TunReadStatus.Packet)
                {
                    Set.HandleInput(rx.AsSpan(IpConstants.Nat46Headroom, n), now);
                    packets++;
                }
                Set.HandleTimeout(now);
                while (Set.TryPollEvent(out TcpEvent ev))
                {
                    if (ev.Kind == TcpEventKind.Accepted) h ??= ev.Handle;
                    if (ev.Kind is TcpEventKind.Closed or TcpEventKind.Reset or TcpEventKind.TimedOut) end ??= ev.Kind;
                    if (ev.Kind is TcpEventKind.Accepted or TcpEventKind.Connected) localPort = ev.Tuple.Local.Port;
                }
                if (h is { } handle)
                {
                    while (written < toSend.Length && Set.Send(handle, toSend.AsSpan(written), out int w) == TcpResult.Ok && w > 0) written += w;
                    if (written == toSend.Length && !closed) { Set.Close(handle); closed = true; }
                    while (true)
                    {
                        TcpResult r = Set.Receive(handle, read, out int got);
                        if (r == TcpResult.EndOfStream) { eof = true; break; }
                        if (r != TcpResult.Ok || got == 0) break;
                        received.Write(read, 0, got);
                    }
                }
                int m;
                while ((m = Set.PollTransmit(tx)) > 0) { tun.TryWrite(tx.AsSpan(0, m)); packets++; }
                TimeSpan wait = TimeSpan.FromMilliseconds(5);
                if (Set.PollTimeout() is { } t && t - _clock.Elapsed < wait) wait = t - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    using var cts = new CancellationTokenSource(wait);
                    try { tun.WaitReadableAsync(cts.Token).AsTask().Wait(); } catch (AggregateException) { }
                }
            }
            return new Outcome(received.ToArray(), end, packets, _clock.Elapsed, localPort);
        }

        /// <summary>Just moves packets and timers until <paramref name="done"/>; false on timeout.</summary>
        public bool RunUntil(Func<bool> done, TimeSpan limit)
        {
            byte[] rx = new byte[IpConstants.BufferSize], tx = new byte[IpConstants.MaxPacketSize];
            limit = _clock.Elapsed + limit;
            while (!done())
            {
                if (_clock.Elapsed > limit) return false;
                while (tun.TryRead(rx.AsSpan(IpConstants.Nat46Headroom, IpConstants.MaxPacketSize), out int n) == TunReadStatus.Packet)
                    Set.HandleInput(rx.AsSpan(IpConstants.Nat46Headroom, n), _clock.Elapsed);
                Set.HandleTimeout(_clock.Elapsed);
                int m;
                while ((m = Set.PollTransmit(tx)) > 0) tun.TryWrite(tx.AsSpan(0, m));
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(5));
                try { tun.WaitReadableAsync(cts.Token).AsTask().Wait(); } catch (AggregateException) { }
            }
            return true;
        }
    }
}
