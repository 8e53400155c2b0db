using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Firezone.Benchmarks.EndToEnd;

/// <summary>
/// The end-to-end benchmark's network: an "internet" namespace that forwards between two veths (198.18.1.0/24 to the
/// client namespace, 198.18.2.0/24 to the gateway namespace); a resource address (198.18.200.10) on the gateway
/// namespace's loopback. Everything is deleted on dispose. Root only.
/// </summary>
internal sealed class NamespaceTopology : IDisposable
{
    public const string Resource = "198.18.200.10";
    public const string ClientAddress = "198.18.1.2";
    public const string GatewayAddress = "198.18.2.2";
    public const string InternetAddress = "198.18.1.1";

    private readonly List<Process> _processes = [];

    public NamespaceTopology()
    {
        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
        Internet = $"fzb-i-{id}";
        Client = $"fzb-c-{id}";
        Gateway = $"fzb-g-{id}";
        foreach (var ns in new[] { Internet, Client, Gateway })
        {
            Run("ip", "netns", "add", ns);
            Run("ip", "-n", ns, "link", "set", "lo", "up");
        }

        Link(Client, $"fzbc{id}", 1);
        Link(Gateway, $"fzbg{id}", 2);
        Exec(Internet, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        Run("ip", "-n", Gateway, "addr", "add", $"{Resource}/32", "dev", "lo");
    }

    public string Internet { get; }

    public string Client { get; }

    public string Gateway { get; }

    /// <summary>A prerequisite that is missing, or null.</summary>
    public static string? Missing()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "needs root on Linux (network namespaces, TUN devices)";
        }

        foreach (var tool in new[] { "ip", "nft", "iperf3", "wireguard-go", "wg", "ping" })
        {
            if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool))))
            {
                return $"needs '{tool}' (Debian: iproute2, nftables, iperf3, wireguard-go, wireguard-tools, iputils-ping)";
            }
        }

        return null;
    }

    /// <summary>Drops all client↔gateway traffic in the internet namespace (only the relay there stays reachable).</summary>
    public void BlockDirect()
    {
        Exec(Internet, "nft", "add", "table", "inet", "fzbench");
        Exec(Internet, "nft", "add", "chain", "inet", "fzbench", "forward", "{", "type", "filter", "hook", "forward", "priority", "0", ";", "}");
        Exec(Internet, "nft", "add", "rule", "inet", "fzbench", "forward", "ip", "saddr", ClientAddress, "ip", "daddr", GatewayAddress, "drop");
        Exec(Internet, "nft", "add", "rule", "inet", "fzbench", "forward", "ip", "saddr", GatewayAddress, "ip", "daddr", ClientAddress, "drop");
    }

    public void UnblockDirect() => Exec(Internet, "nft", "delete", "table", "inet", "fzbench");

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/>; its output is kept; killed on dispose.</summary>
    public Process Start(string ns, string file, IEnumerable<string> args, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns, file }.Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove("FIREZONE_TOKEN");
        foreach (var (k, v) in environment ?? [])
        {
            info.Environment[k] = v;
        }

        var p = new Process { StartInfo = info };
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        Outputs[p] = output;
        return p;
    }

    public Dictionary<Process, StringBuilder> Outputs { get; } = [];

    public string OutputOf(Process p)
    {
        lock (Outputs[p])
        {
            return Outputs[p].ToString();
        }
    }

    public static void Kill(Process p)
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
    }

    /// <summary>Runs a tool inside <paramref name="ns"/> to completion; its standard output.</summary>
    public static string Exec(string ns, params string[] args) => Run("ip", ["netns", "exec", ns, .. args]);

    public static string Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Trim()}");
        }

        return stdout.Result;
    }

    /// <summary>VmRSS of a process in MiB.</summary>
    public static double RssMiB(int pid)
    {
        string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }

    public void Dispose()
    {
        foreach (var p in Enumerable.Reverse(_processes))
        {
            Kill(p);
            p.Dispose();
        }

        foreach (var ns in new[] { Client, Gateway, Internet })
        {
            try
            {
                Run("ip", "netns", "del", ns);
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private void Link(string ns, string veth, int subnet)
    {
        Run("ip", "link", "add", veth, "netns", Internet, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Run("ip", "-n", Internet, "addr", "add", $"198.18.{subnet}.1/24", "dev", veth);
        Run("ip", "-n", Internet, "link", "set", veth, "up");
        Run("ip", "-n", ns, "addr", "add", $"198.18.{subnet}.2/24", "dev", "eth0");
        Run("ip", "-n", ns, "link", "set", "eth0", "up");
        Run("ip", "-n", ns, "route", "add", "default", "via", $"198.18.{subnet}.1");
    }
}
