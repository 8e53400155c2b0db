using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Connlib.Tunnel;
using Firezone.PhoenixChannel;
using Firezone.PhoenixChannel.Backoff;
using Firezone.Tun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Channel = Firezone.PhoenixChannel.PhoenixChannel;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// A Firezone client: the portal connection (topic <c>client</c>) and the client tunnel (its UDP sockets, the TUN
/// device, the event loop) wired as upstream's client event loop does (phoenix-and-portal spec §7, tunnel spec §4.9).
/// Commands are methods (<see cref="Reset"/>, <see cref="SetDns"/>, <see cref="SetDisabledResources"/>,
/// <see cref="SetTun"/>, <see cref="StopAsync"/>); callbacks are .NET events raised in order on a task of their own
/// (never on the tunnel thread); <see cref="Completion"/> says why the session ended. Everything that touches the
/// tunnel state runs on the tunnel's thread.
/// </summary>
/// <remarks>
/// Without root: use an <see cref="InMemoryTun"/> (or no TUN) and loopback or unprivileged UDP sockets. Metrics are on the
/// meter <c>Firezone.Connlib.Client</c> (connections, handshakes, packets and bytes each way, drops by reason, DNS
/// queries; all observable, so <c>dotnet-counters monitor --counters Firezone.Connlib.Client</c> shows them).
/// </remarks>
public sealed partial class ClientSession : IAsyncDisposable
{
    /// <summary>The portal topic.</summary>
    public const string Topic = "client";

    private readonly ClientSessionOptions _options;
    private readonly ILogger _logger;
    private readonly Channel _channel;
    private readonly ClientTunnel _tunnel;
    private readonly EventDispatcher _dispatcher;
    private readonly SessionMetrics _metrics;
    private IntentReplies _intents = new(); // tunnel thread only
    private readonly SessionLifetime _life;
    private Task? _portal;
    private int _started;

    /// <summary>Creates the session (binds the UDP sockets; nothing is sent before <see cref="Start"/>).</summary>
    public ClientSession(ClientSessionOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.Connlib.ClientSession");
        _dispatcher = new EventDispatcher(_logger);
        _life = new SessionLifetime(_logger, "Client", _dispatcher, args => Disconnected?.Invoke(this, args),
            () => SessionLifetime.CloseAsync(_tunnel!, _channel!, _portal, _metrics!, _dispatcher)); // runs after construction
        _tunnel = new ClientTunnel(
            options.IoOptions,
            options.Time, options.KnownHosts, OnTunnelEvent, loggerFactory);
        _metrics = new SessionMetrics(SessionMetrics.ClientMeterName, options.MeterFactory, _tunnel.Counters);
        _channel = new Channel(
            new PhoenixChannelOptions
            {
                LoginUrl = LoginUrl.Client(options.ApiUrl, options.Token, options.FirezoneId, options.DeviceName, options.DeviceInfo),
                Topic = Topic,
                UserAgent = UserAgent.ForConnlib(options.Version),
                ReconnectPolicy = ReconnectPolicy.HeadlessClient.WithMaxPartitionTime(options.MaxPartitionTime),
                TimeProvider = options.Time,
                ConfigureSocket = options.ConfigurePortalSocket,
            },
            loggerFactory.CreateLogger<Channel>());
    }

    /// <summary>The TUN interface configuration changed (addresses and the sentinel DNS servers to configure).</summary>
    public event EventHandler<InterfaceConfigEventArgs>? InterfaceConfigUpdated;

    /// <summary>The routes changed (raised right after <see cref="InterfaceConfigUpdated"/>, for every new configuration).</summary>
    public event EventHandler<RoutesEventArgs>? RoutesUpdated;

    /// <summary>The resources or their status changed.</summary>
    public event EventHandler<ResourcesEventArgs>? ResourcesUpdated;

    /// <summary>The session ended on its own (tunnel spec §4.9 <c>on_disconnect</c>): a permanent portal error or a crash; not raised by a stop.</summary>
    public event EventHandler<SessionEndedEventArgs>? Disconnected;

    /// <summary>Completes when the session has ended, with the reason. Never faults.</summary>
    public Task<SessionEnd> Completion => _life.Completion;

    /// <summary>The tunnel's UDP endpoints (as bound; for diagnostics and tests).</summary>
    internal IReadOnlyList<IPEndPoint> LocalEndPoints { get; private set; } = [];

    internal ClientTunnel Tunnel => _tunnel;

    /// <summary>Connects to the portal and starts the tunnel. Call once.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The session was started already.");
        }

        // Before the loop runs, the state is ours: the key and the host's settings.
        var publicKey = Convert.ToBase64String(_tunnel.State.PublicKey.Span);
        _tunnel.State.UpdateSystemResolvers(_options.SystemDnsServers);
        if (_options.DisabledResources.Count > 0)
        {
            _tunnel.State.SetDisabledResources(_options.DisabledResources, _tunnel.Time);
        }

        _tunnel.Start();
        _life.Watch(_tunnel.Completion);
        _channel.Connect([new("public_key", publicKey)]);
        _portal = Task.Run(() => _life.PumpAsync(_channel, OnPortalEvent));
    }

    /// <summary>
    /// Roaming / network change (SIGHUP): tunnel reset (new key pair, every connection dropped, new UDP sockets), then
    /// a fresh portal connection with the new public key; the portal sends <c>init</c> again.
    /// </summary>
    public void Reset() => _tunnel.Post(() =>
    {
        _tunnel.ResetOnLoop();
        _intents = new IntentReplies();
        _channel.Connect([new("public_key", Convert.ToBase64String(_tunnel.State.PublicKey.Span))]);
    });

    /// <summary>The system's DNS servers changed (used when the portal configures none).</summary>
    public void SetDns(IEnumerable<IPAddress> servers)
    {
        var list = servers.ToList();
        _tunnel.Post(() => _tunnel.State.UpdateSystemResolvers(list));
    }

    /// <summary>The user disabled these resources (all others enabled).</summary>
    public void SetDisabledResources(IEnumerable<ResourceId> disabled)
    {
        var list = disabled.ToList();
        _tunnel.Post(() => _tunnel.State.SetDisabledResources(list, _tunnel.Time));
    }

    /// <summary>Replaces the TUN device (null: none). The old one stays the caller's.</summary>
    public void SetTun(ITun? tun) => _tunnel.SetTun(tun);

    /// <summary>Stops the session: the tunnel thread and the TUN threads end, the portal socket is dropped (no close frame, as upstream).</summary>
    public Task StopAsync() => _life.StopAsync();

    /// <summary>Stops the session (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    // ---- tunnel → portal and callbacks (tunnel thread) -------------------------------------------------------------

    private void OnTunnelEvent(ClientEvent e)
    {
        switch (e)
        {
            case ConnectionIntent intent:
                ulong reference = _channel.Send("prepare_connection", new PrepareConnection(intent.Resource, intent.ConnectedGatewayIds).ToPayload());
                _intents.Sent(reference.ToString(System.Globalization.CultureInfo.InvariantCulture), intent.Resource);
                break;
            case Client.RequestConnection request:
                Send(Messages.RequestConnection.FromOffer(request.Gateway, request.Resource, request.Offer, request.Domain));
                break;
            case RequestAccess access:
                Send(new ReuseConnection(access.Resource, access.Gateway, access.Domain));
                break;
            case Client.AddedIceCandidates added:
                Send(new IceCandidatesForGateways([added.Gateway], added.Candidates));
                break;
            case Client.RemovedIceCandidates removed:
                Send(new IceCandidatesForGateways([removed.Gateway], removed.Candidates, Invalidated: true));
                break;
            case ResourcesChanged changed:
                var resources = new ResourcesEventArgs(changed.Resources);
                _dispatcher.Post(() => ResourcesUpdated?.Invoke(this, resources));
                break;
            case TunInterfaceUpdated updated:
                var config = updated.Config;
                var sentinels = config.DnsBySentinel.Keys
                    .OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                    .ThenBy(a => a.GetAddressBytes(), ByteOrder.Instance).ToList();
                var iface = new InterfaceConfigEventArgs(config.IPv4, config.IPv6, sentinels);
                var routes = new RoutesEventArgs(config.IPv4Routes, config.IPv6Routes);
                _dispatcher.Post(() =>
                {
                    InterfaceConfigUpdated?.Invoke(this, iface);
                    RoutesUpdated?.Invoke(this, routes);
                });
                break;
        }
    }

    private void Send(PortalMessage message) => _channel.Send(message.Event, message.ToPayload());

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

}
