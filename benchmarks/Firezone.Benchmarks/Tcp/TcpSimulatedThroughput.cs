using System.Diagnostics;
using System.Net;
using Firezone.Connlib.Tcp;

namespace Firezone.Benchmarks.Tcp;

/// <summary>
/// <c>tcp-simulated</c>: bulk transfer between two <see cref="TcpSocketSet"/>s joined in memory (every packet delivered
/// at once, no loss), i.e. the engine's own cost per byte and per packet on one thread: segment building with checksums,
/// parsing and checksum verification, ring buffers, ACK processing. Prints MB/s, packets/s and bytes allocated.
/// </summary>
public static class TcpSimulatedThroughput
{
    public static int Run(string[] args)
    {
        long total = args.Length > 1 && long.TryParse(args[1], out long mb) ? mb * 1024 * 1024 : 256L * 1024 * 1024;
        Transfer(16L * 1024 * 1024); // warm-up
        var (elapsed, packets, allocated) = Transfer(total);
        double seconds = elapsed.TotalSeconds;
        Console.WriteLine($"tcp-simulated: {total / 1048576.0:F0} MiB one way in {seconds:F2} s = {total / 1048576.0 / seconds:F1} MiB/s, " +
            $"{packets / seconds / 1000:F0} k packets/s (data + ACKs), {allocated} bytes allocated after the handshake");
        return 0;
    }

    private static (TimeSpan Elapsed, long Packets, long Allocated) Transfer(long total)
    {
        var rng = new Random(1);
        var a = new TcpSocketSet(new TcpOptions(), b => rng.NextBytes(b));
        var b = new TcpSocketSet(new TcpOptions(), x => rng.NextBytes(x));
        var ea = TcpEndpoint.From(IPAddress.Parse("198.18.0.1"), 0);
        var eb = TcpEndpoint.From(IPAddress.Parse("198.18.0.2"), 5000);
        b.Listen(eb, 1);
        TcpSocketHandle ha = a.Connect(ea, eb, TimeSpan.Zero)!.Value;
        TcpSocketHandle hb = default;
        byte[] buf = new byte[1400], chunk = new byte[65536], sink = new byte[65536];
        long sent = 0, received = 0, packets = 0;
        var clock = Stopwatch.StartNew();
        long before = 0;
        bool measuring = false;
        while (received < total)
        {
            if (!measuring && received > 0) { measuring = true; before = GC.GetAllocatedBytesForCurrentThread(); } // after the handshake and buffer setup
            TimeSpan now = clock.Elapsed;
            if (sent < total && a.Send(ha, chunk.AsSpan(0, (int)Math.Min(chunk.Length, total - sent)), out int w) == TcpResult.Ok) sent += w;
            int n;
            while ((n = a.PollTransmit(buf)) > 0) { b.HandleInput(buf.AsSpan(0, n), now); packets++; }
            while (b.TryPollEvent(out var e)) if (e.Kind == TcpEventKind.Accepted) hb = e.Handle;
            while (b.Receive(hb, sink, out int r) == TcpResult.Ok && r > 0) received += r;
            while ((n = b.PollTransmit(buf)) > 0) { a.HandleInput(buf.AsSpan(0, n), now); packets++; }
            while (a.TryPollEvent(out _)) { }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return (clock.Elapsed, packets, allocated);
    }
}
