using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.DevPortal.Broker;
using Firezone.DevPortal.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.DevPortal;

/// <summary>
/// A working single-machine control plane: a <see cref="PortalServer"/> driven by a <see cref="DevPortalBroker"/>
/// (tokens checked on upgrade, joins, init, connection brokering, ICE candidates, relays_presence, timeouts) and,
/// when <see cref="DevPortalOptions.ConfigPath"/> is set, config reloads when the file changes. Give components
/// <see cref="ApiUrl"/>. For development and tests; not a production portal (no persistence, no TLS, no policies).
/// </summary>
public sealed partial class DevPortalHost : IAsyncDisposable
{
    private readonly DevPortalOptions _options;
    private readonly DevPortalBroker _broker;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, PortalSession> _sessions = [];
    private List<BrokerEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly long _start;
    private Task? _timers;
    private DevPortalConfigWatcher? _watcher;

    /// <summary>Creates a portal; call <see cref="StartAsync"/>.</summary>
    /// <exception cref="DevPortalConfigException">The config breaks a rule.</exception>
    public DevPortalHost(DevPortalOptions? options = null)
    {
        _options = options ?? new DevPortalOptions();
        var loggerFactory = _options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.DevPortal");
        _broker = new DevPortalBroker(_options.Config, _options.Random, loggerFactory.CreateLogger("Firezone.DevPortal.Broker"));
        _start = _options.TimeProvider.GetTimestamp();
        Server = new PortalServer(new PortalServerOptions
        {
            Address = _options.Address,
            Port = _options.Port,
            LoggerFactory = _options.LoggerFactory,
            RecordFrames = _options.RecordFrames,
            RejectUpgrade = context =>
            {
                string mode = context.Request.Path.Value?.Trim('/').Split('/')[0] ?? string.Empty;
                string? token = context.Request.Query["token"];
                lock (_lock)
                {
                    if (_broker.IsKnownToken(mode, token)) return null;
                }

                HostLog.UnknownToken(_logger, mode);
                return Microsoft.AspNetCore.Http.StatusCodes.Status401Unauthorized;
            },
            JoinHandler = OnJoin,
            MessageHandler = OnMessage,
            OnLeft = OnLeft,
        });
    }

    /// <summary>The WebSocket server underneath (its <see cref="PortalServer.Received"/> sees every frame when <see cref="DevPortalOptions.RecordFrames"/> is on).</summary>
    public PortalServer Server { get; }

    /// <summary>The API URL to give clients, gateways and relays, e.g. <c>ws://127.0.0.1:8081</c>.</summary>
    public Uri ApiUrl => Server.ApiUrl;

    /// <summary>The bound port (after <see cref="StartAsync"/>).</summary>
    public int Port => Server.Port;

    /// <summary>The config in force.</summary>
    public DevPortalConfig Config
    {
        get
        {
            lock (_lock)
            {
                return _broker.Config;
            }
        }
    }

    /// <summary>Raised after a config (from the file or <see cref="ApplyConfig"/>) was put in force.</summary>
    public event Action<DevPortalConfig>? ConfigApplied;

    /// <summary>Raised (outside the portal's lock; batches from concurrent sockets may interleave) for each thing the broker did: joins, leaves, connections brokered or failed.</summary>
    public event Action<BrokerEvent>? Brokered;

    /// <summary>Raised when the watched file could not be used (the previous config stays in force).</summary>
    public event Action<DevPortalConfigException>? ConfigRejected;

    /// <summary>Starts listening (and watching the config file, if any).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await Server.StartAsync(cancellationToken).ConfigureAwait(false);
        _timers = Task.Run(TimerLoopAsync, CancellationToken.None);
        if (_options.ConfigPath is { } path)
        {
            _watcher = new DevPortalConfigWatcher(path, _options.ReloadDebounce, Reload);
        }

        HostLog.Listening(_logger, ApiUrl.ToString(), _broker.Config.Sites.Count, _broker.Config.Gateways.Count, _broker.Config.Clients.Count, _broker.Config.Resources.Count);
    }

    /// <summary>Puts a new config in force and pushes the differences to online peers.</summary>
    /// <exception cref="DevPortalConfigException">The config breaks a rule (the old one stays).</exception>
    public void ApplyConfig(DevPortalConfig config)
    {
        lock (_lock)
        {
            _broker.ApplyConfig(config);
            Flush();
        }

        RaiseEvents();

        ConfigApplied?.Invoke(config);
    }

    /// <summary>Stops: closes every socket with a close frame, stops listening and watching.</summary>
    public async Task StopAsync()
    {
        _watcher?.Dispose();
        _watcher = null;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_timers is not null)
        {
            await _timers.ConfigureAwait(false);
        }

        await Server.StopAsync(graceful: true).ConfigureAwait(false);
    }

    /// <summary>Stops the portal.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private TimeSpan Now => _options.TimeProvider.GetElapsedTime(_start);

    private DateTimeOffset UtcNow => _options.TimeProvider.GetUtcNow();

    private PortalReply? OnJoin(PortalFrame frame)
    {
        lock (_lock)
        {
            _sessions[frame.Session.Id] = frame.Session;
            if (_broker.Join(frame.Session.Id, frame.Session.Mode, frame.Topic, frame.Session.Query, frame.Session.RemoteAddress, Element(frame.Payload), frame.Ref, UtcNow))
            {
                frame.Session.MarkJoined(frame.Topic);
            }

            Flush();
        }

        RaiseEvents();
        return null;
    }

    private PortalReply? OnMessage(PortalFrame frame)
    {
        lock (_lock)
        {
            _sessions[frame.Session.Id] = frame.Session;
            _broker.Message(frame.Session.Id, frame.Topic, frame.Event, Element(frame.Payload), frame.Ref, Now);
            Flush();
        }

        RaiseEvents();
        return null;
    }

    private void OnLeft(PortalSession session)
    {
        lock (_lock)
        {
            _sessions.Remove(session.Id);
            _broker.Leave(session.Id, UtcNow);
            Flush();
        }

        RaiseEvents();
    }

    private void Reload(string path)
    {
        DevPortalConfig config;
        try
        {
            config = DevPortalConfig.Load(path);
            ApplyConfig(config);
        }
        catch (DevPortalConfigException e)
        {
            HostLog.ReloadFailed(_logger, e.Message);
            ConfigRejected?.Invoke(e);
            return;
        }

        HostLog.Reloaded(_logger, path);
    }

    private async Task TimerLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100), _options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                lock (_lock)
                {
                    _broker.HandleTimeout(Now);
                    Flush();
                }

                RaiseEvents();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void RaiseEvents()
    {
        List<BrokerEvent> events;
        lock (_lock)
        {
            if (_events.Count == 0) return;
            events = _events;
            _events = [];
        }

        foreach (var e in events)
        {
            Brokered?.Invoke(e);
        }
    }

    /// <summary>Hands what the broker wants sent to the sessions' ordered queues, and its events to <see cref="RaiseEvents"/> (called under the lock).</summary>
    private void Flush()
    {
        while (_broker.PollEvent(out var brokerEvent))
        {
            _events.Add(brokerEvent);
        }

        while (_broker.PollTransmit(out var transmit))
        {
            if (!_sessions.TryGetValue(transmit.Session, out var session)) continue;
            session.Post(transmit.Topic, transmit.Event, transmit.Payload, transmit.Ref);
            if (transmit.ClosesSession)
            {
                _ = session.CloseAsync();
            }
        }
    }

    private static JsonElement Element(JsonNode? node) => node is null
        ? JsonDocument.Parse("null").RootElement.Clone()
        : JsonSerializer.SerializeToElement(node, DevPortalJsonContext.Default.JsonNode);

    private static partial class HostLog
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Dev portal listening on {Url}: {Sites} sites, {Gateways} gateways, {Clients} clients, {Resources} resources (a development portal, not a production one)")]
        public static partial void Listening(ILogger logger, string url, int sites, int gateways, int clients, int resources);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Upgrade on /{Mode}/websocket refused with 401: unknown token")]
        public static partial void UnknownToken(ILogger logger, string mode);

        [LoggerMessage(Level = LogLevel.Information, Message = "Config reloaded from {Path}")]
        public static partial void Reloaded(ILogger logger, string path);

        [LoggerMessage(Level = LogLevel.Error, Message = "Config reload failed, the previous config stays in force: {Reason}")]
        public static partial void ReloadFailed(ILogger logger, string reason);
    }
}
