using System.Diagnostics;
using System.Security.Cryptography;
using Firezone.Tun.Tests.Linux;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>
/// The end-to-end topology of the host programs: an "internet" namespace that forwards between two veths (198.18.1.0/24
/// to the client's namespace, 198.18.2.0/24 to the gateway's), where the dev portal and our relay host listen; the
/// gateway host and the headless client in their namespaces with real TUN devices; resource addresses on the gateway
/// namespace's loopback (198.18.200.10 for the CIDR resource 198.18.200.0/24). <see cref="BlockDirect"/> drops
/// client↔gateway traffic with nftables in the internet namespace. Everything is removed on dispose, also after a failure.
/// </summary>
internal sealed class HostsTopology : IAsyncDisposable
{
    public const string Resource = "198.18.200.10";
    private const string Portal = "198.18.1.1";

    private readonly List<HostProcess> _processes = [];
    private readonly string _config;

    private HostsTopology(NetNamespace internet, NetNamespace client, NetNamespace gateway, string config)
    {
        Internet = internet;
        Client = client;
        Gateway = gateway;
        _config = config;
    }

    public NetNamespace Internet { get; }

    public NetNamespace Client { get; }

    public NetNamespace Gateway { get; }

    public HostProcess? ClientHost { get; private set; }

    public HostProcess? GatewayHost { get; private set; }

    public HostProcess? RelayHost { get; private set; }

    public HostProcess? PortalHost { get; private set; }

    /// <summary>Skips unless root, namespaces and nft are there and the four hosts are built.</summary>
    public static void SkipUnlessAvailable()
    {
        NetNamespace.SkipUnlessAvailable();
        Assert.SkipWhen(TempDirectory.FindTool("nft") is null, "nft (nftables) is not installed");
    }

    /// <summary>Creates the namespaces and starts the four hosts; returns once the client's tunnel is ready and its routes are in place.</summary>
    public static async Task<HostsTopology> StartAsync(string resourcesJson = """[{ "type": "cidr", "name": "lab hosts", "address": "198.18.200.0/24", "sites": ["lab"] }]""")
    {
        var internet = NetNamespace.Create();
        var client = NetNamespace.Create();
        var gateway = NetNamespace.Create();
        string config = Path.Combine(Path.GetTempPath(), $"fz-hosts-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}.json");
        var topology = new HostsTopology(internet, client, gateway, config);
        try
        {
            string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
            Link(internet, client, $"fzhc{id}", 1);
            Link(internet, gateway, $"fzhg{id}", 2);
            Sysctl(internet, "net.ipv4.ip_forward=1");
            gateway.IpIn($"addr add {Resource}/32 dev lo");
            File.WriteAllText(config, $$"""
                { "sites": [{ "name": "lab" }], "gateways": [{ "token": "gateway-token", "site": "lab" }],
                  "clients": [{ "token": "client-token" }], "relays": [{ "token": "relay-token" }],
                  "resources": {{resourcesJson}} }
                """);
            await topology.StartHostsAsync();
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    private async Task StartHostsAsync()
    {
        static string Dll(string project, string assembly) =>
            HostProcess.Find(project, assembly) ?? throw new InvalidOperationException($"samples/{project} is not built");
        string api = $"ws://{Portal}:8081";
        PortalHost = Add(HostProcess.Start(Dll("Firezone.DevPortal", "firezone-dev-portal"), ["--config", _config, "--listen-address", Portal], netns: Internet.Name));
        Assert.True(await PortalHost.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30)), PortalHost.Output);
        StartRelay();
        Assert.True(await PortalHost.WaitForOutputAsync("joined at", TimeSpan.FromSeconds(30)), PortalHost.Output + RelayHost!.Output);
        GatewayHost = Add(HostProcess.Start(Dll("Firezone.Gateway", "firezone-gateway"), ["--api-url", api, "-i", "gw1", "gateway-token"], netns: Gateway.Name));
        ClientHost = Add(HostProcess.Start(Dll("Firezone.Client", "firezone-headless-client"), ["--api-url", api, "-i", "client1", "--dns-control", "disabled"],
            new() { ["FIREZONE_TOKEN"] = "client-token" }, netns: Client.Name));
        Assert.True(await ClientHost.WaitForOutputAsync("Tunnel ready", TimeSpan.FromSeconds(30)), ClientHost.Output + PortalHost.Output);
        var routes = Stopwatch.StartNew(); // the routes follow the interface config
        while (!Client.IpIn("route show table all").Contains("198.18.200.0/24", StringComparison.Ordinal) && routes.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Starts (or restarts) our relay host in the internet namespace.</summary>
    public void StartRelay()
    {
        string? dll = HostProcess.Find("Firezone.Relay", "firezone-relay");
        RelayHost = Add(HostProcess.Start(dll ?? throw new InvalidOperationException("samples/Firezone.Relay is not built"),
            ["--api-url", $"ws://{Portal}:8081", "--public-ip4-addr", Portal, "--listen-address", Portal, "relay-token"], netns: Internet.Name));
    }

    /// <summary>Drops every datagram between the client's and the gateway's addresses: only the relay stays reachable.</summary>
    public void BlockDirect()
    {
        Nft("add table inet fztest");
        Nft("add chain inet fztest forward { type filter hook forward priority 0 ; }");
        Nft("add rule inet fztest forward ip saddr 198.18.1.2 ip daddr 198.18.2.2 drop");
        Nft("add rule inet fztest forward ip saddr 198.18.2.2 ip daddr 198.18.1.2 drop");
    }

    /// <summary>Pings <paramref name="destination"/> from the client's namespace once per attempt until answered (the first packet sets up the connection).</summary>
    public bool PingUntilAnswered(string destination, TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            if (Run(Client, "ping", "-c", "1", "-W", "1", destination).ExitCode == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Runs a tool in <paramref name="ns"/>: exit code and standard output.</summary>
    public static (int ExitCode, string Output) Run(NetNamespace ns, params string[] command)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns.Name }.Concat(command))
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result);
    }

    /// <summary>Starts a long-running tool in <paramref name="ns"/> (killed on dispose).</summary>
    public Process Background(NetNamespace ns, params string[] command)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns.Name }.Concat(command))
        {
            info.ArgumentList.Add(a);
        }

        var p = Process.Start(info)!;
        _background.Add(p);
        return p;
    }

    private readonly List<Process> _background = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _background)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }

        for (int i = _processes.Count - 1; i >= 0; i--)
        {
            await _processes[i].DisposeAsync(); // killed: the relay would drain its allocations for minutes on SIGTERM
        }

        Client.Dispose();
        Gateway.Dispose();
        Internet.Dispose(); // its veths go with it
        File.Delete(_config);
    }

    private HostProcess Add(HostProcess process)
    {
        _processes.Add(process);
        return process;
    }

    private void Nft(string rule) => Assert.Equal(0, Run(Internet, ["nft", .. rule.Split(' ')]).ExitCode);

    private static void Link(NetNamespace internet, NetNamespace ns, string veth, int subnet)
    {
        NetNamespace.Ip($"link add {veth} netns {internet.Name} type veth peer name eth0 netns {ns.Name}");
        internet.IpIn($"addr add 198.18.{subnet}.1/24 dev {veth}");
        internet.IpIn($"link set {veth} up");
        ns.IpIn($"addr add 198.18.{subnet}.2/24 dev eth0");
        ns.IpIn("link set eth0 up");
        ns.IpIn($"route add default via 198.18.{subnet}.1");
    }

    private static void Sysctl(NetNamespace ns, string setting) => Assert.Equal(0, Run(ns, "sysctl", "-q", "-w", setting).ExitCode);

    public override string ToString() => string.Join("\n", new[] { ClientHost, GatewayHost, RelayHost, PortalHost }.Select(h => h?.Output ?? ""));
}
