using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Firezone.Hosts.Tests;
using Firezone.Hosts.Tests.Hosts;
using Firezone.Tun.Tests.Linux;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14's topology: five network namespaces and the four host programs as processes with real TUN devices,
/// configured only through their flags, environment and the dev portal's config file.
/// <list type="bullet">
/// <item>"internet" routes between three links: the client's (198.18.1.0/24, 2001:2:1::/64), the gateway's
/// (198.18.2.0/24, 2001:2:2::/64) and the relay's (198.18.3.0/24, 2001:2:3::/64); the dev portal listens on its
/// loopback address 198.18.0.1:8081.</item>
/// <item>The resource host sits behind the gateway (198.18.200.0/24, 2001:2:200::/64; its address
/// <see cref="ResourceHost"/>): it runs dnsmasq (<see cref="WebName"/> → <see cref="WebAddress"/>, a second address of
/// it), the test's HTTP servers, and holds <see cref="InternetHost"/> (198.18.250.1, outside every CIDR resource,
/// reached through the internet resource). The gateway's resolv.conf (<c>/etc/netns/&lt;gateway&gt;/resolv.conf</c>)
/// names that dnsmasq; the gateway host sets up forwarding and masquerading itself (<c>--setup-forwarding</c>).</item>
/// <item>The client host controls a resolv.conf (<c>--dns-control etc-resolv-conf</c>) that is the client namespace's
/// <c>/etc/resolv.conf</c> for every tool run in it, so <c>curl http://web.lab.test/</c> resolves through the tunnel.</item>
/// </list>
/// With <see cref="TopologyOptions.ImpairClientLink"/> the client's link is an <see cref="ImpairedLink"/> (delay and
/// loss in both directions) instead of a veth. Everything is removed on dispose, also after a failure.
/// </summary>
internal sealed class TunnelTopology : IAsyncDisposable
{
    public const string ResourceHost = "198.18.200.10";
    public const string ResourceHost6 = "2001:2:200::10";
    public const string WebName = "web.lab.test";
    public const string WebAddress = "198.18.200.20";
    public const string WebAddress6 = "2001:2:200::20";
    public const string InternetHost = "198.18.250.1";
    public const string PortalAddress = "198.18.0.1";
    public const string RelayAddress = "198.18.3.2";

    /// <summary>The CIDR resources (v4 and v6) and the DNS resource, all at site "lab".</summary>
    public const string LabResources = """
        [{ "type": "cidr", "name": "lab hosts", "address": "198.18.200.0/24", "sites": ["lab"] },
         { "type": "cidr", "name": "lab hosts v6", "address": "2001:2:200::/64", "sites": ["lab"] },
         { "type": "dns", "name": "lab web", "address": "web.lab.test", "sites": ["lab"] }]
        """;

    private readonly List<HostProcess> _processes = [];
    private readonly List<Process> _background = [];
    private readonly List<IDisposable> _owned = [];
    private readonly string _id = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
    private readonly TempDirectory _dir = new();

    private TunnelTopology()
    {
        Internet = Own(NetNamespace.Create());
        Client = Own(NetNamespace.Create());
        Gateway = Own(NetNamespace.Create());
        Relay = Own(NetNamespace.Create());
        Resource = Own(NetNamespace.Create());
    }

    public NetNamespace Internet { get; }

    public NetNamespace Client { get; }

    public NetNamespace Gateway { get; }

    public NetNamespace Relay { get; }

    public NetNamespace Resource { get; }

    public HostProcess? ClientHost { get; private set; }

    public HostProcess? GatewayHost { get; private set; }

    public HostProcess? RelayHost { get; private set; }

    public HostProcess? PortalHost { get; private set; }

    /// <summary>The client's impaired link, when <see cref="TopologyOptions.ImpairClientLink"/> asked for one.</summary>
    public ImpairedLink? ClientLink { get; private set; }

    /// <summary>The client's current address on its link (changes with <see cref="MoveClient"/>).</summary>
    public string ClientAddress { get; private set; } = "198.18.1.2";

    /// <summary>The dev portal's config file; rewrite it (<see cref="SetResources"/>) and the portal reloads it.</summary>
    public string ConfigPath => _dir.File("portal.json");

    private string ClientVeth => $"fzc{_id}";

    private string GatewayVeth => $"fzg{_id}";

    /// <summary>Skips unless root, namespaces, nft and the tools of <paramref name="tools"/> are there.</summary>
    public static void SkipUnlessAvailable(params string[] tools)
    {
        NetNamespace.SkipUnlessAvailable();
        foreach (string tool in new[] { "nft", "dnsmasq" }.Concat(tools))
        {
            Assert.SkipWhen(TempDirectory.FindTool(tool) is null, $"{tool} is not installed");
        }
    }

    /// <summary>Creates the namespaces and starts the four hosts; returns once the client's tunnel is ready and its routes are in place.</summary>
    public static async Task<TunnelTopology> StartAsync(TopologyOptions? options = null)
    {
        options ??= new();
        var topology = new TunnelTopology { _nativeClient = options.NativeClient };
        try
        {
            topology.Build(options);
            await topology.StartHostsAsync();
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    private void Build(TopologyOptions options)
    {
        Internet.IpIn($"addr add {PortalAddress}/32 dev lo");
        Sysctl(Internet, "net.ipv4.ip_forward=1");
        Sysctl(Internet, "net.ipv6.conf.all.forwarding=1");
        if (options.ImpairClientLink is { } impairment && OperatingSystem.IsLinux())
        {
            ClientLink = ImpairedLink.Create(Internet, Client, ClientVeth, impairment);
            _owned.Add(ClientLink);
            Address(Internet, ClientVeth, Client, "eth0", "198.18.1", "2001:2:1");
        }
        else
        {
            Link(Internet, ClientVeth, Client, "eth0", "198.18.1", "2001:2:1");
        }

        Link(Internet, GatewayVeth, Gateway, "eth0", "198.18.2", "2001:2:2");
        Link(Internet, $"fzr{_id}", Relay, "eth0", "198.18.3", "2001:2:3");

        // The resource host behind the gateway: its default route is the gateway (masquerading answers come back anyway).
        NetNamespace.Ip($"link add fzs{_id} netns {Gateway.Name} type veth peer name eth0 netns {Resource.Name}");
        Gateway.IpIn($"link set fzs{_id} name eth1");
        Gateway.IpIn("addr add 198.18.200.1/24 dev eth1");
        Gateway.IpIn("-6 addr add 2001:2:200::1/64 dev eth1 nodad");
        Gateway.IpIn("link set eth1 up");
        Gateway.IpIn($"route add 198.18.250.0/24 via {ResourceHost}");
        Resource.IpIn($"addr add {ResourceHost}/24 dev eth0");
        Resource.IpIn($"addr add {WebAddress}/24 dev eth0");
        Resource.IpIn($"-6 addr add {ResourceHost6}/64 dev eth0 nodad");
        Resource.IpIn($"-6 addr add {WebAddress6}/64 dev eth0 nodad");
        Resource.IpIn("link set eth0 up");
        Resource.IpIn("route add default via 198.18.200.1");
        Resource.IpIn("-6 route add default via 2001:2:200::1");
        Resource.IpIn($"addr add {InternetHost}/32 dev lo");
        Background(Resource, ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces", $"--listen-address={ResourceHost}",
            "--user=root", $"--pid-file={_dir.File("dnsmasq.pid")}", $"--address=/{WebName}/{WebAddress}", $"--address=/{WebName}/{WebAddress6}"]);

        // resolv.conf files that `ip netns exec` bind-mounts over /etc/resolv.conf in each namespace.
        string gatewayEtc = EtcDirectory(Gateway);
        File.WriteAllText(Path.Combine(gatewayEtc, "resolv.conf"), $"nameserver {ResourceHost}\n");
        File.WriteAllText(_dir.File("client-resolv.conf"), $"nameserver {PortalAddress}\n"); // the client's "system" resolver (never answers)
        File.CreateSymbolicLink(Path.Combine(EtcDirectory(Client), "resolv.conf"), _dir.File("client-resolv.conf"));

        SetResources(options.Resources);
    }

    /// <summary>Writes the dev portal's config with <paramref name="resourcesJson"/> as its resources (the portal reloads a changed file).</summary>
    public void SetResources(string resourcesJson)
    {
        string temporary = ConfigPath + ".tmp";
        File.WriteAllText(temporary, $$"""
            { "sites": [{ "name": "lab" }], "gateways": [{ "token": "gateway-token", "site": "lab" }],
              "clients": [{ "token": "client-token" }], "relays": [{ "token": "relay-token" }],
              "resources": {{resourcesJson}} }
            """);
        File.Move(temporary, ConfigPath, overwrite: true);
    }

    private async Task StartHostsAsync()
    {
        await StartPortalAsync();
        StartRelay();
        Assert.True(await PortalHost!.WaitForOutputAsync("joined at", TimeSpan.FromSeconds(30)), PortalHost.Output + RelayHost!.Output);
        StartGateway();
        string client = _nativeClient
            ? HostProcess.FindNative("Firezone.Client", "firezone-headless-client") ?? throw new InvalidOperationException("the NativeAOT client is not published")
            : Dll("Firezone.Client", "firezone-headless-client");
        ClientHost = Add(HostProcess.Start(client,
            ["--api-url", $"ws://{PortalAddress}:8081", "-i", "client1", "--dns-control", "etc-resolv-conf", "--resolv-conf", _dir.File("client-resolv.conf")],
            new() { ["FIREZONE_TOKEN"] = "client-token" }, netns: Client.Name));
        Assert.True(await ClientHost.WaitForOutputAsync("Tunnel ready", TimeSpan.FromSeconds(60)), ToString());
        var routes = Stopwatch.StartNew(); // the routes follow the interface config
        while (!Client.IpIn("route show table all").Contains("100.96.0.0/11", StringComparison.Ordinal) && routes.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Starts (or restarts) the dev portal in the internet namespace; returns once it listens.</summary>
    public async Task StartPortalAsync()
    {
        PortalHost = Add(HostProcess.Start(Dll("Firezone.DevPortal", "firezone-dev-portal"), ["--config", ConfigPath, "--listen-address", PortalAddress], netns: Internet.Name));
        Assert.True(await PortalHost.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30)), PortalHost.Output);
    }

    /// <summary>Starts (or restarts) our relay host in the relay namespace.</summary>
    public void StartRelay() => RelayHost = Add(HostProcess.Start(Dll("Firezone.Relay", "firezone-relay"),
        ["--api-url", $"ws://{PortalAddress}:8081", "--public-ip4-addr", RelayAddress, "--public-ip6-addr", "2001:2:3::2", "relay-token"], netns: Relay.Name));

    /// <summary>Starts (or restarts) the gateway host (id gw1, so a restart is the same gateway).</summary>
    public void StartGateway() => GatewayHost = Add(HostProcess.Start(Dll("Firezone.Gateway", "firezone-gateway"),
        ["--api-url", $"ws://{PortalAddress}:8081", "-i", "gw1", "--setup-forwarding", "gateway-token"], netns: Gateway.Name));

    /// <summary>Kills <paramref name="host"/> (SIGKILL: nothing is said goodbye) and waits until it is gone.</summary>
    public static async Task KillAsync(HostProcess host)
    {
        host.Signal(9);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the host did not die");
    }

    /// <summary>Drops every datagram between the client's and the gateway's links in the internet namespace: only the relay stays reachable.</summary>
    public void BlockDirect()
    {
        Nft("add table inet fztest");
        Nft("add chain inet fztest forward { type filter hook forward priority 0 ; }");
        Nft($"add rule inet fztest forward iifname {ClientVeth} oifname {GatewayVeth} drop");
        Nft($"add rule inet fztest forward iifname {GatewayVeth} oifname {ClientVeth} drop");
    }

    /// <summary>
    /// Roaming: the client's link loses its addresses and gets <c>198.18.1.&lt;<paramref name="host"/>&gt;</c> and
    /// <c>2001:2:1::&lt;host&gt;</c> instead (the default routes are set again: they went with the old addresses).
    /// </summary>
    public void MoveClient(int host)
    {
        Client.IpIn("addr flush dev eth0 scope global");
        Client.IpIn($"addr add 198.18.1.{host}/24 dev eth0");
        Client.IpIn($"-6 addr add 2001:2:1::{host:x}/64 dev eth0 nodad");
        Client.IpIn("route replace default via 198.18.1.1 dev eth0");
        Client.IpIn("-6 route replace default via 2001:2:1::1 dev eth0");
        ClientAddress = $"198.18.1.{host}";
    }

    /// <summary>Pings <paramref name="destination"/> from the client's namespace once per attempt until answered (the first packet sets up the connection).</summary>
    public bool PingUntilAnswered(string destination, TimeSpan limit) => PingUntilAnswered(destination, limit, out _);

    /// <summary>As <see cref="PingUntilAnswered(string, TimeSpan)"/>; <paramref name="elapsed"/> is the time until the answer.</summary>
    public bool PingUntilAnswered(string destination, TimeSpan limit, out TimeSpan elapsed)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            if (Ping(destination))
            {
                elapsed = sw.Elapsed;
                return true;
            }
        }

        elapsed = sw.Elapsed;
        return false;
    }

    /// <summary>One ping from the client's namespace (waits at most 1 s for the answer).</summary>
    public bool Ping(string destination) => Run(Client, "ping", "-n", "-c", "1", "-W", "1", destination).ExitCode == 0;

    /// <summary>Runs a tool in <paramref name="ns"/>: exit code and standard output (standard error appended).</summary>
    public static (int ExitCode, string Output) Run(NetNamespace ns, params string[] command)
    {
        using var p = Process.Start(Exec(ns, command))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

    /// <summary>Starts a long-running tool in <paramref name="ns"/> (killed on dispose); its output lines go to <paramref name="output"/> when given.</summary>
    public Process Background(NetNamespace ns, string[] command, StringBuilder? output = null)
    {
        var p = Process.Start(Exec(ns, command))!;
        _background.Add(p);
        void Collect(object _, DataReceivedEventArgs e)
        {
            if (output is not null && e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        }

        p.OutputDataReceived += Collect; // drained: a full pipe would block the tool
        p.ErrorDataReceived += Collect;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>
    /// Serves a new random file of <paramref name="bytes"/> bytes as <c>/file.bin</c> over HTTP from the resource host
    /// (python3's http.server, port 8000 of every address it has); <see cref="DownloadIntact"/> and
    /// <see cref="StartDownload"/> check downloads against it.
    /// </summary>
    public void ServeRandomFile(int bytes)
    {
        var file = RandomNumberGenerator.GetBytes(bytes);
        File.WriteAllBytes(_dir.File("file.bin"), file);
        _servedHash = Convert.ToHexString(SHA256.HashData(file));
        Background(Resource, ["python3", "-m", "http.server", "8000", "--bind", "::", "--directory", _dir.Path]);
        var sw = Stopwatch.StartNew();
        while (!Run(Resource, "ss", "-ltnH", "sport = :8000").Output.Contains("8000", StringComparison.Ordinal) && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// Downloads <c>http://<paramref name="host"/>:8000/file.bin</c> with curl in the client's namespace (retried while
    /// the connection is set up) and asserts it is the served file; returns the time it took.
    /// </summary>
    public TimeSpan DownloadIntact(string host, int maxSeconds = 120)
    {
        string output = _dir.File($"out-{Interlocked.Increment(ref _downloads)}.bin");
        var sw = Stopwatch.StartNew();
        var (exit, log) = Run(Client, "curl", "-sS", "--retry", "5", "--retry-all-errors", "--max-time", $"{maxSeconds}", "-o", output, $"http://{host}:8000/file.bin");
        Assert.True(exit == 0, $"curl exited {exit} for {host}: {log}\n{this}");
        AssertServedFile(output);
        return sw.Elapsed;
    }

    /// <summary>Starts a download at <paramref name="rate"/> (curl's --limit-rate) from <paramref name="host"/> in the background.</summary>
    public Download StartDownload(string host, string rate, int maxSeconds)
    {
        string output = _dir.File($"out-{Interlocked.Increment(ref _downloads)}.bin");
        var log = new StringBuilder();
        return new Download(this, output, log, Background(Client, ["curl", "-sS", "--limit-rate", rate, "--max-time", $"{maxSeconds}", "-o", output, $"http://{host}:8000/file.bin"], log));
    }

    private void AssertServedFile(string output) =>
        Assert.True(_servedHash == Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(output))), "the downloaded file differs from the served one");

    private bool _nativeClient;
    private string? _servedHash;
    private int _downloads;

    /// <summary>A download under way (<see cref="StartDownload"/>).</summary>
    internal sealed class Download(TunnelTopology net, string output, StringBuilder log, Process curl)
    {
        /// <summary>Whether curl has ended.</summary>
        public bool HasEnded => curl.HasExited;

        /// <summary>curl's exit code and messages so far.</summary>
        public override string ToString()
        {
            lock (log)
            {
                return $"curl {(curl.HasExited ? $"exited {curl.ExitCode}" : "running")}: {log}";
            }
        }

        /// <summary>Waits for curl and asserts it succeeded with the served file.</summary>
        public void AssertCompletesIntact(TimeSpan limit)
        {
            Assert.True(curl.WaitForExit(limit), "the download did not finish");
            Assert.True(curl.ExitCode == 0, $"{this}\n{net}");
            net.AssertServedFile(output);
        }
    }

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

        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose(); // the namespaces go last; their veths and the impaired link's TUNs go with them
        }

        foreach (var ns in new[] { Client, Gateway })
        {
            try
            {
                Directory.Delete($"/etc/netns/{ns.Name}", recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }

        _dir.Dispose();
    }

    public override string ToString() => string.Join("\n", new[] { ("client", ClientHost), ("gateway", GatewayHost), ("relay", RelayHost), ("portal", PortalHost) }
        .Select(h => $"--- {h.Item1} ---\n{h.Item2?.Output}"));

    private static ProcessStartInfo Exec(NetNamespace ns, string[] command)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns.Name }.Concat(command))
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    private static string Dll(string project, string assembly) =>
        HostProcess.Find(project, assembly) ?? throw new InvalidOperationException($"samples/{project} is not built");

    private static string EtcDirectory(NetNamespace ns) => Directory.CreateDirectory($"/etc/netns/{ns.Name}").FullName;

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private HostProcess Add(HostProcess process)
    {
        _processes.Add(process);
        return process;
    }

    private void Nft(string rule) => Assert.Equal(0, Run(Internet, ["nft", .. rule.Split(' ')]).ExitCode);

    private static void Link(NetNamespace internet, string veth, NetNamespace ns, string name, string v4, string v6)
    {
        NetNamespace.Ip($"link add {veth} netns {internet.Name} type veth peer name {name} netns {ns.Name}");
        Address(internet, veth, ns, name, v4, v6);
    }

    private static void Address(NetNamespace internet, string veth, NetNamespace ns, string name, string v4, string v6)
    {
        internet.IpIn($"addr add {v4}.1/24 dev {veth}");
        internet.IpIn($"-6 addr add {v6}::1/64 dev {veth} nodad");
        internet.IpIn($"link set {veth} up");
        ns.IpIn($"addr add {v4}.2/24 dev {name}");
        ns.IpIn($"-6 addr add {v6}::2/64 dev {name} nodad");
        ns.IpIn($"link set {name} up");
        ns.IpIn($"route add default via {v4}.1");
        ns.IpIn($"-6 route add default via {v6}::1");
    }

    private static void Sysctl(NetNamespace ns, string setting) => Assert.Equal(0, Run(ns, "sysctl", "-q", "-w", setting).ExitCode);
}

/// <summary>What <see cref="TunnelTopology.StartAsync"/> builds.</summary>
internal sealed record TopologyOptions
{
    /// <summary>The dev portal's resources (JSON array).</summary>
    public string Resources { get; init; } = TunnelTopology.LabResources;

    /// <summary>Run the client published with NativeAOT (<see cref="HostProcess.FindNative"/>) instead of the built dll.</summary>
    public bool NativeClient { get; init; }

    /// <summary>Delay and loss on the client's link (both directions), or null for a plain veth.</summary>
    public Impairment? ImpairClientLink { get; init; }
}
