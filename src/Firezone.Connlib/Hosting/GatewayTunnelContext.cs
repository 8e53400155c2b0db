using System.Diagnostics;
using System.Net;
using Firezone.Tun;
using Firezone.Tun.Netlink;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// What the gateway gives its tunnel (hosts-and-tun.md §7.2): the TUN (created at once, addresses later), the callback
/// for each portal <c>init</c> (<see cref="SetInterface"/>: addresses, then the fixed gateway routes; failures are
/// warnings), the DNS-resource resolver, and <see cref="Stopping"/> (SIGINT or SIGTERM).
/// </summary>
public sealed class GatewayTunnelContext
{
    /// <summary>The gateway's routes: the client tunnel-IP pools.</summary>
    public static IReadOnlyList<IPNetwork> Routes { get; } = [IPNetwork.Parse("100.64.0.0/11"), IPNetwork.Parse("fd00:2021:1111::/107")];

    private readonly IHostTun _tun;
    private readonly HostSignals _signals;
    private readonly SystemdNotify _notify;
    private readonly ILogger _logger;
    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();
    private int _ready;

    /// <summary>Wires the pieces.</summary>
    public GatewayTunnelContext(ILoggerFactory loggerFactory, IHostTun tun, HostSignals signals, SystemdNotify notify, GatewayDnsResolver dnsResolver)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(tun);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(notify);
        ArgumentNullException.ThrowIfNull(dnsResolver);
        LoggerFactory = loggerFactory;
        _tun = tun;
        _signals = signals;
        _notify = notify;
        DnsResolver = dnsResolver;
        _logger = loggerFactory.CreateLogger("Firezone.Gateway");
    }

    /// <summary>The host's logging.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Cancelled on SIGINT or SIGTERM: stop and return 0.</summary>
    public CancellationToken Stopping => _signals.Stopping;

    /// <summary>Resolves DNS-resource names (10 s timeout, at most 1000 in flight).</summary>
    public GatewayDnsResolver DnsResolver { get; }

    /// <summary>The TUN device (created on the first call; upstream creates it before the first <c>init</c>).</summary>
    public ITun OpenTun() => _tun.Open();

    /// <summary>
    /// A portal <c>init</c>'s interface: sets the addresses, then routes <see cref="Routes"/> to the TUN. Failures are
    /// logged as warnings, never thrown (as upstream). The first success sends READY=1.
    /// </summary>
    public void SetInterface(IPAddress ipv4, IPAddress ipv6)
    {
        try
        {
            _tun.SetAddresses(ipv4, ipv6);
            _tun.SetRoutes(Routes.ToList());
        }
        catch (Exception e) when (e is TunDeviceException or ObjectDisposedException)
        {
            HostLog.GatewayInterfaceFailed(_logger, e.Message);
            return;
        }

        if (Interlocked.Exchange(ref _ready, 1) == 0)
        {
            HostLog.TunnelReady(_logger, _sinceStart.Elapsed);
            _notify.Ready();
        }
    }
}
