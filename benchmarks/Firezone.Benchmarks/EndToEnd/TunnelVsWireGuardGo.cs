using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Firezone.Benchmarks.EndToEnd;

/// <summary>
/// <c>tunnel-vs-wireguard-go</c> (root): iperf3 through our tunnel — the built dev portal, relay, gateway and headless
/// client hosts, real TUN devices, network namespaces (<see cref="NamespaceTopology"/>) — direct and relayed (nftables
/// blocks client↔gateway), then through wireguard-go between the same two namespaces, in one run; TCP 1 and 4 streams,
/// UDP at 500 Mbit/s offered (1,200-byte datagrams); also the client's idle RSS and the connection setup time (first
/// ping sent → first reply over fresh connections). Prints each figure and the ratio ours / wireguard-go.
/// Options: <c>--seconds N</c> per iperf3 run (default 5), <c>--setup-runs N</c> (default 20: the issue's median over 20
/// fresh connections), <c>--repeats N</c> runs per TCP figure (default 3; the median is reported, each run and the spread
/// printed), <c>--client-jit</c> (run the built client dll even when the NativeAOT client is published; by default the
/// published one is run when it exists).
/// </summary>
internal static partial class TunnelVsWireGuardGo
{
    /// <summary>Runs per TCP figure (<c>--repeats</c>); the median is reported, the spread printed.</summary>
    private static int TcpRepeats { get; set; } = 3;

    public static int Run(string[] args)
    {
        int seconds = Option(args, "--seconds", 5), setupRuns = Option(args, "--setup-runs", 20);
        TcpRepeats = Math.Max(1, Option(args, "--repeats", 3));
        if (NamespaceTopology.Missing() is { } missing)
        {
            Console.Error.WriteLine($"tunnel-vs-wireguard-go {missing}");
            return 2;
        }

        var hosts = new Dictionary<string, string?>
        {
            ["portal"] = Find("Firezone.DevPortal", "firezone-dev-portal"),
            ["relay"] = Find("Firezone.Relay", "firezone-relay"),
            ["gateway"] = Find("Firezone.Gateway", "firezone-gateway"),
            ["client"] = Find("Firezone.Client", "firezone-headless-client"),
        };
        if (hosts.Values.Any(h => h is null))
        {
            Console.Error.WriteLine("build the hosts first: dotnet build -c Release (samples/Firezone.DevPortal, Relay, Gateway, Client)");
            return 2;
        }

        Console.WriteLine($"hosts: {string.Join(", ", hosts.Values.Select(h => Path.GetRelativePath(Directory.GetCurrentDirectory(), h!)))}");
        string? aotClient = args.Contains("--client-jit") ? null : FindAotClient(hosts["client"]!);
        string[] clientCommand = aotClient is null ? ["dotnet", hosts["client"]!] : [aotClient];
        Console.WriteLine(aotClient is null
            ? "client: JIT (the built dll; publish it with NativeAOT to measure that: dotnet publish samples/Firezone.Client -c Release -r linux-x64)"
            : $"client: NativeAOT ({Path.GetRelativePath(Directory.GetCurrentDirectory(), aotClient)}, published {File.GetLastWriteTimeUtc(aotClient):u})");
        Console.WriteLine($"wireguard-go: {NamespaceTopology.Run("wireguard-go", "--version").Trim().Split('\n')[0]}; iperf3 {seconds} s per run; {Environment.ProcessorCount} CPUs");
        var results = new List<(string Metric, string Ours, string Theirs, string Ratio)>();
        using (var net = new NamespaceTopology())
        {
            var ours = Ours(net, hosts!, clientCommand, seconds, setupRuns);
            var wg = WireGuardGo(net, seconds);
            foreach (var (metric, value) in ours)
            {
                string theirs = wg.TryGetValue(metric.Replace(" relayed", " direct", StringComparison.Ordinal), out var t) && metric.Contains("direct", StringComparison.Ordinal) ? t : wg.GetValueOrDefault(metric, "n/a");
                results.Add((metric, value, theirs, Ratio(value, theirs, lowerIsBetter: metric.Contains("loss", StringComparison.Ordinal) || metric.Contains("setup", StringComparison.Ordinal) || metric.Contains("RSS", StringComparison.Ordinal))));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{"metric",-38} {"ours",14} {"wireguard-go",14} {"ours/wg",9}");
        foreach (var (metric, o, t, r) in results)
        {
            Console.WriteLine($"{metric,-38} {o,14} {t,14} {r,9}");
        }

        return 0;
    }

    private static Dictionary<string, string> Ours(NamespaceTopology net, Dictionary<string, string> hosts, string[] clientCommand, int seconds, int setupRuns)
    {
        var figures = new Dictionary<string, string>();
        string config = Path.Combine(Path.GetTempPath(), $"fz-bench-{Environment.ProcessId}.json");
        File.WriteAllText(config, """
            { "sites": [{ "name": "s" }], "gateways": [{ "token": "g", "site": "s" }], "clients": [{ "token": "c" }],
              "relays": [{ "token": "r" }], "resources": [{ "type": "cidr", "name": "lan", "address": "198.18.200.0/24", "sites": ["s"] }] }
            """);
        string api = $"ws://{NamespaceTopology.InternetAddress}:8081";
        var started = new List<Process>();
        try
        {
            var portal = net.Start(net.Internet, "dotnet", [hosts["portal"], "--config", config, "--listen-address", NamespaceTopology.InternetAddress]);
            started.Add(portal);
            WaitFor(net, portal, "listening", TimeSpan.FromSeconds(30));
            started.Add(net.Start(net.Internet, "dotnet", [hosts["relay"], "--api-url", api, "--public-ip4-addr", NamespaceTopology.InternetAddress, "--listen-address", NamespaceTopology.InternetAddress, "r"]));
            WaitFor(net, portal, "joined at", TimeSpan.FromSeconds(30));
            started.Add(net.Start(net.Gateway, "dotnet", [hosts["gateway"], "--api-url", api, "-i", "bench-gateway", "g"]));
            Process StartClient() => net.Start(net.Client, clientCommand[0], [.. clientCommand[1..], "--api-url", api, "-i", "bench-client", "--dns-control", "disabled"], new() { ["FIREZONE_TOKEN"] = "c" });
            var client = StartClient();
            WaitFor(net, client, "Tunnel ready", TimeSpan.FromSeconds(30));
            Thread.Sleep(5000);
            Console.WriteLine($"client memory, idle, signed in, no connection yet (MiB): {Memory(client.Id)}");

            // Connection setup: fresh clients (new keys), first ping sent → first reply (10 ms between pings).
            var setups = new List<double>();
            for (int i = 0; i < setupRuns; i++)
            {
                if (i > 0)
                {
                    NamespaceTopology.Kill(client);
                    client = StartClient();
                    WaitFor(net, client, "Tunnel ready", TimeSpan.FromSeconds(30));
                }

                if (SetupMilliseconds(net.Client) is { } ms)
                {
                    setups.Add(ms);
                }
            }

            Console.WriteLine($"connection setup: {setups.Count} of {setupRuns} fresh connections answered within 10 s");
            setups.Sort();
            figures["connection setup median (ms)"] = setups.Count == 0 ? "failed" : setups[setups.Count / 2].ToString("F0", CultureInfo.InvariantCulture);
            Console.WriteLine($"setup times (ms): {string.Join(", ", setups.Select(s => s.ToString("F0", CultureInfo.InvariantCulture)))}");

            // Idle RSS after a connection: the last fresh client has a gateway connection (its ping was answered).
            Thread.Sleep(5000);
            figures["idle client RSS (MiB)"] = NamespaceTopology.RssMiB(client.Id).ToString("F1", CultureInfo.InvariantCulture);
            Console.WriteLine($"client memory, idle after a connection (MiB): {Memory(client.Id)}");

            var server = net.Start(net.Gateway, "iperf3", ["-s", "-B", NamespaceTopology.Resource]);
            started.Add(server);
            Thread.Sleep(500);
            Iperf(net, figures, "direct", NamespaceTopology.Resource, 5201, seconds);
            net.BlockDirect();
            var blocked = Stopwatch.StartNew();
            while (!Ping(net.Client, NamespaceTopology.Resource) && blocked.Elapsed < TimeSpan.FromSeconds(40))
            {
            }

            Console.WriteLine($"relayed path ready {blocked.Elapsed.TotalSeconds:F1} s after blocking the direct one");
            Iperf(net, figures, "relayed", NamespaceTopology.Resource, 5201, seconds);
            net.UnblockDirect();
            Thread.Sleep(5000);
            figures["idle client RSS after traffic (MiB)"] = NamespaceTopology.RssMiB(client.Id).ToString("F1", CultureInfo.InvariantCulture);
            Console.WriteLine($"client memory, idle after the iperf3 runs (MiB): {Memory(client.Id)}");
            started.Add(client);
        }
        finally
        {
            foreach (var p in started)
            {
                NamespaceTopology.Kill(p);
            }

            File.Delete(config);
        }

        return figures;
    }

    private static Dictionary<string, string> WireGuardGo(NamespaceTopology net, int seconds)
    {
        var figures = new Dictionary<string, string>();
        string keyC = NamespaceTopology.Run("wg", "genkey").Trim(), keyG = NamespaceTopology.Run("wg", "genkey").Trim();
        string pubC = Pub(keyC), pubG = Pub(keyG);
        var env = new Dictionary<string, string> { ["WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"] = "1", ["WG_PROCESS_FOREGROUND"] = "1" };
        var c = net.Start(net.Client, "wireguard-go", ["fzbwgc"], env);
        var g = net.Start(net.Gateway, "wireguard-go", ["fzbwgg"], env);
        try
        {
            Thread.Sleep(1000);
            Configure(net.Client, "fzbwgc", keyC, pubG, NamespaceTopology.GatewayAddress, "198.18.210.1");
            Configure(net.Gateway, "fzbwgg", keyG, pubC, NamespaceTopology.ClientAddress, "198.18.210.2");
            var server = net.Start(net.Gateway, "iperf3", ["-s", "-B", "198.18.210.2", "-p", "5202"]);
            Thread.Sleep(500);
            Ping(net.Client, "198.18.210.2");
            Iperf(net, figures, "direct", "198.18.210.2", 5202, seconds);
            NamespaceTopology.Kill(server);
        }
        finally
        {
            NamespaceTopology.Kill(c);
            NamespaceTopology.Kill(g);
        }

        return figures;

        string Pub(string key)
        {
            var info = new ProcessStartInfo("wg", "pubkey") { RedirectStandardInput = true, RedirectStandardOutput = true };
            using var p = Process.Start(info)!;
            p.StandardInput.WriteLine(key);
            p.StandardInput.Close();
            string pub = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return pub;
        }

        void Configure(string ns, string dev, string key, string peer, string endpoint, string address)
        {
            string file = Path.Combine(Path.GetTempPath(), $"{dev}.key");
            File.WriteAllText(file, key);
            NamespaceTopology.Exec(ns, "wg", "set", dev, "private-key", file, "listen-port", "51820", "peer", peer, "endpoint", $"{endpoint}:51820", "allowed-ips", "198.18.210.0/24");
            File.Delete(file);
            NamespaceTopology.Exec(ns, "ip", "addr", "add", $"{address}/24", "dev", dev);
            NamespaceTopology.Exec(ns, "ip", "link", "set", dev, "mtu", "1280", "up");
        }
    }

    /// <summary>TCP 1 stream, TCP 4 streams and UDP at 500 Mbit/s, each <paramref name="seconds"/> long; receiver-side figures.</summary>
    private static void Iperf(NamespaceTopology net, Dictionary<string, string> figures, string path, string server, int port, int seconds)
    {
        string p = port.ToString(CultureInfo.InvariantCulture), t = seconds.ToString(CultureInfo.InvariantCulture);
        figures[$"TCP 1 stream {path} (Mbit/s)"] = MedianTcp(net, path, "1 stream", ["iperf3", "-c", server, "-p", p, "-t", t, "-J"]);
        figures[$"TCP 4 streams {path} (Mbit/s)"] = MedianTcp(net, path, "4 streams", ["iperf3", "-c", server, "-p", p, "-t", t, "-P", "4", "-J"]);

        using var udp = Json(net.Client, "iperf3", "-c", server, "-p", p, "-t", t, "-u", "-b", "500M", "-l", "1200", "-J");
        figures[$"UDP 500M {path} delivered (Mbit/s)"] = Mbits(udp, "sum");
        figures[$"UDP 500M {path} loss (%)"] = udp.RootElement.GetProperty("end").GetProperty("sum").GetProperty("lost_percent").GetDouble().ToString("F2", CultureInfo.InvariantCulture);
        Console.WriteLine($"{path}: {string.Join("; ", figures.Where(f => f.Key.Contains(path, StringComparison.Ordinal)).Select(f => $"{f.Key} {f.Value}"))}");
    }

    /// <summary>Runs a TCP measurement <see cref="TcpRepeats"/> times; prints every figure and the spread; returns the median.</summary>
    private static string MedianTcp(NamespaceTopology net, string path, string what, string[] args)
    {
        var rates = new List<double>();
        for (int i = 0; i < TcpRepeats; i++)
        {
            using var doc = Json(net.Client, args);
            rates.Add(doc.RootElement.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 1e6);
        }

        rates.Sort();
        double median = rates[rates.Count / 2];
        Console.WriteLine($"TCP {what} {path}: median {median:F0} Mbit/s of {string.Join(", ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))} (spread {rates[^1] - rates[0]:F0})");
        return median.ToString("F0", CultureInfo.InvariantCulture);
    }

    private static JsonDocument Json(string ns, params string[] args)
    {
        try
        {
            return JsonDocument.Parse(NamespaceTopology.Exec(ns, args));
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"iperf3 failed: {e.Message}");
            return JsonDocument.Parse("""{"end":{"sum":{"bits_per_second":0,"lost_percent":100},"sum_received":{"bits_per_second":0}}}""");
        }
    }

    private static string Mbits(JsonDocument doc, string sum) =>
        (doc.RootElement.GetProperty("end").GetProperty(sum).GetProperty("bits_per_second").GetDouble() / 1e6).ToString("F0", CultureInfo.InvariantCulture);

    private static bool Ping(string ns, string destination)
    {
        try
        {
            NamespaceTopology.Exec(ns, "ping", "-c", "1", "-W", "1", destination);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Pings every 10 ms until the first reply (10 s at most): (first reply's sequence − 1) × 10 ms + its RTT.</summary>
    private static double? SetupMilliseconds(string ns)
    {
        // "Tunnel ready" can precede the kernel's routes by a few ms: a first probe out of eth0 gets Net Unreachable
        // from the internet namespace and ends ping. Wait (at most 5 s) until the resource routes into the TUN.
        var routes = Stopwatch.StartNew();
        while (!NamespaceTopology.Exec(ns, "ip", "route", "get", NamespaceTopology.Resource).Contains("tun-firezone", StringComparison.Ordinal) && routes.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(5);
        }

        string output;
        try
        {
            output = NamespaceTopology.Exec(ns, "ping", "-n", "-i", "0.01", "-w", "10", "-c", "1", NamespaceTopology.Resource);
        }
        catch (InvalidOperationException)
        {
            return null;
        }

        var m = ReplyPattern().Match(output);
        return m.Success ? (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1) * 10 + double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"icmp_seq=(\d+) ttl=\d+ time=([\d.]+)")]
    private static partial Regex ReplyPattern();

    private static void WaitFor(NamespaceTopology net, Process p, string text, TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (!net.OutputOf(p).Contains(text, StringComparison.Ordinal))
        {
            if (sw.Elapsed > limit || p.HasExited)
            {
                throw new InvalidOperationException($"'{text}' did not appear:\n{net.OutputOf(p)}");
            }

            Thread.Sleep(50);
        }
    }

    private static string Ratio(string ours, string theirs, bool lowerIsBetter)
    {
        if (!double.TryParse(ours, CultureInfo.InvariantCulture, out double o) || !double.TryParse(theirs, CultureInfo.InvariantCulture, out double t) || t == 0)
        {
            return "-";
        }

        return (o / t).ToString("F2", CultureInfo.InvariantCulture) + (lowerIsBetter ? " (lower better)" : "");
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }

    /// <summary>The NativeAOT client that <c>dotnet publish samples/Firezone.Client -c Release -r linux-&lt;arch&gt;</c> wrote beside <paramref name="dll"/>, or null.</summary>
    private static string? FindAotClient(string dll)
    {
        string rid = $"linux-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        string binary = Path.Combine(Path.GetDirectoryName(dll)!, rid, "publish", Path.GetFileNameWithoutExtension(dll));
        return File.Exists(binary) ? binary : null;
    }

    /// <summary>What holds a process's resident memory: /proc/PID/smaps_rollup's Rss, Pss and their shared/private, clean/dirty parts.</summary>
    private static string Memory(int pid)
    {
        string[] fields = ["Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Anonymous"];
        var values = File.ReadLines($"/proc/{pid}/smaps_rollup").Select(l => l.Split(':', 2)).Where(f => f.Length == 2 && fields.Contains(f[0]))
            .Select(f => $"{f[0]} {double.Parse(f[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024:F1}");
        return string.Join(", ", values);
    }

    private static string? Find(string project, string assembly)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                return new[] { "Release", "Debug" }.Select(c => Path.Combine(d.FullName, "samples", project, "bin", c, "net10.0", assembly + ".dll")).FirstOrDefault(File.Exists);
            }
        }

        return null;
    }
}
