using System.Net;
using System.Net.Sockets;
using System.Text;
using Firezone.Connlib.Hosting;
using Firezone.Tun;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>
/// The seams' contexts (hosts-and-tun.md §7.1 "Main loop events", §7.2 init): interface config → addresses then DNS,
/// first time "Tunnel ready" + READY=1 (+ stop with --exit); routes; resets; the gateway's fixed routes and warnings.
/// </summary>
public sealed class TunnelContextTests
{
    private sealed class RecordingTun : IHostTun
    {
        public List<string> Calls { get; } = [];

        public bool Fail { get; set; }

        public ITun Open() => new InMemoryTun();

        public void SetAddresses(IPAddress? ipv4, IPAddress? ipv6)
        {
            if (Fail)
            {
                throw new TunDeviceException("Interface 'tun-firezone' does not exist");
            }

            Calls.Add($"addresses {ipv4} {ipv6}");
        }

        public void SetRoutes(IReadOnlyCollection<IPNetwork> routes) => Calls.Add("routes " + string.Join(",", routes));

        public void Dispose()
        {
        }
    }

    private static readonly IPAddress V4 = IPAddress.Parse("100.64.0.7");
    private static readonly IPAddress V6 = IPAddress.Parse("fd00:2021:1111::7");
    private static readonly IPAddress[] Sentinels = [IPAddress.Parse("100.100.111.1")];

    [Fact]
    public void The_first_interface_config_and_routes_set_addresses_dns_and_routes_then_report_ready_once_and_stop_with_exit_deliberately_after_the_routes()
    {
        using var dir = new TempDirectory();
        string resolv = dir.File("resolv.conf");
        File.WriteAllText(resolv, "nameserver 198.18.0.53\n");
        using var notifySocket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notifySocket.Bind(new UnixDomainSocketEndPoint(dir.File("notify")));
        notifySocket.ReceiveTimeout = 5000;
        var tun = new RecordingTun();
        using var dns = DnsControl.Create(DnsControlMethod.EtcResolvConf, new DnsControlOptions { ResolvConfPath = resolv });
        using var signals = new HostSignals(handleHangup: false);
        using var context = new ClientTunnelContext(NullLoggerFactory.Instance, tun, dns, new SystemdNotify(dir.File("notify")), signals, exitWhenReady: true, networkMonitor: null);

        Assert.False(context.Ready.IsCompleted);
        context.SetInterface(V4, V6, Sentinels);
        Assert.False(context.Ready.IsCompleted); // upstream reports ready here, before the routes exist
        Assert.False(context.Stopping.IsCancellationRequested);
        context.SetRoutes([IPNetwork.Parse("100.96.0.0/11")]);
        Assert.True(context.Ready.IsCompletedSuccessfully);
        Assert.True(context.Stopping.IsCancellationRequested); // --exit
        Assert.Equal([$"addresses {V4} {V6}", "routes 100.96.0.0/11"], tun.Calls);
        Assert.Equal(Sentinels, ResolvConf.Nameservers(File.ReadAllText(resolv)));
        var buffer = new byte[64];
        Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, notifySocket.Receive(buffer)));

        context.SetInterface(V4, V6, Sentinels); // a later config and routes: applied, not reported again
        context.SetRoutes([IPNetwork.Parse("100.96.0.0/11")]);
        notifySocket.ReceiveTimeout = 300;
        Assert.Throws<SocketException>(() => notifySocket.Receive(buffer));
        Assert.Equal(4, tun.Calls.Count);
        Assert.Equal([IPAddress.Parse("198.18.0.53")], context.GetSystemResolvers());
    }

    [Fact]
    public void Without_exit_the_context_keeps_running_and_routes_and_resets_pass_through()
    {
        var tun = new RecordingTun();
        using var dns = DnsControl.Create(DnsControlMethod.Disabled, new DnsControlOptions { ResolvConfPath = "/nonexistent/resolv.conf" });
        using var signals = new HostSignals(handleHangup: false);
        using var context = new ClientTunnelContext(NullLoggerFactory.Instance, tun, dns, new SystemdNotify(null), signals, exitWhenReady: false, networkMonitor: null);
        var resets = new List<string>();
        context.ResetRequested += (_, reason) => resets.Add(reason);
        context.SetInterface(V4, V6, Sentinels);
        Assert.False(context.Stopping.IsCancellationRequested);
        context.SetRoutes([IPNetwork.Parse("100.96.0.0/11"), IPNetwork.Parse("198.19.1.0/24")]);
        context.RequestReset("test");
        Assert.Equal("routes 100.96.0.0/11,198.19.1.0/24", tun.Calls[1]);
        Assert.Equal(["test"], resets);
        Assert.IsType<InMemoryTun>(context.OpenTun(), exactMatch: false);
    }

    [Fact]
    public async Task Start_reports_the_system_resolvers_once()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), "nameserver 198.18.0.53\n");
        using var dns = DnsControl.Create(DnsControlMethod.Disabled, new DnsControlOptions { ResolvConfPath = dir.File("resolv.conf") });
        using var signals = new HostSignals(handleHangup: false);
        using var context = new ClientTunnelContext(NullLoggerFactory.Instance, new RecordingTun(), dns, new SystemdNotify(null), signals, false, null);
        var reported = new TaskCompletionSource<IReadOnlyList<IPAddress>>();
        context.SystemResolversChanged += (_, servers) => reported.TrySetResult(servers);
        context.Start();
        Assert.Equal([IPAddress.Parse("198.18.0.53")], await reported.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
    }

    [Fact]
    public void The_gateway_sets_addresses_then_the_client_pool_routes_and_only_warns_on_failure()
    {
        var tun = new RecordingTun();
        using var signals = new HostSignals(handleHangup: false);
        var context = new GatewayTunnelContext(NullLoggerFactory.Instance, tun, signals, new SystemdNotify(null), new GatewayDnsResolver());
        context.SetInterface(IPAddress.Parse("100.64.0.1"), IPAddress.Parse("fd00:2021:1111::1"));
        Assert.Equal(["addresses 100.64.0.1 fd00:2021:1111::1", "routes 100.64.0.0/11,fd00:2021:1111::/107"], tun.Calls);
        tun.Fail = true;
        context.SetInterface(IPAddress.Parse("100.64.0.2"), IPAddress.Parse("fd00:2021:1111::2")); // a warning, not an exception
        Assert.Equal(2, tun.Calls.Count);
    }
}
