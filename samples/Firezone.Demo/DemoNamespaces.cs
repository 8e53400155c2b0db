using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Firezone.Demo;

/// <summary>
/// <c>--netns</c> (root, Linux): the same three phases with real TUN devices and the real host programs, each in a network
/// namespace of its own: an "internet" namespace that forwards between the client's and the gateway's veth (the dev
/// portal and our relay listen there), the headless client, and the gateway with a resource address on its loopback.
/// The kernel's <c>ping</c> in the client namespace sends the traffic. Phase 2 drops client↔gateway traffic with nftables
/// in the internet namespace; phase 3 kills the relay and starts it again. Everything is removed at the end.
/// </summary>
internal static partial class DemoNamespaces
{
    private const string Resource = "198.18.200.10";

    public static async Task<int> RunAsync(DemoConsole console, CancellationToken ct)
    {
        if (Environment.UserName != "root" || !File.Exists("/dev/net/tun"))
        {
            Console.Error.WriteLine("--netns needs root on Linux (network namespaces, TUN devices)");
            return 2;
        }

        var dlls = new Dictionary<string, string?>
        {
            ["portal"] = Find("Firezone.DevPortal", "firezone-dev-portal"),
            ["relay"] = Find("Firezone.Relay", "firezone-relay"),
            ["gateway"] = Find("Firezone.Gateway", "firezone-gateway"),
            ["client"] = Find("Firezone.Client", "firezone-headless-client"),
        };
        if (dlls.Values.Any(d => d is null))
        {
            Console.Error.WriteLine($"--netns runs the host programs: build them first (dotnet build); missing: {string.Join(", ", dlls.Where(d => d.Value is null).Select(d => d.Key))}");
            return 2;
        }

        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
        string inet = $"fzd-i-{id}", client = $"fzd-c-{id}", gateway = $"fzd-g-{id}";
        string config = Path.Combine(Path.GetTempPath(), $"fz-demo-{id}.json");
        var processes = new List<(string Name, Process Process)>();
        var phases = new List<DemoPhase>();
        try
        {
            foreach (var ns in new[] { inet, client, gateway })
            {
                Ip($"netns add {ns}");
                Ip($"-n {ns} link set lo up");
            }

            Link(inet, client, $"fzdc{id}", 1);
            Link(inet, gateway, $"fzdg{id}", 2);
            Exec(inet, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"); // only inside the demo's internet namespace
            Ip($"-n {gateway} addr add {Resource}/32 dev lo");
            File.WriteAllText(config, """
                { "sites": [{ "name": "demo site" }], "gateways": [{ "token": "demo-gateway-token", "site": "demo site" }],
                  "clients": [{ "token": "demo-client-token" }], "relays": [{ "token": "demo-relay-token" }],
                  "resources": [{ "type": "cidr", "name": "demo LAN", "address": "198.18.200.0/24", "sites": ["demo site"] }] }
                """);
            console.Say("demo", $"namespaces {inet} (portal, relay; forwards), {client} (headless client), {gateway} (gateway, {Resource} on its loopback)");
            const string api = "ws://198.18.1.1:8081";
            Process Start(string name, string ns, IEnumerable<string> args, string? token = null)
            {
                var p = StartHost(console, name, ns, dlls[name]!, args, token);
                processes.Add((name, p));
                return p;
            }

            Start("portal", inet, ["--config", config, "--listen-address", "198.18.1.1", "--port", "8081"]);
            await Task.Delay(1500, ct);
            string[] relayArgs = ["--api-url", api, "--public-ip4-addr", "198.18.1.1", "--listen-address", "198.18.1.1", "demo-relay-token"];
            var relay = Start("relay", inet, relayArgs);
            Start("gateway", gateway, ["--api-url", api, "-i", "demo-gateway", "demo-gateway-token"]);
            var clientHost = Start("client", client, ["--api-url", api, "-i", "demo-client", "--dns-control", "disabled"], "demo-client-token");

            var direct = new DemoPhase("direct");
            phases.Add(direct);
            console.Say("demo", $"phase 1: the kernel's ping from {client} to {Resource} through tun-firezone");
            await PingPhase(console, client, direct, TimeSpan.FromSeconds(30), ct);

            var relayed = new DemoPhase("relayed");
            phases.Add(relayed);
            console.Say("demo", "phase 2: nftables in the internet namespace drops all client↔gateway traffic (only the relay is reachable)");
            Exec(inet, "nft", "add table inet fzdemo");
            Exec(inet, "nft", "add chain inet fzdemo forward { type filter hook forward priority 0 ; }");
            Exec(inet, "nft", "add rule inet fzdemo forward ip saddr 198.18.1.2 ip daddr 198.18.2.2 drop");
            Exec(inet, "nft", "add rule inet fzdemo forward ip saddr 198.18.2.2 ip daddr 198.18.1.2 drop");
            await PingPhase(console, client, relayed, TimeSpan.FromSeconds(30), ct);

            var restarted = new DemoPhase("relay restarted");
            phases.Add(restarted);
            console.Say("demo", "phase 3: the relay is killed and started again (allocations gone, a new secret)");
            relay.Kill(entireProcessTree: true);
            await relay.WaitForExitAsync(ct);
            Start("relay", inet, relayArgs);
            await PingPhase(console, client, restarted, TimeSpan.FromSeconds(30), ct);
            bool ok = phases.All(p => p.Delivered) && !clientHost.HasExited;
            console.Say("demo", "summary: " + string.Join("; ", phases.Select(p => p.ToString())) + $"; warnings {console.Warnings}, errors {console.Errors}");
            console.Say("demo", ok ? "every phase delivered" : "a phase did not deliver: exit 1");
            return ok ? 0 : 1;
        }
        finally
        {
            foreach (var (_, p) in Enumerable.Reverse(processes))
            {
                try
                {
                    if (!p.HasExited)
                    {
                        p.Kill(entireProcessTree: true);
                        p.WaitForExit(5000);
                    }
                }
                catch (InvalidOperationException)
                {
                }

                p.Dispose();
            }

            foreach (var ns in new[] { client, gateway, inet })
            {
                Ip($"netns del {ns}", check: false); // removes its veths too
            }

            File.Delete(config);
        }
    }

    /// <summary>Pings until one reply (the path is being set up or repaired), then 5 pings that must all be answered.</summary>
    private static async Task PingPhase(DemoConsole console, string ns, DemoPhase phase, TimeSpan limit, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        while (started.Elapsed < limit && !ct.IsCancellationRequested)
        {
            var (replies, _) = await Ping(ns, 1, ct);
            phase.Count(replies == 1);
            if (replies == 1)
            {
                phase.Ready = true;
                console.Say("demo", $"ping {Resource}: answered (path ready after {started.Elapsed.TotalSeconds:F1} s)");
                break;
            }
        }

        var (answered, rtt) = await Ping(ns, 5, ct);
        for (int i = 0; i < 5; i++)
        {
            phase.Count(i < answered);
        }

        phase.Final = answered == 5;
        console.Say("demo", $"5 pings to {Resource}: {answered} replies{(rtt is null ? "" : $", RTT min/avg/max {rtt} ms")}");
    }

    private static async Task<(int Replies, string? Rtt)> Ping(string ns, int count, CancellationToken ct)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns, "ping", "-n", "-c", count.ToString(CultureInfo.InvariantCulture), "-i", "0.2", "-W", "1", Resource })
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        string output = await p.StandardOutput.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        var received = ReceivedPattern().Match(output);
        var rtt = RttPattern().Match(output);
        return (received.Success ? int.Parse(received.Groups[1].Value, CultureInfo.InvariantCulture) : 0, rtt.Success ? rtt.Groups[1].Value : null);
    }

    [GeneratedRegex(@"(\d+) received")]
    private static partial Regex ReceivedPattern();

    [GeneratedRegex(@"= ([\d.]+/[\d.]+/[\d.]+)/")]
    private static partial Regex RttPattern();

    private static Process StartHost(DemoConsole console, string name, string ns, string dll, IEnumerable<string> args, string? token)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns, "dotnet", dll }.Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove("FIREZONE_TOKEN");
        if (token is not null)
        {
            info.Environment["FIREZONE_TOKEN"] = token;
        }

        var p = new Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => console.HostLine(name, e.Data);
        p.ErrorDataReceived += (_, e) => console.HostLine(name, e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        console.Say(name, $"started in {ns}: {Path.GetFileNameWithoutExtension(dll)} {string.Join(' ', args)}");
        return p;
    }

    private static void Link(string inet, string ns, string veth, int subnet)
    {
        Ip($"link add {veth} netns {inet} type veth peer name eth0 netns {ns}");
        Ip($"-n {inet} addr add 198.18.{subnet}.1/24 dev {veth}");
        Ip($"-n {inet} link set {veth} up");
        Ip($"-n {ns} addr add 198.18.{subnet}.2/24 dev eth0");
        Ip($"-n {ns} link set eth0 up");
        Ip($"-n {ns} route add default via 198.18.{subnet}.1");
    }

    private static void Exec(string ns, string tool, params string[] args) =>
        Run("ip", ["netns", "exec", ns, tool, .. args.Length == 1 ? args[0].Split(' ') : args], check: true);

    private static void Ip(string args, bool check = true) => Run("ip", args.Split(' '), check);

    private static void Run(string file, IEnumerable<string> args, bool check)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        string error = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (check && p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error.Trim()}");
        }
    }

    /// <summary>A host program's built assembly in this clone (samples/&lt;project&gt;/bin/&lt;configuration&gt;/net10.0).</summary>
    private static string? Find(string project, string assembly)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                return new[] { "Debug", "Release" }.Select(c => Path.Combine(d.FullName, "samples", project, "bin", c, "net10.0", assembly + ".dll")).FirstOrDefault(File.Exists);
            }
        }

        return null;
    }
}
