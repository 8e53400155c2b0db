using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.Benchmarks.RelayLoad;

/// <summary>
/// <c>relay-load</c>: N allocations with one channel each, a ChannelData flood over loopback (client → relay → peer),
/// against our relay host (samples/Firezone.Relay, Release) and against coturn's turnserver, one after the other in
/// one run; prints forwarded packets/s, Mbit/s and the ratio.
/// Options: <c>--allocations N</c> (16), <c>--payload BYTES</c> (1200), <c>--seconds S</c> (5), <c>--senders T</c> (1),
/// <c>--direction both|client-to-peer|peer-to-client</c>, <c>--rate PKT_PER_S</c> (0 = as fast as possible; a fixed rate
/// compares server CPU at equal load).
/// </summary>
internal static class RelayLoadCommand
{
    internal const string Secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    private sealed record Options(int Allocations, int Payload, int Seconds, int Senders, string Direction, int Rate);

    public static int Run(string[] args)
    {
        int d = Array.IndexOf(args, "--direction");
        string direction = d >= 0 && d + 1 < args.Length ? args[d + 1] : "both";
        var options = new Options(Get(args, "--allocations", 16), Get(args, "--payload", 1200), Get(args, "--seconds", 5), Get(args, "--senders", 1), direction, Get(args, "--rate", 0));
        Console.WriteLine($"relay-load: {options.Allocations} allocations, {options.Payload}-byte payloads, {options.Seconds} s, {options.Senders} sender thread(s), direction {options.Direction}, rate {(options.Rate > 0 ? $"{options.Rate} pkt/s" : "unlimited")}, {Environment.ProcessorCount} CPUs");
        var results = new List<(string Name, Result Result)>();

        string? host = FindRelayHost();
        if (host is null)
        {
            Console.WriteLine("our relay: samples/Firezone.Relay Release build not found (dotnet build -c Release samples/Firezone.Relay)");
        }
        else
        {
            results.AddRange(RunAgainst("firezone-relay (C#)", options, (port, lowest, highest) => Start("dotnet",
            [
                host, "--public-ip4-addr", "127.0.0.1", "--listen-address", "127.0.0.1", "--listen-port", Str(port),
                "--lowest-port", Str(lowest), "--highest-port", Str(highest), "--stamp-secret", Secret,
                "--health-check-addr", "127.0.0.1:0", "--log-format", "json",
            ]), stateless: true));
        }

        string? turnserver = File.Exists("/usr/bin/turnserver") ? "/usr/bin/turnserver" : null;
        if (turnserver is null)
        {
            Console.WriteLine("coturn: /usr/bin/turnserver not installed (apt-get install coturn)");
        }
        else
        {
            results.AddRange(RunAgainst("coturn turnserver", options, (port, lowest, highest) => Start(turnserver,
            [
                "-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", Str(port),
                "--min-port", Str(lowest), "--max-port", Str(highest), "--lt-cred-mech", "--user", "bench:benchpass",
                "--realm", "firezone", "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp",
                "--no-tcp-relay", "--no-stdout-log", "--log-file", "/dev/null", "--pidfile", "/dev/null",
            ]), stateless: false));
        }

        Console.WriteLine();
        Console.WriteLine("| server | offered pkt/s | forwarded pkt/s | forwarded Mbit/s | loss | server CPU s/s | pkt per server CPU-s |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, r) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {r.OfferedPps:N0} | {r.ForwardedPps:N0} | {r.Mbits:N1} | {r.Loss:P1} | {r.ServerCpu:N2} | {(r.ServerCpu > 0 ? r.ForwardedPps / r.ServerCpu : 0):N0} |"));
        }

        foreach (string dir in new[] { "client→peer", "peer→client" })
        {
            var pair = results.Where(r => r.Name.EndsWith(dir, StringComparison.Ordinal)).Select(r => r.Result).ToList();
            if (pair.Count != 2 || pair[1].ForwardedPps <= 0)
            {
                continue;
            }

            var (ours, theirs) = (pair[0], pair[1]);
            Console.Write($"{dir}: ");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio firezone-relay / coturn: forwarded pkt/s {ours.ForwardedPps / theirs.ForwardedPps:N2}, pkt per server CPU-second {(ours.ServerCpu > 0 && theirs.ServerCpu > 0 ? ours.ForwardedPps / ours.ServerCpu / (theirs.ForwardedPps / theirs.ServerCpu) : double.NaN):N2}"));

        }

        Console.WriteLine("(the machine's load and the shared CPUs move the absolute numbers; the CPU-normalised ratio is the steadier one)");

        return 0;
    }

    private sealed record Result(double OfferedPps, double ForwardedPps, double Mbits, double Loss, double ServerCpu);

    internal static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    internal static int Get(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    internal static Process Start(string file, string[] arguments)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Print(string name, string direction, Result r, Options options) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {direction}: forwarded {r.ForwardedPps:N0} pkt/s ({r.Mbits:N1} Mbit/s payload), offered {r.OfferedPps:N0} pkt/s, server CPU {r.ServerCpu:N2} s/s"));

    /// <summary>Runs one flood: sender threads call <paramref name="send"/> round-robin, one thread per receiver counts.</summary>
    private static Result Flood(Options options, Process server, Socket[] receivers, Action<int, int> send, int targets)
    {
        long received = 0;
        SentPerThread = new long[options.Senders];
        var stop = new CancellationTokenSource();
        var receiverThreads = receivers.Select(socket => new Thread(() =>
        {
            var buffer = new byte[65536];
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    socket.Receive(buffer);
                    Interlocked.Increment(ref received);
                }
                catch (SocketException)
                {
                }
            }
        }) { IsBackground = true }).ToList();
        receiverThreads.ForEach(t => t.Start());

        double perThreadRate = options.Rate > 0 ? (double)options.Rate / options.Senders : 0;
        var senders = Enumerable.Range(0, options.Senders).Select(s => new Thread(() =>
        {
            long local = 0;
            var paced = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                if (perThreadRate > 0 && local >= perThreadRate * paced.Elapsed.TotalSeconds)
                {
                    Thread.Sleep(1); // paced mode: a fixed offered load, so server CPU per packet can be compared
                    continue;
                }

                for (int i = s; i < targets; i += options.Senders)
                {
                    try
                    {
                        send(i, s);
                        local++;
                    }
                    catch (SocketException)
                    {
                    }
                }

                Volatile.Write(ref SentPerThread[s], local);
            }
        }) { IsBackground = true }).ToList();
        senders.ForEach(t => t.Start());

        Thread.Sleep(3000); // warm-up (also lets the JIT's tiering settle in our relay)
        long received0 = Interlocked.Read(ref received), sent0 = SumSent();
        server.Refresh();
        var cpu0 = server.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(options.Seconds));
        long received1 = Interlocked.Read(ref received), sent1 = SumSent();
        server.Refresh();
        var cpu1 = server.TotalProcessorTime;
        double seconds = clock.Elapsed.TotalSeconds;
        stop.Cancel();
        senders.ForEach(t => t.Join());
        receiverThreads.ForEach(t => t.Join());
        Thread.Sleep(300); // let queues drain before the next phase

        double forwarded = (received1 - received0) / seconds;
        double offered = (sent1 - sent0) / seconds;
        return new Result(offered, forwarded, forwarded * options.Payload * 8 / 1e6, offered > 0 ? Math.Max(0, 1 - (forwarded / offered)) : 0, (cpu1 - cpu0).TotalSeconds / seconds);
    }

    private static List<(string, Result)> RunAgainst(string name, Options options, Func<int, int, int, Process> start, bool stateless)
    {
        int port = FreeUdpPort();
        var (lowest, highest) = FreeUdpRange(Math.Max(64, options.Allocations * 4));
        using var server = start(port, lowest, highest);
        try
        {
            var relay = new IPEndPoint(IPAddress.Loopback, port);
            WaitForBinding(relay, name);
            Console.WriteLine($"{name}: pid {server.Id}");

            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            peer.ReceiveBufferSize = 8 << 20;
            peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            peer.ReceiveTimeout = 200;
            var peerEndPoint = (IPEndPoint)peer.LocalEndPoint!;

            string username, password;
            if (stateless)
            {
                ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
                username = FirezoneCredentials.MakeUsername(expiry, "loadtest01");
                password = FirezoneCredentials.ComputePassword(Secret, expiry, "loadtest01");
            }
            else
            {
                (username, password) = ("bench", "benchpass");
            }

            var clients = new List<TurnLoadClient>();
            var frames = new List<byte[]>();
            for (int i = 0; i < options.Allocations; i++)
            {
                var client = new TurnLoadClient(relay);
                if (!client.Allocate(username, password) || !client.ChannelBind((ushort)(0x4000 + i), peerEndPoint, username, password))
                {
                    throw new InvalidOperationException($"{name}: allocation/channel bind {i} failed");
                }

                clients.Add(client);
                frames.Add(ChannelData.Encode((ushort)(0x4000 + i), new byte[options.Payload]));
            }

            var list = new List<(string, Result)>();
            if (options.Direction is "both" or "client-to-peer")
            {
                // Clients send ChannelData round-robin; the single peer socket counts what arrives.
                var result = Flood(options, server, receivers: [peer], send: (i, _) => clients[i].Socket.Send(frames[i]), clients.Count);
                list.Add(($"{name} client→peer", result));
                Print(name, "client→peer", result, options);
            }

            if (options.Direction is "both" or "peer-to-client")
            {
                // The peer sends to every relayed address round-robin; each client socket counts the ChannelData it gets.
                var payload = new byte[options.Payload];
                var relayed = clients.Select(c => (EndPoint)c.Relayed!).ToArray();
                foreach (var c in clients)
                {
                    c.Socket.ReceiveTimeout = 200;
                    c.Socket.ReceiveBufferSize = 1 << 20;
                }

                var result = Flood(options, server, receivers: clients.Select(c => c.Socket).ToArray(), send: (i, _) => peer.SendTo(payload, relayed[i]), clients.Count);
                list.Add(($"{name} peer→client", result));
                Print(name, "peer→client", result, options);
            }

            clients.ForEach(c => c.Dispose());
            return list;
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                server.WaitForExit(5000);
            }
        }
    }

    private static long[] SentPerThread = [];

    private static long SumSent()
    {
        long sum = 0;
        for (int i = 0; i < SentPerThread.Length; i++)
        {
            sum += Volatile.Read(ref SentPerThread[i]);
        }

        return sum;
    }

    internal static void WaitForBinding(IPEndPoint relay, string name)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(relay);
        socket.ReceiveTimeout = 200;
        var buffer = new byte[512];
        Span<byte> request = stackalloc byte[20];
        for (int i = 0; i < 100; i++)
        {
            var builder = new StunMessageBuilder(request, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
            try
            {
                socket.Send(builder.Message);
                if (socket.Receive(buffer) > 0)
                {
                    return;
                }
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        throw new InvalidOperationException($"{name} does not answer Binding requests on {relay}");
    }

    internal static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    internal static (int, int) FreeUdpRange(int count)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            int lowest = Random.Shared.Next(33000, 45000);
            bool free = true;
            for (int p = lowest; p < lowest + count && free; p++)
            {
                try
                {
                    using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    s.Bind(new IPEndPoint(IPAddress.Loopback, p));
                }
                catch (SocketException)
                {
                    free = false;
                }
            }

            if (free)
            {
                return (lowest, lowest + count - 1);
            }
        }

        throw new InvalidOperationException("no free port range");
    }

    internal static string? FindRelayHost()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                string path = Path.Combine(d.FullName, "samples", "Firezone.Relay", "bin", "Release", "net10.0", "firezone-relay.dll");
                return File.Exists(path) ? path : null;
            }
        }

        return null;
    }
}
