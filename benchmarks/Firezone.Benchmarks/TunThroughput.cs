using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Firezone.Tun;
using Firezone.Tun.Linux;
using Firezone.Tun.Netlink;
using Firezone.Tun.Packets;

namespace Firezone.Benchmarks;

/// <summary>
/// <c>tun-throughput [seconds] [rounds]</c>: packets/s of 1280-byte IPv4 UDP packets through a real <see cref="LinuxTun"/> in a
/// throw-away network namespace (needs root). Reads: a kernel UDP socket floods a prefix routed into the TUN while an
/// async consumer loops over <see cref="ITun"/>; measured for both <see cref="TunReadMode"/>s, alternating, in rounds:
/// (a) epoll one-shot readiness + non-blocking reads by the consumer and (b) a dedicated reader thread (poll + read)
/// handing packets to the consumer through a 1000-slot queue (upstream's design).
/// Writes: packets written into the TUN (c) addressed to a local UDP socket that drains them and (d) addressed to an
/// unrouted host, so the kernel drops them right after the write.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class TunThroughput
{
    private static readonly IPAddress Local = IPAddress.Parse("198.18.5.1");
    private static readonly IPAddress Remote = IPAddress.Parse("198.18.5.200");
    private const int PacketSize = IpConstants.MaxPacketSize;

    public static int Run(string[] args)
    {
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        if (!Environment.IsPrivilegedProcess || !File.Exists("/dev/net/tun"))
        {
            Console.WriteLine("tun-throughput needs root and /dev/net/tun (it creates a network namespace and a TUN device).");
            return 2;
        }
        Console.WriteLine($"TUN throughput, {PacketSize}-byte IPv4/UDP packets, {seconds:0.#} s per mode, {Environment.ProcessorCount} CPUs");
        using var ns = BenchNamespace.Create();
        var duration = TimeSpan.FromSeconds(seconds);
        for (int round = 1; round <= rounds; round++)
        {
            Report($"read,  epoll readiness      #{round}", WithTun(ns, TunReadMode.Epoll, tun => MeasureRead(ns, tun, duration)));
            Report($"read,  reader thread        #{round}", WithTun(ns, TunReadMode.ReaderThread, tun => MeasureRead(ns, tun, duration)));
        }
        Report("write, to a local UDP socket   ", WithTun(ns, TunReadMode.Epoll, tun => MeasureWrite(ns, tun, duration, toSocket: true)));
        Report("write, dropped by the kernel   ", WithTun(ns, TunReadMode.Epoll, tun => MeasureWrite(ns, tun, duration, toSocket: false)));
        return 0;
    }

    private static Result WithTun(BenchNamespace ns, TunReadMode mode, Func<LinuxTun, Result> measure)
    {
        var tun = ns.Run(() => LinuxTun.Create(readMode: mode));
        var manager = ns.Run(() => new TunDeviceManager());
        try
        {
            manager.SetAddresses(Local, null);
            manager.SetRoutes([IPNetwork.Parse("198.18.5.128/25")]);
            return measure(tun);
        }
        finally
        {
            manager.Dispose();
            tun.Dispose();
        }
    }

    private readonly record struct Result(double Seconds, long Primary, long Secondary, string PrimaryName, string SecondaryName);

    private static void Report(string name, Result r)
        => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {r.Primary / r.Seconds,12:N0} {r.PrimaryName}/s   ({r.Secondary / r.Seconds:N0} {r.SecondaryName}/s, {r.Primary * (double)PacketSize * 8 / r.Seconds / 1e9:0.00} Gbit/s)"));

    private static Result MeasureRead(BenchNamespace ns, LinuxTun tun, TimeSpan duration)
    {
        using var socket = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        socket.Connect(new IPEndPoint(Remote, 9));
        byte[] payload = new byte[PacketSize - 28];
        Drain(tun);
        using var cts = new CancellationTokenSource();
        long sent = 0;
        var sender = new Thread(() =>
        {
            while (!cts.IsCancellationRequested)
            {
                try { socket.Send(payload); sent++; }
                catch (SocketException) { } // ENOBUFS when the TUN queue is full
            }
        }) { IsBackground = true };
        var readTask = ReadAllAsync(tun, cts.Token);
        var sw = Stopwatch.StartNew();
        sender.Start();
        Thread.Sleep(duration);
        cts.Cancel();
        double elapsed = sw.Elapsed.TotalSeconds;
        long read = readTask.GetAwaiter().GetResult();
        sender.Join();
        return new Result(elapsed, read, sent, "packets read", "sent by the kernel socket");
    }

    private static void Drain(LinuxTun tun)
    {
        byte[] b = new byte[PacketSize];
        while (tun.TryRead(b, out _) == TunReadStatus.Packet) { }
    }

    /// <summary>The consumer: an async loop over the ITun API (TryRead until it would block, then await readiness).</summary>
    private static async Task<long> ReadAllAsync(LinuxTun tun, CancellationToken ct)
    {
        await Task.Yield();
        byte[] buffer = new byte[IpConstants.BufferSize];
        long count = 0;
        try
        {
            while (true)
            {
                var status = tun.TryRead(buffer.AsSpan(IpConstants.Nat46Headroom, PacketSize), out _);
                if (status == TunReadStatus.Packet) { count++; continue; }
                if (status == TunReadStatus.Closed || ct.IsCancellationRequested) break;
                await tun.WaitReadableAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        return count;
    }

    private static Result MeasureWrite(BenchNamespace ns, LinuxTun tun, TimeSpan duration, bool toSocket)
    {
        using var socket = ns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20, ReceiveTimeout = 200 };
            s.Bind(new IPEndPoint(Local, 0));
            return s;
        });
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        byte[] packet = new byte[IpConstants.BufferSize];
        IPAddress dst = toSocket ? Local : IPAddress.Parse("198.18.5.201");
        int n = PacketBuilder.Udp(packet, Remote, dst, 7000, (ushort)port, new byte[PacketSize - 28]);
        using var cts = new CancellationTokenSource();
        long received = 0;
        var receiver = new Thread(() =>
        {
            byte[] b = new byte[2048];
            while (!cts.IsCancellationRequested)
            {
                try { socket.Receive(b); received++; }
                catch (SocketException) { }
            }
        }) { IsBackground = true };
        receiver.Start();
        long written = 0, dropped = 0;
        var sw = Stopwatch.StartNew();
        var span = packet.AsSpan(0, n);
        while (sw.Elapsed < duration)
        {
            for (int i = 0; i < 256; i++)
            {
                if (tun.TryWrite(span)) written++; else dropped++;
            }
        }
        double elapsed = sw.Elapsed.TotalSeconds;
        Thread.Sleep(300);
        cts.Cancel();
        receiver.Join();
        return toSocket
            ? new Result(elapsed, written, received, "packets written", "received by the socket")
            : new Result(elapsed, written, dropped, "packets written", "write failures");
    }
}
