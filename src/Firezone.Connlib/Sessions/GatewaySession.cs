using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Tunnel;
using Firezone.PhoenixChannel;
using Firezone.PhoenixChannel.Backoff;
using Firezone.Snownet;
using Firezone.Tun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Channel = Firezone.PhoenixChannel.PhoenixChannel;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// A Firezone gateway: the portal connection (topic <c>gateway</c>) and the gateway tunnel, wired as upstream's
/// gateway event loop (phoenix-and-portal spec §8): <c>init</c> adds the relays and reports the interface;
/// <c>authorize_flow</c> upserts the connection, grants access and replies <c>flow_authorized</c>;
/// <c>request_connection</c> (deprecated) resolves the domain, accepts the offer, grants access and replies
/// <c>connection_ready</c>; <c>allow_access</c> resolves and grants (no reply); <c>reject_access</c>,
/// <c>resource_updated</c>, ICE candidates and <c>relays_presence</c> go to the state. "No TURN servers" reconnects to
/// the portal for a fresh <c>init</c>. Name resolution for DNS resources uses
/// <see cref="GatewaySessionOptions.ResolveName"/> (timeout <see cref="GatewaySessionOptions.ResolveTimeout"/>, at most
/// 1000 in flight). Metrics on the meter <c>Firezone.Connlib.Gateway</c>.
/// </summary>
public sealed partial class GatewaySession : IAsyncDisposable
{
    /// <summary>The portal topic.</summary>
    public const string Topic = "gateway";

    private static readonly IReadOnlyList<IPNetwork> ClientRanges = [IPNetwork.Parse("100.64.0.0/11"), IPNetwork.Parse("fd00:2021:1111::/107")];

    private readonly ILogger _logger;
    private readonly Channel _channel;
    private readonly GatewayTunnel _tunnel;
    private readonly EventDispatcher _dispatcher;
    private readonly SessionMetrics _metrics;
    private readonly SessionLifetime _life;
    private Task? _portal;
    private int _started;

    /// <summary>Creates the session (binds the UDP sockets; nothing is sent before <see cref="Start"/>).</summary>
    public GatewaySession(GatewaySessionOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.Connlib.GatewaySession");
        _dispatcher = new EventDispatcher(_logger);
        _life = new SessionLifetime(_logger, "Gateway", _dispatcher, args => Disconnected?.Invoke(this, args),
            () => SessionLifetime.CloseAsync(_tunnel!, _channel!, _portal, _metrics!, _dispatcher)); // runs after construction
        _tunnel = new GatewayTunnel(
            options.IoOptions,
            options.Time, options.ResolveName, options.ResolveTimeout, OnTunnelEvent, loggerFactory);
        _metrics = new SessionMetrics(SessionMetrics.GatewayMeterName, options.MeterFactory, _tunnel.Counters);
        _channel = new Channel(
            new PhoenixChannelOptions
            {
                LoginUrl = LoginUrl.Gateway(options.ApiUrl, options.Token, options.FirezoneId, options.Name),
                Topic = Topic,
                UserAgent = UserAgent.ForConnlib(options.Version),
                ReconnectPolicy = ReconnectPolicy.Gateway,
                TimeProvider = options.Time,
                ConfigureSocket = options.ConfigurePortalSocket,
            },
            loggerFactory.CreateLogger<Channel>());
    }

    /// <summary>The portal's <c>init</c> arrived: configure the TUN device with these addresses and routes.</summary>
    public event EventHandler<GatewayInterfaceEventArgs>? InterfaceConfigUpdated;

    /// <summary>The session ended on its own: a permanent portal error or a crash; not raised by a stop.</summary>
    public event EventHandler<SessionEndedEventArgs>? Disconnected;

    /// <summary>Completes when the session has ended, with the reason. Never faults.</summary>
    public Task<SessionEnd> Completion => _life.Completion;

    internal GatewayTunnel Tunnel => _tunnel;

    /// <summary>Connects to the portal and starts the tunnel. Call once.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The session was started already.");
        }

        var publicKey = Convert.ToBase64String(_tunnel.State.PublicKey.Span);
        _tunnel.Start();
        _life.Watch(_tunnel.Completion);
        _channel.Connect([new("public_key", publicKey)]);
        _portal = Task.Run(() => _life.PumpAsync(_channel, OnPortalEvent));
    }

    /// <summary>Replaces the TUN device (null: none).</summary>
    public void SetTun(ITun? tun) => _tunnel.SetTun(tun);

    /// <summary>Stops the session: tunnel and TUN threads end, the portal socket is dropped.</summary>
    public Task StopAsync() => _life.StopAsync();

    /// <summary>Stops the session (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private void OnTunnelEvent(GatewayEvent e)
    {
        switch (e)
        {
            case AddedIceCandidates added:
                Send(new IceCandidatesForClients([added.Client], added.Candidates));
                break;
            case RemovedIceCandidates removed:
                Send(new IceCandidatesForClients([removed.Client], removed.Candidates, Invalidated: true));
                break;
        }
    }

    private void Send(PortalMessage message) => _channel.Send(message.Event, message.ToPayload());

    /// <summary>The portal's pushes and error replies (the channel's own events are <see cref="SessionLifetime.PumpAsync"/>'s).</summary>
    private void OnPortalEvent(ChannelEvent e)
    {
        switch (e)
        {
            case ChannelEvent.InboundMessage message:
                OnPush(message);
                break;
            case ChannelEvent.ErrorResponse error when error.Reason == ErrorReason.UnmatchedTopic:
                _channel.Join(Topic);
                break;
            case ChannelEvent.ErrorResponse error:
                LogErrorReply(_logger, error.Ref, error.ReasonText);
                break;
        }
    }

    private void OnPush(ChannelEvent.InboundMessage message)
    {
        var decoded = PortalMessages.DecodeGatewayPush(message.Event, message.Payload);
        var s = _tunnel.State;
        switch (decoded.Message)
        {
            case GatewayInit init:
                var relays = TurnRelays.FromPortal(init.Relays, _logger);
                Post(() => s.UpdateRelays([], relays, _tunnel.Time));
                var iface = new GatewayInterfaceEventArgs(init.Interface.IPv4, init.Interface.IPv6, ClientRanges);
                _dispatcher.Post(() => InterfaceConfigUpdated?.Invoke(this, iface));
                break;
            case AuthorizeFlow flow:
                Post(() =>
                {
                    try
                    {
                        s.AuthorizeFlow(flow.Client.Id, flow.Client.PublicKey.Bytes, flow.Client.PresharedKey.Bytes, flow.ClientIceCredentials,
                            flow.GatewayIceCredentials, flow.Client.IPv4, flow.Client.IPv6, flow.ExpiresAt, flow.Resource, _tunnel.Time);
                        Send(new FlowAuthorized(flow.Ref));
                    }
                    catch (NoTurnServersException)
                    {
                        ReconnectForRelays();
                    }
                });
                break;
            case GatewayRequestConnection request:
                ResolveThen(request.Domain, addresses =>
                {
                    Answer answer;
                    try
                    {
                        answer = s.Accept(request.ClientId, request.ToOffer(), request.Peer.PublicKey.Bytes, _tunnel.Time);
                    }
                    catch (NoTurnServersException)
                    {
                        ReconnectForRelays();
                        return;
                    }

                    var nat = request.Domain is { } domain ? new DnsResourceNatEntry(domain, addresses) : null;
                    var error = s.AllowAccess(request.ClientId, request.Peer.IPv4, request.Peer.IPv6, request.ExpiresAt, request.Resource, nat, _tunnel.Time);
                    if (error != DnsNatError.None)
                    {
                        s.CleanupConnection(request.ClientId);
                        return;
                    }

                    Send(new ConnectionReady(request.Ref, new ConnectionAccepted(answer.Credentials)));
                });
                break;
            case AllowAccess allow:
                ResolveThen(allow.Payload, addresses =>
                {
                    var nat = allow.Payload is { } domain ? new DnsResourceNatEntry(domain, addresses) : null;
                    s.AllowAccess(allow.ClientId, allow.ClientIPv4, allow.ClientIPv6, allow.ExpiresAt, allow.Resource, nat, _tunnel.Time);
                });
                break;
            case RejectAccess reject:
                Post(() => s.RemoveAccess(reject.ClientId, reject.ResourceId));
                break;
            case ResourceUpdated updated:
                Post(() => s.UpdateResource(updated.Resource));
                break;
            case IceCandidatesFromClient candidates:
                Post(() =>
                {
                    foreach (var candidate in candidates.Candidates)
                    {
                        if (candidates.Invalidated)
                        {
                            s.RemoveIceCandidate(candidates.ClientId, candidate, _tunnel.Time);
                        }
                        else
                        {
                            s.AddIceCandidate(candidates.ClientId, candidate, _tunnel.Time);
                        }
                    }
                });
                break;
            case RelaysPresence presence:
                var connected = TurnRelays.FromPortal(presence.Connected, _logger);
                Post(() => s.UpdateRelays(presence.DisconnectedIds, connected, _tunnel.Time));
                break;
            default:
                LogBadMessage(_logger, message.Event, decoded.Error?.ToString() ?? "not a gateway push");
                break;
        }
    }

    /// <summary>Runs <paramref name="then"/> on the tunnel thread, after resolving the domain when there is one.</summary>
    private void ResolveThen(Model.ResolveRequest? domain, Action<IReadOnlyList<IPAddress>> then)
    {
        if (domain is null)
        {
            Post(() => then([]));
            return;
        }

        if (!_tunnel.Resolve(domain.Name, then))
        {
            LogTooManyResolutions(_logger, domain.Name);
        }
    }

    private void ReconnectForRelays()
    {
        LogNoTurnServers(_logger);
        _channel.Connect([new("public_key", Convert.ToBase64String(_tunnel.State.PublicKey.Span))]);
    }

    private void Post(Action command)
    {
        if (!_tunnel.Post(command))
        {
            LogCommandDropped(_logger);
        }
    }


    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropping a portal message {Event}: {Error}")]
    private static partial void LogBadMessage(ILogger logger, string @event, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Error reply from the portal to ref {Ref}: {Reason}")]
    private static partial void LogErrorReply(ILogger logger, ulong @ref, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No TURN servers: reconnecting to the portal for a fresh init")]
    private static partial void LogNoTurnServers(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Too many name resolutions in flight: {Name} dropped")]
    private static partial void LogTooManyResolutions(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The tunnel's command queue is full: a portal message was dropped")]
    private static partial void LogCommandDropped(ILogger logger);
}
