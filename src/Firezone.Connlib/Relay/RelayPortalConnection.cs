using System.Net;
using Firezone.Connlib.Messages;
using Firezone.PhoenixChannel;
using Firezone.PhoenixChannel.Backoff;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Channel = Firezone.PhoenixChannel.PhoenixChannel;

namespace Firezone.Connlib.Relay;

/// <summary>Where the relay's portal connection is.</summary>
public sealed class RelayPortalOptions
{
    /// <summary>The portal API URL (<c>wss://api.firezone.dev</c> by default upstream; http/https map to ws/wss).</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The relay token.</summary>
    public required string Token { get; init; }

    /// <summary>The relay name (sent only when set).</summary>
    public string? Name { get; init; }

    /// <summary>Public IPv4 address (sent as <c>ipv4</c>).</summary>
    public IPAddress? PublicIPv4 { get; init; }

    /// <summary>Public IPv6 address (sent as <c>ipv6</c>).</summary>
    public IPAddress? PublicIPv6 { get; init; }

    /// <summary>The STUN/TURN listen port (sent as <c>port</c>).</summary>
    public int ListenPort { get; init; } = 3478;

    /// <summary>The stamp secret, sent in the join payload.</summary>
    public required string StampSecret { get; init; }

    /// <summary>The relay version for the user agent <c>relay/&lt;version&gt;</c>.</summary>
    public required string Version { get; init; }

    /// <summary>Clock (health is judged on heartbeats sent).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// The relay's connection to the portal: topic <c>relay</c>, join payload <c>{"stamp_secret": "…"}</c> (re-sent on
/// every reconnect), user agent <c>relay/&lt;version&gt;</c>, the relay reconnect policy (gives up after 15 minutes of
/// failure). <c>init</c> is accepted and ignored; relaying never waits for it. Fatal errors complete
/// <see cref="Completion"/> with exit code 1.
/// </summary>
public sealed partial class RelayPortalConnection : IAsyncDisposable
{
    /// <summary>Health turns bad when the last heartbeat was sent this long ago.</summary>
    public static readonly TimeSpan HeartbeatHealthLimit = TimeSpan.FromMinutes(15);

    private readonly RelayPortalOptions _options;
    private readonly Channel _channel;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<int?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastHeartbeatTicks = -1;
    private volatile bool _closed;
    private Task? _events;

    /// <summary>Creates the connection (not started).</summary>
    public RelayPortalConnection(RelayPortalOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.Relay.Portal");
        _channel = new Channel(
            new PhoenixChannelOptions
            {
                LoginUrl = LoginUrl.Relay(options.ApiUrl, options.Token, options.Name, options.PublicIPv4, options.PublicIPv6, options.ListenPort),
                Topic = "relay",
                UserAgent = UserAgent.ForRelay(options.Version),
                JoinPayload = new RelayJoin(options.StampSecret).ToPayload(),
                ReconnectPolicy = ReconnectPolicy.Relay,
                TimeProvider = options.Time,
            },
            loggerFactory.CreateLogger<Channel>());
    }

    /// <summary>Completes with 1 after a fatal error, or null once the connection was closed by <see cref="CloseAsync"/>.</summary>
    public Task<int?> Completion => _completion.Task;

    /// <summary>True once the connection is closed (by <see cref="CloseAsync"/> or a fatal error).</summary>
    public bool IsClosed => _closed;

    /// <summary>When the last heartbeat was sent, if any.</summary>
    public DateTimeOffset? LastHeartbeatSent
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastHeartbeatTicks);
            return ticks < 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Healthy iff no heartbeat was sent yet or the last one was sent less than 15 minutes before <paramref name="now"/>.</summary>
    public bool IsHealthy(DateTimeOffset now) => IsHealthy(LastHeartbeatSent, now);

    /// <summary>The health rule on its own (for tests).</summary>
    public static bool IsHealthy(DateTimeOffset? lastHeartbeatSent, DateTimeOffset now) =>
        lastHeartbeatSent is not { } last || now - last < HeartbeatHealthLimit;

    /// <summary>Starts connecting and processing the channel's events.</summary>
    public void Start()
    {
        _channel.Connect();
        _events = Task.Run(ProcessEventsAsync);
    }

    private async Task ProcessEventsAsync()
    {
        try
        {
            await foreach (var e in _channel.ReadEventsAsync().ConfigureAwait(false))
            {
                switch (e)
                {
                    case ChannelEvent.Connected:
                        LogConnected(_logger);
                        break;
                    case ChannelEvent.JoinedRoom joined:
                        LogJoined(_logger, joined.Topic);
                        break;
                    case ChannelEvent.HeartbeatSent:
                        Interlocked.Exchange(ref _lastHeartbeatTicks, _options.Time.GetUtcNow().UtcTicks);
                        break;
                    case ChannelEvent.InboundMessage message:
                        var decoded = PortalMessages.DecodeRelayPush(message.Event, message.Payload);
                        if (decoded.Message is RelayInit)
                        {
                            LogInit(_logger);
                        }
                        else if (decoded.Error is { Kind: MessageErrorKind.UnknownEvent })
                        {
                            LogUnknownMessage(_logger, message.Topic, message.Event);
                        }
                        else
                        {
                            LogInvalidMessage(_logger, message.Topic, decoded.ToString());
                        }

                        break;
                    case ChannelEvent.ErrorResponse error:
                        LogErrorReply(_logger, error.Ref, error.ReasonText);
                        break;
                    case ChannelEvent.Reconnecting reconnecting:
                        LogReconnecting(_logger, reconnecting.Error, reconnecting.RetryIn);
                        break;
                    case ChannelEvent.Failed failed:
                        LogFatal(_logger, failed.Error.Message);
                        _closed = true;
                        _completion.TrySetResult(1);
                        return;
                    case ChannelEvent.Closed:
                        _closed = true;
                        _completion.TrySetResult(null);
                        return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        _closed = true;
        _completion.TrySetResult(null);
    }

    /// <summary>Closes the WebSocket gracefully (a pending attempt is abandoned).</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }

        _closed = true;
        _completion.TrySetResult(null);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync().ConfigureAwait(false);
        if (_events is not null)
        {
            await _events.ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the portal")]
    private static partial void LogConnected(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Joined {Topic}")]
    private static partial void LogJoined(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Received init from the portal (ignored)")]
    private static partial void LogInit(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unknown message from the portal: {Topic} {Event}")]
    private static partial void LogUnknownMessage(ILogger logger, string topic, string @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invalid message from the portal on {Topic}: {Error}")]
    private static partial void LogInvalidMessage(ILogger logger, string topic, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Error reply from the portal to ref {Ref}: {Reason}")]
    private static partial void LogErrorReply(ILogger logger, ulong @ref, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal connection failed ({Error}); retrying in {RetryIn}")]
    private static partial void LogReconnecting(ILogger logger, string error, TimeSpan retryIn);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fatal portal error: {Error}")]
    private static partial void LogFatal(ILogger logger, string error);
}
