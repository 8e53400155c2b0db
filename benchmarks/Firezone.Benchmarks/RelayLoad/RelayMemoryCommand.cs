using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Turn;

namespace Firezone.Benchmarks.RelayLoad;

/// <summary>
/// <c>relay-memory</c>: the resident memory one allocation costs, our relay host against coturn in one run. Opens N
/// client sockets on loopback (<c>--allocations N</c>, default 10,000), starts each relay with a port range of
/// 1.25 N free ports, makes one allocation with one channel per client socket, and prints the growth of the
/// relay's resident set (VmRSS) per allocation after the allocations settle. Kernel socket buffers are not in the
/// process's RSS; each allocation also holds one kernel UDP socket per family in both relays.
/// </summary>
internal static class RelayMemoryCommand
{
    public static int Run(string[] args)
    {
        int count = RelayLoadCommand.Get(args, "--allocations", 10_000);
        Console.WriteLine($"relay-memory: {count} allocations with one channel each, {Environment.ProcessorCount} CPUs");
        var clients = new List<Socket>();
        try
        {
            // Client sockets on fixed ports below Linux's ephemeral range, so the relays' ranges (chosen from free
            // ports above 33000) stay free of them.
            for (int port = 10_000; clients.Count < count && port < 32_000; port++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                }
                catch (SocketException)
                {
                    socket.Dispose();
                    continue;
                }

                socket.ReceiveTimeout = 2000;
                clients.Add(socket);
            }

            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var peerEndPoint = (IPEndPoint)peer.LocalEndPoint!;
            string? host = RelayLoadCommand.FindRelayHost();
            if (host is not null)
            {
                Measure("firezone-relay (C#)", clients, peerEndPoint, stateless: true, (port, lowest, highest) => RelayLoadCommand.Start("dotnet",
                [
                    host, "--public-ip4-addr", "127.0.0.1", "--listen-address", "127.0.0.1", "--listen-port", RelayLoadCommand.Str(port),
                    "--lowest-port", RelayLoadCommand.Str(lowest), "--highest-port", RelayLoadCommand.Str(highest), "--stamp-secret", RelayLoadCommand.Secret,
                    "--health-check-addr", "127.0.0.1:0", "--log-format", "json",
                ]));
            }
            else
            {
                Console.WriteLine("our relay: samples/Firezone.Relay Release build not found (dotnet build -c Release samples/Firezone.Relay)");
            }

            if (File.Exists("/usr/bin/turnserver"))
            {
                Measure("coturn turnserver", clients, peerEndPoint, stateless: false, (port, lowest, highest) => RelayLoadCommand.Start("/usr/bin/turnserver",
                [
                    "-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", RelayLoadCommand.Str(port),
                    "--min-port", RelayLoadCommand.Str(lowest), "--max-port", RelayLoadCommand.Str(highest), "--lt-cred-mech", "--user", "bench:benchpass",
                    "--realm", "firezone", "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp",
                    "--no-tcp-relay", "--no-stdout-log", "--log-file", "/dev/null", "--pidfile", "/dev/null", "--total-quota", "0", "--user-quota", "0",
                ]));
            }
            else
            {
                Console.WriteLine("coturn: /usr/bin/turnserver not installed (apt-get install coturn)");
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        return 0;
    }

    private static long RssKiB(Process process)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static void Measure(string name, List<Socket> clients, IPEndPoint peer, bool stateless, Func<int, int, int, Process> start)
    {
        int port = RelayLoadCommand.FreeUdpPort();
        var (lowest, highest) = RelayLoadCommand.FreeUdpRange(clients.Count + (clients.Count / 4));
        using var server = start(port, lowest, highest);
        try
        {
            var relay = new IPEndPoint(IPAddress.Loopback, port);
            RelayLoadCommand.WaitForBinding(relay, name);
            Thread.Sleep(1000);
            long before = RssKiB(server);
            string username, password;
            if (stateless)
            {
                ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
                (username, password) = (FirezoneCredentials.MakeUsername(expiry, "memtest001"), FirezoneCredentials.ComputePassword(RelayLoadCommand.Secret, expiry, "memtest001"));
            }
            else
            {
                (username, password) = ("bench", "benchpass");
            }

            var clock = Stopwatch.StartNew();
            int made = 0;
            long half = 0;
            foreach (var socket in clients)
            {
                using var client = new TurnLoadClient(relay, socket);
                if (client.Allocate(username, password) && client.ChannelBind(0x4000, peer, username, password))
                {
                    made++;
                }

                if (made == clients.Count / 2 && half == 0)
                {
                    Thread.Sleep(2000);
                    half = RssKiB(server);
                }
            }

            double seconds = clock.Elapsed.TotalSeconds;
            Thread.Sleep(2000);
            long after = RssKiB(server);
            // The slope between half and all allocations leaves out start-up costs and the allocator's first growth.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {made} allocations in {seconds:N1} s; RSS {before:N0} KiB → {half:N0} KiB at {made / 2} → {after:N0} KiB: {(after - before) / (double)Math.Max(1, made):N2} KiB per allocation overall, {(after - half) / (double)Math.Max(1, made - (made / 2)):N2} KiB per allocation from half to all (user space; plus one kernel UDP socket each)"));
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
}
