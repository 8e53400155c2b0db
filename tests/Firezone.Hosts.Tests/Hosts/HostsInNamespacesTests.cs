using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Firezone.Tun.Tests.Linux;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>
/// The README's "by hand" setup as a test: the dev portal and our relay host in the test's root namespace, the gateway
/// host and the headless client in namespaces of their own (veth pairs, addresses from 198.18.0.0/15), real TUN
/// devices; the kernel's <c>ping</c> in the client namespace reaches an address inside the gateway's namespace through
/// the tunnel, and so does an address only the internet resource covers. The root namespace does not forward between
/// the veths here, so the tunnel runs through the relay.
/// </summary>
public sealed class HostsInNamespacesTests
{
    [Fact]
    public async Task The_kernels_ping_crosses_real_tun_devices_through_the_client_gateway_relay_and_dev_portal_hosts()
    {
        NetNamespace.SkipUnlessAvailable();
        string Dll(string project, string assembly) =>
            HostProcess.Find(project, assembly) ?? throw new InvalidOperationException($"samples/{project} is not built");
        string portalDll = Dll("Firezone.DevPortal", "firezone-dev-portal"), relayDll = Dll("Firezone.Relay", "firezone-relay");
        string gatewayDll = Dll("Firezone.Gateway", "firezone-gateway"), clientDll = Dll("Firezone.Client", "firezone-headless-client");
        Assert.SkipWhen(File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim() != "0", "the machine forwards IPv4; this test expects the relayed path");

        string suffix = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        int block = RandomNumberGenerator.GetInt32(1, 120) * 2; // 198.19.<block>.0/24 (client side) and <block+1> (gateway side)
        using var clientNs = NetNamespace.Create();
        using var gatewayNs = NetNamespace.Create();
        string clientVeth = $"fzhc{suffix}", gatewayVeth = $"fzhg{suffix}";
        var portalAddress = IPAddress.Parse($"198.19.{block}.1");
        var dir = Directory.CreateTempSubdirectory("fz-hosts-");
        await using var processes = new ProcessSet();
        try
        {
            Link(clientNs, clientVeth, block);
            Link(gatewayNs, gatewayVeth, block + 1);
            gatewayNs.IpIn("addr add 198.18.200.10/32 dev lo"); // a host of the CIDR resource, inside the gateway's namespace
            gatewayNs.IpIn("addr add 198.18.201.10/32 dev lo"); // "the internet" behind the gateway: only the internet resource covers it
            string config = Path.Combine(dir.FullName, "config.json");
            File.WriteAllText(config, """
                { "sites": [{ "name": "lab" }], "gateways": [{ "token": "gateway-token", "site": "lab" }],
                  "clients": [{ "token": "client-token" }], "relays": [{ "token": "relay-token" }],
                  "resources": [{ "type": "cidr", "name": "lab hosts", "address": "198.18.200.0/24", "sites": ["lab"] },
                                { "type": "internet", "sites": ["lab"] }] }
                """);
            int portalPort = FreePort(SocketType.Stream), relayPort = FreePort(SocketType.Dgram), relayHealth = FreePort(SocketType.Stream);
            string api = $"ws://{portalAddress}:{portalPort}";
            var portal = processes.Add(HostProcess.Start(portalDll, ["--config", config, "--listen-address", portalAddress.ToString(), "--port", portalPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            Assert.True(await portal.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30)), portal.Output);
            var relay = processes.Add(HostProcess.Start(relayDll, ["--api-url", api, "--public-ip4-addr", portalAddress.ToString(), "--listen-address", portalAddress.ToString(),
                "--listen-port", relayPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--health-check-addr", $"127.0.0.1:{relayHealth}", "relay-token"]));
            var gateway = processes.Add(HostProcess.Start(gatewayDll, ["--api-url", api, "-i", "gw1", "--health-check-addr", "127.0.0.1:8080", "gateway-token"], netns: gatewayNs.Name));
            var client = processes.Add(HostProcess.Start(clientDll, ["--api-url", api, "-i", "client1", "--dns-control", "disabled"],
                new() { ["FIREZONE_TOKEN"] = "client-token" }, netns: clientNs.Name));
            Assert.True(await client.WaitForOutputAsync("Tunnel ready", TimeSpan.FromSeconds(30)), client.Output + portal.Output);
            var routes = Stopwatch.StartNew(); // the routes follow the interface config
            while (!clientNs.IpIn("route show table all").Contains("198.18.200.0/24", StringComparison.Ordinal) && routes.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            Assert.Contains("198.18.200.0/24", clientNs.IpIn("route show table all"), StringComparison.Ordinal);

            // The first packet only sets up the connection (dropped, as upstream); then every ping is answered.
            var stopwatch = Stopwatch.StartNew();
            while (Ping(clientNs, 1) != 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
            {
            }

            Assert.True(Ping(clientNs, 5) == 0, "5 pings after the connection: " + client.Output + gateway.Output + relay.Output);

            // The internet resource routes 0.0.0.0/0 into the TUN: the tunnel's own sockets carry Firezone's SO_MARK and
            // bypass it (without the mark the portal and relay connections would loop into the tunnel).
            Assert.Contains("default dev tun-firezone", clientNs.IpIn("route show table all"), StringComparison.Ordinal);
            stopwatch.Restart();
            while (Ping(clientNs, 1, "198.18.201.10") != 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
            {
            }

            Assert.True(Ping(clientNs, 5, "198.18.201.10") == 0, "5 pings through the internet resource: " + client.Output + gateway.Output);
            Assert.Contains("established over relay", client.Output + gateway.Output, StringComparison.Ordinal);
            foreach (var host in new[] { client, gateway, relay, portal })
            {
                Assert.DoesNotContain(" ERROR ", host.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            NetNamespace.Ip($"link del {clientVeth}", check: false);
            NetNamespace.Ip($"link del {gatewayVeth}", check: false);
            dir.Delete(recursive: true);
        }
    }

    private static void Link(NetNamespace ns, string veth, int block)
    {
        NetNamespace.Ip($"link add {veth} type veth peer name eth0 netns {ns.Name}");
        NetNamespace.Ip($"addr add 198.19.{block}.1/24 dev {veth}");
        NetNamespace.Ip($"link set {veth} up");
        ns.IpIn($"addr add 198.19.{block}.2/24 dev eth0");
        ns.IpIn("link set eth0 up");
        ns.IpIn($"route add default via 198.19.{block}.1");
    }

    private static int Ping(NetNamespace ns, int count, string destination = "198.18.200.10")
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns.Name, "ping", "-c", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", "2", "-i", "0.3", destination })
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    private static int FreePort(SocketType type)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The host processes of one test, stopped (SIGTERM, then disposed) in reverse order.</summary>
    private sealed class ProcessSet : IAsyncDisposable
    {
        private readonly List<HostProcess> _processes = [];

        public HostProcess Add(HostProcess process)
        {
            _processes.Add(process);
            return process;
        }

        public async ValueTask DisposeAsync()
        {
            for (int i = _processes.Count - 1; i >= 0; i--)
            {
                _processes[i].Signal(15);
                await _processes[i].WaitForExitAsync(TimeSpan.FromSeconds(10));
                await _processes[i].DisposeAsync();
            }
        }
    }
}
