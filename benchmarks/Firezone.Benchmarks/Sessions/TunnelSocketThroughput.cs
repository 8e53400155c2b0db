using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Io;

namespace Firezone.Benchmarks.Sessions;

/// <summary>
/// <c>tunnel-sockets</c>: the send side of the tunnel's UDP sockets over loopback, 1300-byte datagrams (a full tunnel
/// packet with WireGuard overhead) to one receiver that drains them on its own thread. Four ways: the tunnel's
/// <c>sendmmsg</c> batches of 64 (<see cref="TunnelUdpSocket"/>) with and without its GSO runs, one datagram per system call (upstream's
/// <c>sendmsg</c> per datagram), and UDP GSO (one 48-segment send; what the tunnel would gain from GSO if a run of
/// datagrams went to one peer). Prints datagrams per second of the sender and what the receiver got, best of five rounds.
/// </summary>
public static class TunnelSocketThroughput
{
    private const int Size = 1300;
    private const int Datagrams = 199_680; // a multiple of 64 and of 48
    private const int GsoSegments = 48; // 48 × 1300 bytes: the most that fit one 64 KiB UDP message

    public static int Run()
    {
        Console.WriteLine($"tunnel-sockets: {Datagrams:N0} datagrams of {Size} bytes over loopback, best of 5 rounds");
        Report("TunnelUdpSocket: sendmmsg of 64 + GSO runs", to => Batched(to, gso: true));
        Report("TunnelUdpSocket: sendmmsg of 64, GSO off", to => Batched(to, gso: false));
        Report("one datagram per system call", OneByOne);
        Report("UDP GSO, 48 segments per send", Gso);
        return 0;
    }

    private static void Report(string name, Func<IPEndPoint, double> send)
    {
        double best = 0;
        long received = 0;
        for (int round = 0; round < 5; round++)
        {
            using var receiver = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 32 * 1024 * 1024, new TunnelCounters());
            long count = 0;
            using var stop = new CancellationTokenSource();
            var drain = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    receiver.Socket.Poll(10_000, SelectMode.SelectRead);
                    receiver.Receive();
                    while (receiver.TryNextDatagram(out _, out _, out _))
                    {
                        count++;
                    }
                }
            });
            drain.Start();
            double seconds = send(new IPEndPoint(IPAddress.Loopback, receiver.Port));
            Thread.Sleep(200);
            stop.Cancel();
            drain.Join();
            if (Datagrams / seconds > best)
            {
                best = Datagrams / seconds;
                received = count;
            }
        }

        Console.WriteLine($"  {name,-45} {best / 1e6,6:F2} M datagrams/s sent ({best * Size * 8 / 1e9:F1} Gbit/s); receiver got {received:N0}");
    }

    private static double Batched(IPEndPoint to, bool gso)
    {
        using var socket = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 32 * 1024 * 1024, new TunnelCounters(), gso);
        var payload = new byte[Size];
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Datagrams; i++)
        {
            while (socket.IsBlocked && !socket.Flush())
            {
                socket.Socket.Poll(1000, SelectMode.SelectWrite);
            }

            socket.Enqueue(null, to, payload);
        }

        while (!socket.Flush())
        {
            socket.Socket.Poll(1000, SelectMode.SelectWrite);
        }

        return watch.Elapsed.TotalSeconds;
    }

    private static double OneByOne(IPEndPoint to)
    {
        using var socket = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 32 * 1024 * 1024, new TunnelCounters(), gso: false);
        var payload = new byte[Size];
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Datagrams; i++)
        {
            socket.Enqueue(null, to, payload);
            while (!socket.Flush())
            {
                socket.Socket.Poll(1000, SelectMode.SelectWrite);
            }
        }

        return watch.Elapsed.TotalSeconds;
    }

    private static double Gso(IPEndPoint to)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.SendBufferSize = 32 * 1024 * 1024;
        socket.SetRawSocketOption(17, 103, BitConverter.GetBytes(Size)); // SOL_UDP, UDP_SEGMENT
        var payload = new byte[Size * GsoSegments];
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Datagrams / GsoSegments; i++)
        {
            socket.SendTo(payload, to);
        }

        return watch.Elapsed.TotalSeconds;
    }
}
