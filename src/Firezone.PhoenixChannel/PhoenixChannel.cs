using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Firezone.PhoenixChannel.Protocol;
using Firezone.PhoenixChannel.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.PhoenixChannel;

/// <summary>
/// A Phoenix channel to Firezone's portal over one WebSocket: joins its topic on every (re)connect, sends messages
/// with numeric refs, routes replies, heartbeats every 30 s and reconnects with an exponential backoff whose clock
/// starts at the first error of each failure streak.
/// </summary>
/// <remarks>
/// The protocol logic is a sans-IO core; this class is its driver: one loop owns the socket, the timers and the
/// send queue. Read <see cref="Events"/> (or <see cref="ReadEventsAsync"/>) continuously: events are buffered
/// without bound until read.
/// <code>
/// await using var channel = new PhoenixChannel(new PhoenixChannelOptions
/// {
///     LoginUrl = LoginUrl.Gateway(new Uri("wss://api.example.com"), token, gatewayId),
///     Topic = "gateway",
///     UserAgent = UserAgent.ForConnlib("1.4.2"),
/// }, logger);
/// await channel.ConnectAsync([new("public_key", publicKey)], ct);
/// await foreach (var e in channel.ReadEventsAsync(ct)) { ... }
/// </code>
/// </remarks>
public sealed partial class PhoenixChannel : IAsyncDisposable
{
    private readonly PhoenixChannelOptions _options;
    private readonly IWebSocketTransport _transport;
    private readonly ILogger _logger;
    private readonly ChannelCore _core;
    private readonly Lock _lock = new();
    private readonly Channel<ChannelEvent> _events = Channel.CreateUnbounded<ChannelEvent>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly long _origin;
    private readonly Dictionary<long, AttemptContext> _attempts = [];
    private readonly List<TaskCompletionSource> _connectWaiters = [];
    private readonly List<TaskCompletionSource> _closeWaiters = [];
    private readonly Task _loop;
    private bool _disposed;

    /// <summary>Creates a channel that connects through the <c>Websocket.Client</c> package.</summary>
    /// <param name="options">The configuration.</param>
    /// <param name="logger">Where the channel logs; nothing is logged when null. The token is never logged.</param>
    public PhoenixChannel(PhoenixChannelOptions options, ILogger<PhoenixChannel>? logger = null)
        : this(options, null, logger)
    {
    }

    internal PhoenixChannel(PhoenixChannelOptions options, IWebSocketTransport? transport, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _transport = transport ?? new WebsocketClientTransport(options.UserAgent, options.ConnectTimeout, _logger, configureSocket: options.ConfigureSocket);
        var random = options.RandomSeed is { } seed ? new Random(seed) : new Random();
        var join = options.JoinPayload?.ToJsonString() ?? "null";
        _core = new ChannelCore(options.Topic, join, options.ReconnectPolicy, random, _logger,
            options.HeartbeatInterval, options.HeartbeatTimeout);
        _origin = options.TimeProvider.GetTimestamp();
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Everything the channel reports, in order. See <see cref="ChannelEvent"/>.</summary>
    public ChannelReader<ChannelEvent> Events => _events.Reader;

    /// <summary>The events as an async stream (completes when the channel is disposed).</summary>
    public IAsyncEnumerable<ChannelEvent> ReadEventsAsync(CancellationToken cancellationToken = default) =>
        _events.Reader.ReadAllAsync(cancellationToken);

    /// <summary>The login URL, token redacted.</summary>
    public override string ToString() => $"PhoenixChannel({_options.Topic}, {_options.LoginUrl})";

    /// <summary>
    /// Starts connecting (immediately, dropping any socket and any running backoff) unless already connecting to the
    /// same URL, and returns at once. Use this to reconnect with new parameters, e.g. a new <c>public_key</c>.
    /// </summary>
    /// <param name="finishParams">Query parameters appended to the login URL (clients and gateways send <c>public_key</c>).</param>
    public void Connect(IEnumerable<KeyValuePair<string, string>>? finishParams = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var url = _options.LoginUrl.ToUri(finishParams);
        lock (_lock)
        {
            _core.Connect(url);
        }
        LogConnecting(_options.LoginUrl.ToString());
        Wake();
    }

    /// <summary>
    /// Connects (see <see cref="Connect"/>) and waits until the WebSocket is open. Transient failures are retried per
    /// the reconnect policy while this waits.
    /// </summary>
    /// <param name="finishParams">Query parameters appended to the login URL.</param>
    /// <param name="cancellationToken">Stops waiting (the channel keeps trying).</param>
    /// <exception cref="PhoenixChannelException">A fatal error: 4xx on upgrade, expired token, failed login, retries exhausted.</exception>
    public async Task ConnectAsync(IEnumerable<KeyValuePair<string, string>>? finishParams = null, CancellationToken cancellationToken = default)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _connectWaiters.Add(waiter);
        }
        Connect(finishParams);
        await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a message on the login topic and returns its ref (the id its reply carries).</summary>
    /// <param name="event">The event name, e.g. <c>prepare_connection</c>.</param>
    /// <param name="payload">The payload; serialized with <see cref="PhoenixChannelOptions.JsonSerializerOptions"/>.</param>
    /// <remarks>Reflection-based serialization: under trimming or NativeAOT send a <see cref="JsonNode"/> or use the overload that takes a <see cref="JsonTypeInfo{T}"/>.</remarks>
    [RequiresUnreferencedCode(PhoenixJson.ReflectionSerialization)]
    [RequiresDynamicCode(PhoenixJson.ReflectionSerialization)]
    public ulong Send<T>(string @event, T payload) => Send(_options.Topic, @event, payload);

    /// <summary>Queues a message on <paramref name="topic"/> and returns its ref.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="event">The event name.</param>
    /// <param name="payload">The payload; serialized with <see cref="PhoenixChannelOptions.JsonSerializerOptions"/>.</param>
    /// <remarks>Reflection-based serialization: under trimming or NativeAOT send a <see cref="JsonNode"/> or use the overload that takes a <see cref="JsonTypeInfo{T}"/>.</remarks>
    [RequiresUnreferencedCode(PhoenixJson.ReflectionSerialization)]
    [RequiresDynamicCode(PhoenixJson.ReflectionSerialization)]
    public ulong Send<T>(string topic, string @event, T payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentException.ThrowIfNullOrEmpty(@event);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Enqueue(topic, @event, JsonSerializer.SerializeToUtf8Bytes(payload, _options.JsonSerializerOptions));
    }

    /// <summary>Queues a message on the login topic and returns its ref (the id its reply carries). Trimming- and NativeAOT-safe.</summary>
    /// <param name="event">The event name, e.g. <c>prepare_connection</c>.</param>
    /// <param name="payload">The payload (null is sent as JSON <c>null</c>); written with <see cref="PhoenixChannelOptions.JsonSerializerOptions"/>' writer settings.</param>
    public ulong Send(string @event, JsonNode? payload) => Send(_options.Topic, @event, payload);

    /// <summary>Queues a message on <paramref name="topic"/> and returns its ref. Trimming- and NativeAOT-safe.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="event">The event name.</param>
    /// <param name="payload">The payload (null is sent as JSON <c>null</c>).</param>
    public ulong Send(string topic, string @event, JsonNode? payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentException.ThrowIfNullOrEmpty(@event);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Enqueue(topic, @event, Encoding.UTF8.GetBytes(payload?.ToJsonString(_options.JsonSerializerOptions) ?? "null"));
    }

    /// <summary>Queues a message on <paramref name="topic"/> serialized with source-generated metadata, and returns its ref. Trimming- and NativeAOT-safe.</summary>
    /// <param name="topic">The topic (the login topic is <see cref="PhoenixChannelOptions.Topic"/>).</param>
    /// <param name="event">The event name.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="typeInfo">Its metadata, e.g. <c>MyJsonContext.Default.MyPayload</c> (its context's options apply, not <see cref="PhoenixChannelOptions.JsonSerializerOptions"/>).</param>
    public ulong Send<T>(string topic, string @event, T payload, JsonTypeInfo<T> typeInfo)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentException.ThrowIfNullOrEmpty(@event);
        ArgumentNullException.ThrowIfNull(typeInfo);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Enqueue(topic, @event, JsonSerializer.SerializeToUtf8Bytes(payload, typeInfo));
    }

    private ulong Enqueue(string topic, string @event, byte[] json)
    {
        ulong @ref;
        lock (_lock)
        {
            @ref = _core.Send(topic, @event, json);
        }
        Wake();
        return @ref;
    }

    /// <summary>
    /// Joins <paramref name="topic"/> (queued at the front). The login topic is joined automatically on every connect;
    /// call this to re-join after an <see cref="ErrorReason.UnmatchedTopic"/> reply.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="payload">The join payload.</param>
    public ulong Join(string topic, JsonNode? payload = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ulong @ref;
        lock (_lock)
        {
            @ref = _core.Join(topic, Encoding.UTF8.GetBytes(payload?.ToJsonString() ?? "null"));
        }
        Wake();
        return @ref;
    }

    /// <summary>
    /// Closes the channel: a WebSocket close handshake when connected (queued messages are not flushed); a pending
    /// attempt or backoff is abandoned. Completes once the channel is closed.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the close handshake.</param>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_core.State is ChannelState.Closed or ChannelState.Failed)
            {
                return;
            }
            _closeWaiters.Add(waiter);
            _core.Close();
        }
        Wake();
        await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the channel, drops the socket without a close handshake and completes <see cref="Events"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        lock (_lock)
        {
            foreach (var a in _attempts.Values) a.Dispose();
            _attempts.Clear();
            foreach (var w in _connectWaiters) w.TrySetCanceled();
            foreach (var w in _closeWaiters) w.TrySetResult();
        }
        _events.Writer.TryComplete();
        (_transport as IDisposable)?.Dispose();
        _stop.Dispose();
    }

    private TimeSpan Now => _options.TimeProvider.GetElapsedTime(_origin);

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task RunAsync()
    {
        var outbound = new List<(long Attempt, OutboundMessage Message, IWebSocketConnection Connection)>();
        while (!_stop.IsCancellationRequested)
        {
            TimeSpan? deadline;
            lock (_lock)
            {
                _core.HandleTimeout(Now);
                DrainLocked(outbound);
                deadline = _core.PollTimeout();
            }

            foreach (var (attempt, message, connection) in outbound)
            {
                try
                {
                    await connection.SendAsync(message.Text, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    lock (_lock)
                    {
                        _core.OnSendFailed(attempt, message, $"cannot send to the portal: {e.Message}", Now);
                    }
                    Wake();
                    break;
                }
            }
            if (outbound.Count > 0)
            {
                outbound.Clear();
                continue; // Re-poll: more may have been queued meanwhile.
            }

            await WaitAsync(deadline).ConfigureAwait(false);
        }
    }

    private async Task WaitAsync(TimeSpan? deadline)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return;
        }
        if (deadline - Now <= TimeSpan.Zero)
        {
            return;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var wake = _wake.Reader.WaitToReadAsync(cts.Token).AsTask();
        Task woken;
        if (deadline is { } due)
        {
            // The clock may move between reading Now and arming the timer (a fake clock advanced by a test, or a long
            // preemption): the timer counts from when it is armed, so one armed late would fire late by the move. Arm it
            // against a fresh reading and arm again when the clock moved by 1 ms or more meanwhile (the stale timer is
            // cancelled with the others below).
            Task timer;
            while (true)
            {
                var armedAt = Now;
                if (due - armedAt <= TimeSpan.Zero)
                {
                    timer = Task.CompletedTask;
                    break;
                }

                timer = Task.Delay(due - armedAt, _options.TimeProvider, cts.Token);
                if (Now - armedAt < TimeSpan.FromMilliseconds(1))
                {
                    break;
                }
            }

            woken = Task.WhenAny(wake, timer);
        }
        else
        {
            woken = wake;
        }
        await woken.ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        _wake.Reader.TryRead(out _);
    }

    /// <summary>Carries out the core's commands, publishes its events and collects frames to write. Under the lock.</summary>
    private void DrainLocked(List<(long, OutboundMessage, IWebSocketConnection)> outbound)
    {
        while (_core.PollCommand() is { } command)
        {
            switch (command)
            {
                case DriverCommand.OpenSocket open:
                    StartAttempt(open.Url, open.Attempt);
                    break;
                case DriverCommand.DropSocket drop:
                    if (_attempts.Remove(drop.Attempt, out var dropped)) dropped.Dispose();
                    break;
                case DriverCommand.CloseSocket close:
                    if (_attempts.Remove(close.Attempt, out var closing)) _ = CloseSocketAsync(closing);
                    else _core.OnClosed(close.Attempt);
                    break;
            }
        }

        while (_core.PollEvent() is { } e)
        {
            switch (e)
            {
                case ChannelEvent.Connected:
                    LogConnected();
                    Complete(_connectWaiters, null);
                    break;
                case ChannelEvent.Failed failed:
                    Complete(_connectWaiters, failed.Error);
                    Complete(_closeWaiters, null);
                    break;
                case ChannelEvent.Closed:
                    Complete(_connectWaiters, new OperationCanceledException("the channel was closed"));
                    Complete(_closeWaiters, null);
                    break;
            }
            _events.Writer.TryWrite(e);
        }

        if (_core.State == ChannelState.Connected && _attempts.TryGetValue(_core.Attempt, out var current) && current.Connection is { } connection)
        {
            while (_core.PollTransmit() is { } message)
            {
                outbound.Add((current.Id, message, connection));
            }
        }
    }

    private static void Complete(List<TaskCompletionSource> waiters, Exception? error)
    {
        foreach (var w in waiters)
        {
            if (error is null) w.TrySetResult();
            else if (error is OperationCanceledException) w.TrySetCanceled();
            else w.TrySetException(error);
        }
        waiters.Clear();
    }

    private void StartAttempt(Uri url, long attempt)
    {
        var context = new AttemptContext(this, attempt, _stop.Token);
        _attempts[attempt] = context;
        _ = RunAttemptAsync(context, url);
    }

    private async Task RunAttemptAsync(AttemptContext context, Uri url)
    {
        try
        {
            var connection = await _transport.ConnectAsync(url, context, context.Token).ConfigureAwait(false);
            lock (_lock)
            {
                if (!_attempts.ContainsKey(context.Id))
                {
                    connection.Dispose(); // Abandoned meanwhile.
                    return;
                }
                context.Connection = connection;
                _core.OnConnected(context.Id, Now);
                if (context.EarlyClose is { } reason)
                {
                    _core.OnDisconnected(context.Id, reason, Now);
                }
            }
        }
        catch (TransportConnectException e)
        {
            lock (_lock)
            {
                _core.OnConnectFailed(context.Id, new ConnectFailure(e.Message, e.HttpStatus), Now);
            }
        }
        catch (OperationCanceledException) when (context.Token.IsCancellationRequested)
        {
            // Dropped or disposed.
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _core.OnConnectFailed(context.Id, new ConnectFailure($"cannot connect to the portal: {e.Message}"), Now);
            }
        }
        Wake();
    }

    private async Task CloseSocketAsync(AttemptContext context)
    {
        try
        {
            if (context.Connection is { } c)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await c.CloseAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            LogCloseFailed(e.Message);
        }
        finally
        {
            context.Dispose();
        }
        lock (_lock)
        {
            _core.OnClosed(context.Id);
        }
        Wake();
    }

    /// <summary>One connection attempt and, once open, its socket: the sink its callbacks arrive through.</summary>
    private sealed class AttemptContext(PhoenixChannel owner, long id, CancellationToken stop) : IConnectionSink, IDisposable
    {
        public long Id { get; } = id;
        private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(stop);
        public CancellationToken Token => _token ??= _cancellation.Token;
        private CancellationToken? _token;
        public IWebSocketConnection? Connection { get; set; }
        public string? EarlyClose { get; private set; }

        public void OnText(string text)
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            lock (owner._lock)
            {
                owner._core.OnFrame(Id, utf8, owner.Now);
            }
            owner.Wake();
        }

        public void OnClosed(string reason)
        {
            lock (owner._lock)
            {
                if (Connection is null)
                {
                    EarlyClose = reason; // Reported once the attempt's result is known.
                    return;
                }
                owner._core.OnDisconnected(Id, reason, owner.Now);
            }
            owner.Wake();
        }

        public void Dispose()
        {
            _ = Token;
            _cancellation.Cancel();
            _cancellation.Dispose();
            Connection?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connecting to portal {Url}")]
    private partial void LogConnecting(string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to portal")]
    private partial void LogConnected();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Close handshake failed: {Error}")]
    private partial void LogCloseFailed(string error);
}
