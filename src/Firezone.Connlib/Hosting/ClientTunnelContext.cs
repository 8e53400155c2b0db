using System.Diagnostics;
using System.Net;
using Firezone.Tun;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// What the headless client gives its tunnel (hosts-and-tun.md §7.1, "Main loop events"): the TUN, the callbacks a
/// client session reports to (<see cref="SetInterface"/>, <see cref="SetRoutes"/>, <see cref="ResourcesUpdated"/>), the
/// system resolvers and their changes, reset requests (network change, SIGHUP) and <see cref="Stopping"/> (SIGINT,
/// SIGTERM, or <c>--exit</c> once ready).
/// </summary>
public sealed class ClientTunnelContext : IDisposable
{
    /// <summary>How often the system resolvers are re-read (upstream's DNS notifier timer without systemd-resolved).</summary>
    public static readonly TimeSpan ResolverPollInterval = TimeSpan.FromSeconds(5);

    private readonly IHostTun _tun;
    private readonly DnsControl _dns;
    private readonly SystemdNotify _notify;
    private readonly HostSignals _signals;
    private readonly bool _exitWhenReady;
    private readonly ILogger _logger;
    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private Timer? _resolverTimer;
    private IReadOnlyList<IPAddress>? _lastResolvers;
    private readonly NetworkChangeMonitor? _monitor;
    private int _started;

    /// <summary>Wires the pieces; nothing runs until <see cref="Start"/>.</summary>
    /// <param name="loggerFactory">The host's logging.</param>
    /// <param name="tun">The TUN device and its configuration.</param>
    /// <param name="dns">The DNS control chosen by <c>--dns-control</c>.</param>
    /// <param name="notify">Readiness notification (READY=1 on the first interface configuration).</param>
    /// <param name="signals">SIGINT/SIGTERM stop, SIGHUP resets.</param>
    /// <param name="exitWhenReady"><c>--exit</c>: stop (exit 0) once the tunnel is ready.</param>
    /// <param name="networkMonitor">Network changes to forward as resets once started (null: none); disposed with the context.</param>
    public ClientTunnelContext(ILoggerFactory loggerFactory, IHostTun tun, DnsControl dns, SystemdNotify notify, HostSignals signals, bool exitWhenReady, NetworkChangeMonitor? networkMonitor)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(tun);
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(notify);
        ArgumentNullException.ThrowIfNull(signals);
        LoggerFactory = loggerFactory;
        _tun = tun;
        _dns = dns;
        _notify = notify;
        _signals = signals;
        _exitWhenReady = exitWhenReady;
        _logger = loggerFactory.CreateLogger("Firezone.Client");
        _monitor = networkMonitor;
        _signals.Hangup += (_, _) => RequestReset("SIGHUP");
    }

    /// <summary>The host's logging.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Cancelled on SIGINT/SIGTERM, or once the tunnel is ready (<see cref="Ready"/>) with <c>--exit</c>: stop and return 0.</summary>
    public CancellationToken Stopping => _signals.Stopping;

    /// <summary>
    /// Completes once the first <see cref="SetInterface"/> and the first <see cref="SetRoutes"/> are both applied
    /// ("Tunnel ready"). Deliberately later than upstream, which reports ready on the interface config alone: the routes
    /// follow it, and an application started on READY=1 then got "Network unreachable" for the few milliseconds between.
    /// </summary>
    public Task Ready => _ready.Task;

    /// <summary>Raised when the session must reset (rebind sockets, reconnect the portal); the argument says why.</summary>
    public event EventHandler<string>? ResetRequested;

    /// <summary>Raised with the system resolvers once after <see cref="Start"/> and whenever they change (polled every 5 s).</summary>
    public event EventHandler<IReadOnlyList<IPAddress>>? SystemResolversChanged;

    /// <summary>
    /// Starts reporting: the network monitor (its changes become <see cref="ResetRequested"/>; like upstream's notifiers it
    /// reports once right away) and the resolver poll (<see cref="SystemResolversChanged"/> at once, then on change).
    /// Call it after subscribing to the events. Calling it again does nothing.
    /// </summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        if (_monitor is not null)
        {
            _monitor.Changed += (_, _) => RequestReset("network change");
            _monitor.Start();
        }

        _resolverTimer = new Timer(_ => PollResolvers(), null, TimeSpan.Zero, ResolverPollInterval);
    }

    /// <summary>The TUN device (created on the first call).</summary>
    public ITun OpenTun() => _tun.Open();

    /// <summary>The DNS servers the system used before Firezone.</summary>
    public IReadOnlyList<IPAddress> GetSystemResolvers() => _dns.GetSystemResolvers();

    /// <summary>
    /// The session's "interface config": sets the TUN's addresses, then points the system's DNS at
    /// <paramref name="dnsServers"/> (the sentinels). Once this and the first routes are applied it logs "Tunnel ready",
    /// sends READY=1 and, with <c>--exit</c>, stops (see <see cref="Ready"/>).
    /// </summary>
    /// <exception cref="TunDeviceException">The addresses could not be set.</exception>
    /// <exception cref="DnsControlException">The system's DNS could not be changed.</exception>
    public void SetInterface(IPAddress ipv4, IPAddress ipv6, IReadOnlyList<IPAddress> dnsServers)
    {
        _tun.SetAddresses(ipv4, ipv6);
        _dns.SetDns(dnsServers);
        _interfaceSet = true;
        ReportReadyOnce();
    }

    /// <summary>The session's "routes": Firezone's table holds exactly <paramref name="routes"/> (the first ones, after the interface config, make the tunnel ready).</summary>
    public void SetRoutes(IReadOnlyCollection<IPNetwork> routes)
    {
        _tun.SetRoutes(routes);
        _routesSet = true;
        ReportReadyOnce();
    }

    private void ReportReadyOnce()
    {
        if (!_interfaceSet || !_routesSet || !_ready.TrySetResult())
        {
            return;
        }

        HostLog.TunnelReady(_logger, _sinceStart.Elapsed);
        _notify.Ready();
        if (_exitWhenReady)
        {
            HostLog.ExitingOnExitFlag(_logger);
            _signals.RequestStop();
        }
    }

    private volatile bool _interfaceSet;
    private volatile bool _routesSet;

    /// <summary>The session's "resources updated": flushes the DNS cache (systemd-resolved only).</summary>
    public void ResourcesUpdated() => _dns.FlushCache();

    /// <summary>Asks the session to reset (also what SIGHUP and network changes do).</summary>
    public void RequestReset(string reason)
    {
        HostLog.Resetting(_logger, reason);
        ResetRequested?.Invoke(this, reason);
    }

    private void PollResolvers()
    {
        IReadOnlyList<IPAddress> resolvers;
        try
        {
            resolvers = _dns.GetSystemResolvers();
        }
        catch (Exception e) when (e is DnsControlException or IOException or UnauthorizedAccessException)
        {
            HostLog.ResolversUnreadable(_logger, e.Message);
            return;
        }

        lock (_gate)
        {
            if (_lastResolvers is not null && _lastResolvers.SequenceEqual(resolvers))
            {
                return;
            }

            _lastResolvers = resolvers;
        }

        SystemResolversChanged?.Invoke(this, resolvers);
    }

    /// <summary>Stops the poll and the network monitor and sends STOPPING=1. The DNS control, TUN and signals stay the caller's.</summary>
    public void Dispose()
    {
        _resolverTimer?.Dispose();
        _monitor?.Dispose();
        _notify.Stopping();
    }
}
