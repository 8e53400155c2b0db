using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Sessions;
using Firezone.Demo;
using Firezone.DevPortal;
using Firezone.DevPortal.Broker;
using Firezone.DevPortal.Config;
using Firezone.Tun;

// Firezone.NET demo: a dev portal, our relay, a gateway and a client, all on 127.0.0.1 in this process with in-memory
// TUN devices; behind the gateway a resource host answers ICMP echo, UDP echo and DNS. Packets cross a real Firezone
// tunnel (ICE, WireGuard, TURN) three times: directly, through the relay with the direct path blocked, and after the
// relay restarted. Exit code 0 only when every phase delivered. `--verbose` prints every log line; `--netns` (root) runs
// the same with real TUN devices and the host programs in network namespaces.
bool verbose = args.Contains("--verbose");
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("usage: dotnet run --project samples/Firezone.Demo [-- [--verbose] [--netns]]");
    Console.WriteLine("Runs a dev portal, a relay, a gateway and a client on 127.0.0.1 with in-memory TUN devices and sends traffic through the tunnel.");
    Console.WriteLine("--netns (root, Linux; build the solution first): the same phases with real TUN devices, the host programs in network namespaces.");
    Console.WriteLine("--verbose: every log line.");
    return 0;
}

var console = new DemoConsole(verbose);
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(100));
var ct = timeout.Token;
if (args.Contains("--netns"))
{
    return await DemoNamespaces.RunAsync(console, ct); // real TUN devices and the host programs in network namespaces (root)
}

var phases = new List<DemoPhase>();
bool blockDirect = false;

// The control plane: the dev portal with the demo's config (its README documents the format).
await using var portal = new DevPortalHost(new DevPortalOptions { Config = DevPortalConfig.Parse(DemoConfig.Json, "the demo's config"), LoggerFactory = console.For("portal") });
var relayJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
portal.Brokered += e =>
{
    if (e.Kind == BrokerEventKind.RelayJoined)
    {
        relayJoined.TrySetResult();
    }

    if (e.Kind is not (BrokerEventKind.RelayJoined or BrokerEventKind.RelayLeft)) // the portal's own log says those
    {
        console.Say("portal", $"{e.Kind} {e.Name} {e.Detail}".TrimEnd());
    }
};
await portal.StartAsync(ct);
console.Say("portal", $"dev portal listening on {portal.ApiUrl}");

await using var relay = new DemoRelay(portal.ApiUrl, DemoConfig.RelayToken, FreeUdpPort(), console.For("relay"));
relay.Start();
console.Say("relay", $"relay listening on {relay.Endpoint}");
await relayJoined.Task.WaitAsync(ct); // so the gateway's and the client's init list it (without relays the client reconnects)

// Phase 2's firewall: once blocked, only datagrams to the relay leave the client and the gateway.
bool DropWhenBlocked(IPEndPoint destination) => Volatile.Read(ref blockDirect) && !destination.Equals(relay.Endpoint);

// The gateway, with the resource host behind its TUN device, resolving DNS resources from the demo's records.
using var gatewayTun = new InMemoryTun("tun-gateway");
var resources = new DemoResourceHost(gatewayTun);
foreach (var (name, address) in DemoConfig.Records)
{
    resources.Records[name] = [address];
}

await using var gateway = new GatewaySession(new GatewaySessionOptions
{
    ApiUrl = portal.ApiUrl,
    Token = DemoConfig.GatewayToken,
    FirezoneId = "demo-gateway",
    Name = "demo-gateway",
    Tun = gatewayTun,
    IPv4BindAddress = IPAddress.Loopback,
    IPv6BindAddress = IPAddress.IPv6Loopback,
    ResolveName = (name, _) => Task.FromResult<IReadOnlyList<IPAddress>>(resources.Records.TryGetValue(name, out var a) ? a : []),
    DropOutbound = DropWhenBlocked,
}, console.For("gateway"));
gateway.InterfaceConfigUpdated += (_, e) => console.Say("gateway", $"tunnel addresses {e.IPv4} / {e.IPv6}");
gateway.Start();
var resourceHost = resources.RunAsync(ct);

// The client, with the applications that use the tunnel on its TUN device.
using var clientTun = new InMemoryTun("tun-client");
var app = new DemoApplication(clientTun);
var appTask = app.RunAsync(ct);
var interfaceConfig = new TaskCompletionSource<InterfaceConfigEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
await using var client = new ClientSession(new ClientSessionOptions
{
    ApiUrl = portal.ApiUrl,
    Token = DemoConfig.ClientToken,
    FirezoneId = "demo-client",
    DeviceName = "demo-laptop",
    Tun = clientTun,
    IPv4BindAddress = IPAddress.Loopback,
    IPv6BindAddress = IPAddress.IPv6Loopback,
    DropOutbound = DropWhenBlocked,
}, console.For("client"));
client.InterfaceConfigUpdated += (_, e) =>
{
    console.Say("client", $"tunnel addresses {e.IPv4} / {e.IPv6}, DNS servers {string.Join(", ", e.DnsServers)}");
    interfaceConfig.TrySetResult(e);
};
client.ResourcesUpdated += (_, e) => console.Say("client", $"resources: {string.Join(", ", e.Resources.Select(r => $"{r.Name} ({r.Status})"))}");
client.Start();
var config = await interfaceConfig.Task.WaitAsync(ct);
var tunnelIp = config.IPv4;
var sentinel = config.DnsServers.First(a => a.AddressFamily == AddressFamily.InterNetwork);

// Phase 1: straight through.
var direct = new DemoPhase("direct");
phases.Add(direct);
console.Say("demo", $"phase 1: {DemoConfig.EchoHost} through the tunnel (the first ping sets up the connection)");
await PingUntilAnswered(direct, DemoConfig.EchoHost, TimeSpan.FromSeconds(20));
await Pings(direct, DemoConfig.EchoHost, 5);
bool echoed = await app.UdpEchoAsync(tunnelIp, DemoConfig.EchoHost, 7, TimeSpan.FromSeconds(2), ct);
direct.Count(echoed);
console.Say("demo", $"UDP echo from {DemoConfig.EchoHost}:7: {(echoed ? "came back" : "LOST")}");
var proxied = await app.ResolveAsync(tunnelIp, sentinel, DemoConfig.DnsResourceName, aaaa: false, TimeSpan.FromSeconds(3), ct);
direct.Count(proxied is { Length: > 0 });
console.Say("demo", $"DNS resource {DemoConfig.DnsResourceName} resolved by the client to proxy IPs {(proxied is null ? "NONE" : string.Join(", ", proxied.Select(a => a.ToString())))}");
if (proxied is { Length: > 0 })
{
    await PingUntilAnswered(direct, proxied[0], TimeSpan.FromSeconds(10), $"{DemoConfig.DnsResourceName} ({proxied[0]}, the gateway translates it to {DemoConfig.Records[DemoConfig.DnsResourceName]})");
}

var lan = await app.ResolveAsync(tunnelIp, sentinel, DemoConfig.LanName, aaaa: false, TimeSpan.FromSeconds(5), ct);
if (lan is null or { Length: 0 })
{
    // The first query only sets up the connection to the DNS server's resource (dropped, as upstream); ask again.
    lan = await app.ResolveAsync(tunnelIp, sentinel, DemoConfig.LanName, aaaa: false, TimeSpan.FromSeconds(5), ct);
}

direct.Count(lan is { Length: > 0 });
console.Say("demo", $"{DemoConfig.LanName} resolved through the tunnel by the resource host's DNS server {DemoConfig.LanDns}: {(lan is null ? "NO ANSWER" : string.Join(", ", lan.Select(a => a.ToString())))}");

// Phase 2: the direct path blocked; traffic must find the relay.
var relayed = new DemoPhase("relayed");
phases.Add(relayed);
Volatile.Write(ref blockDirect, true);
console.Say("demo", "phase 2: the direct path between client and gateway is blocked (only the relay is reachable)");
await PingUntilAnswered(relayed, DemoConfig.EchoHost, TimeSpan.FromSeconds(30));
await Pings(relayed, DemoConfig.EchoHost, 5);

// Phase 3: the relay restarts (all allocations lost, new secret); traffic must recover.
var restarted = new DemoPhase("relay restarted");
phases.Add(restarted);
console.Say("demo", "phase 3: the relay restarts (its allocations are gone, it joins with a new secret)");
await relay.StopAsync();
relay.Start();
await PingUntilAnswered(restarted, DemoConfig.EchoHost, TimeSpan.FromSeconds(30));
await Pings(restarted, DemoConfig.EchoHost, 5);

bool ok = phases.All(p => p.Delivered);
console.Say("demo", "summary: " + string.Join("; ", phases.Select(p => p.ToString())) + $"; warnings {console.Warnings}, errors {console.Errors}");
console.Say("demo", ok ? "every phase delivered" : "a phase did not deliver: exit 1");
await client.StopAsync();
await gateway.StopAsync();
await relay.StopAsync();
timeout.Cancel();
await Task.WhenAll(resourceHost, appTask);
return ok ? 0 : 1;

// Pings every 250 ms until one is answered (the path is being set up or repaired); says how long it took.
async Task PingUntilAnswered(DemoPhase phase, IPAddress destination, TimeSpan limit, string? label = null)
{
    var started = System.Diagnostics.Stopwatch.StartNew();
    while (started.Elapsed < limit)
    {
        var rtt = await app.PingAsync(tunnelIp, destination, TimeSpan.FromMilliseconds(250), ct);
        phase.Count(rtt is not null);
        if (rtt is { } answered)
        {
            console.Say("demo", $"ping {label ?? destination.ToString()}: reply in {answered.TotalMilliseconds:F1} ms (path ready after {started.Elapsed.TotalSeconds:F1} s)");
            phase.Ready = true;
            return;
        }
    }

    console.Say("demo", $"ping {label ?? destination.ToString()}: no reply within {limit.TotalSeconds:F0} s");
}

async Task Pings(DemoPhase phase, IPAddress destination, int count)
{
    var rtts = new List<double>();
    for (int i = 0; i < count; i++)
    {
        var rtt = await app.PingAsync(tunnelIp, destination, TimeSpan.FromSeconds(1), ct);
        phase.Count(rtt is not null);
        if (rtt is { } r)
        {
            rtts.Add(r.TotalMilliseconds);
        }
    }

    console.Say("demo", $"{count} pings to {destination}: {rtts.Count} replies, RTT {(rtts.Count == 0 ? "-" : $"min {rtts.Min():F1} / avg {rtts.Average():F1} / max {rtts.Max():F1} ms")}");
    phase.Final = rtts.Count == count;
}

static int FreeUdpPort()
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)socket.LocalEndPoint!).Port;
}
