using System.Text;
using System.Text.Json;
using Firezone.PhoenixChannel.Backoff;
using Microsoft.Extensions.Logging;

namespace Firezone.PhoenixChannel.Protocol;

/// <summary>
/// The sans-IO Phoenix channel: framing, refs, the send queue, heartbeats and reconnect decisions.
/// It owns no socket, clock or thread and follows the sans-IO contract of the Snownet engines: the driver feeds it
/// inputs and the current time (a monotonic <see cref="TimeSpan"/> since an origin it chooses), runs
/// <see cref="HandleTimeout"/> when <see cref="PollTimeout"/> is due, and after every call drains
/// <see cref="PollCommand"/>, <see cref="PollTransmit"/> and <see cref="PollEvent"/>.
/// </summary>
/// <remarks>
/// Its inputs are WebSocket events, not datagrams: <see cref="OnConnected"/>, <see cref="OnConnectFailed"/>,
/// <see cref="OnFrame"/>, <see cref="OnDisconnected"/>, <see cref="OnSendFailed"/> and <see cref="OnClosed"/>, each
/// tagged with the attempt id the core handed out, plus the commands <see cref="Connect"/>, <see cref="Send"/>,
/// <see cref="Join"/> and <see cref="Close"/>. Its transmits are text frames for the current socket, and
/// <see cref="PollCommand"/> asks the driver to open, drop or close sockets (a WebSocket has a lifecycle a datagram
/// does not). Randomness (the reconnect backoff's jitter) is injected as a <see cref="Random"/>: the jitter is not
/// cryptographic, and a seeded instance makes a test replay exactly.
/// </remarks>
internal sealed partial class ChannelCore
{
    /// <summary>At most this many frames wait in the send queue.</summary>
    public const int MaxBufferedMessages = 32;

    private readonly string _loginTopic;
    private readonly byte[] _joinPayload;
    private readonly ReconnectPolicy _policy;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly TimeSpan _heartbeatInterval;
    private readonly TimeSpan _heartbeatTimeout;

    private readonly LinkedList<OutboundMessage> _queue = new();
    private readonly HashSet<ulong> _pendingJoins = [];
    private readonly Queue<ChannelEvent> _events = new();
    private readonly Queue<DriverCommand> _commands = new();

    private ulong _nextRef;
    private long _attempt;
    private bool _attemptInFlight;
    private TimeSpan? _retryAt;
    private Uri? _lastUrl;
    private ExponentialBackoff? _backoff;
    private TimeSpan _nextHeartbeat;
    private (ulong Ref, TimeSpan Deadline)? _outstandingHeartbeat;

    public ChannelCore(string loginTopic, string joinPayloadJson, ReconnectPolicy policy, Random random, ILogger logger,
        TimeSpan? heartbeatInterval = null, TimeSpan? heartbeatTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(loginTopic);
        policy.Validate();
        _loginTopic = loginTopic;
        _joinPayload = Encoding.UTF8.GetBytes(joinPayloadJson);
        _policy = policy;
        _random = random;
        _logger = logger;
        _heartbeatInterval = heartbeatInterval ?? TimeSpan.FromSeconds(30);
        _heartbeatTimeout = heartbeatTimeout ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>The current state.</summary>
    public ChannelState State { get; private set; } = ChannelState.Closed;

    /// <summary>The id of the current socket or attempt.</summary>
    public long Attempt => _attempt;

    /// <summary>The failure streak's backoff, when one is running (created lazily at its first error).</summary>
    internal ExponentialBackoff? Backoff => _backoff;

    /// <summary>Frames waiting to be sent.</summary>
    public int QueuedCount => _queue.Count;

    /// <summary>Join refs not yet acknowledged.</summary>
    public int PendingJoinCount => _pendingJoins.Count;

    /// <summary>
    /// Connects to <paramref name="url"/> (login URL plus finish parameters such as <c>public_key</c>).
    /// A no-op while connecting or sleeping in backoff with the same URL; otherwise the backoff is discarded,
    /// any socket is dropped and an immediate attempt starts. The send queue is kept.
    /// </summary>
    public void Connect(Uri url)
    {
        if (State == ChannelState.Connecting && url == _lastUrl)
        {
            return;
        }

        DropCurrentSocket();
        _backoff = null;
        _lastUrl = url;
        StartAttempt();
    }

    /// <summary>Queues an application message at the back of the queue and returns its ref.</summary>
    /// <remarks>
    /// The queue is bounded: when it already holds <see cref="MaxBufferedMessages"/> frames, the oldest application
    /// message is dropped with a warning. (Upstream clears the whole queue, joins included, once it holds more than
    /// 32; we drop only the oldest message on purpose, so that a burst never costs the newest data or a join.)
    /// </remarks>
    public ulong Send(string topic, string @event, ReadOnlySpan<byte> payloadJson)
    {
        var @ref = _nextRef++;
        if (_queue.Count >= MaxBufferedMessages)
        {
            for (var node = _queue.First; node is not null; node = node.Next)
            {
                if (node.Value.Kind == OutboundKind.Message)
                {
                    LogDroppedOldest(node.Value.Ref, MaxBufferedMessages);
                    _queue.Remove(node);
                    break;
                }
            }
        }
        _queue.AddLast(new OutboundMessage(@ref, PhoenixFrameCodec.Encode(topic, @event, payloadJson, @ref), OutboundKind.Message));
        return @ref;
    }

    /// <summary>Queues a join at the front of the queue and records its ref as a pending join.</summary>
    public ulong Join(string topic, ReadOnlySpan<byte> payloadJson)
    {
        var @ref = _nextRef++;
        _pendingJoins.Add(@ref);
        _queue.AddFirst(new OutboundMessage(@ref, PhoenixFrameCodec.Encode(topic, "phx_join", payloadJson, @ref), OutboundKind.Join));
        return @ref;
    }

    /// <summary>
    /// Closes the channel: a close handshake when connected; when connecting, the attempt is abandoned
    /// (upstream returns an error in that case; we close, as a caller of <c>CloseAsync</c> expects).
    /// </summary>
    public void Close()
    {
        switch (State)
        {
            case ChannelState.Connected:
                State = ChannelState.Closing;
                _commands.Enqueue(new DriverCommand.CloseSocket(_attempt));
                break;
            case ChannelState.Connecting:
                DropCurrentSocket();
                _attemptInFlight = false;
                _retryAt = null;
                _backoff = null;
                State = ChannelState.Closed;
                _events.Enqueue(new ChannelEvent.Closed());
                break;
        }
    }

    /// <summary>The driver finished the close handshake of <paramref name="attempt"/> (successfully or not).</summary>
    public void OnClosed(long attempt)
    {
        if (attempt != _attempt || State != ChannelState.Closing)
        {
            return;
        }
        _attempt++;
        State = ChannelState.Closed;
        _events.Enqueue(new ChannelEvent.Closed());
    }

    /// <summary>The WebSocket handshake of <paramref name="attempt"/> succeeded.</summary>
    public void OnConnected(long attempt, TimeSpan now)
    {
        if (attempt != _attempt || State != ChannelState.Connecting || !_attemptInFlight)
        {
            if (attempt != _attempt)
            {
                _commands.Enqueue(new DriverCommand.DropSocket(attempt)); // A stale socket nobody wants.
            }
            return;
        }

        _attemptInFlight = false;
        _backoff = null;
        _outstandingHeartbeat = null;
        _nextHeartbeat = now + _heartbeatInterval;
        State = ChannelState.Connected;
        _events.Enqueue(new ChannelEvent.Connected());
        Join(_loginTopic, _joinPayload);
    }

    /// <summary>The attempt failed before the WebSocket was open.</summary>
    public void OnConnectFailed(long attempt, ConnectFailure failure, TimeSpan now)
    {
        if (attempt != _attempt || State != ChannelState.Connecting || !_attemptInFlight)
        {
            return;
        }
        _attemptInFlight = false;
        if (failure.IsFatal)
        {
            Fail(PhoenixChannelException.ClientError(failure.HttpStatus!.Value));
            return;
        }
        OnTransientError(failure.Message, now);
    }

    /// <summary>The socket of <paramref name="attempt"/> broke (read error, end of stream, close by the server).</summary>
    public void OnDisconnected(long attempt, string reason, TimeSpan now)
    {
        if (attempt != _attempt || State is not (ChannelState.Connected or ChannelState.Closing))
        {
            return;
        }
        if (State == ChannelState.Closing)
        {
            OnClosed(attempt);
            return;
        }
        OnTransientError(reason, now);
    }

    /// <summary>Writing <paramref name="message"/> failed: it goes back to the front and the connection is broken.</summary>
    public void OnSendFailed(long attempt, OutboundMessage message, string reason, TimeSpan now)
    {
        _queue.AddFirst(message);
        if (attempt == _attempt && State == ChannelState.Connected)
        {
            OnTransientError(reason, now);
        }
    }

    /// <summary>
    /// Takes the next frame to write on the current socket (<see cref="Attempt"/>), when connected; null otherwise or
    /// when the queue is empty. A frame whose write fails goes back through <see cref="OnSendFailed"/>.
    /// </summary>
    public OutboundMessage? PollTransmit()
    {
        if (State != ChannelState.Connected || _queue.First is null)
        {
            return null;
        }
        var message = _queue.First.Value;
        _queue.RemoveFirst();
        return message;
    }

    /// <summary>Advances timers: backoff wake-ups, heartbeats and their deadlines.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        switch (State)
        {
            case ChannelState.Connecting when !_attemptInFlight && _retryAt is { } at && at <= now:
                StartAttempt();
                break;
            case ChannelState.Connected:
                if (_outstandingHeartbeat is { } hb)
                {
                    if (hb.Deadline <= now)
                    {
                        OnTransientError("portal did not respond to our heartbeat", now);
                    }
                }
                else if (_nextHeartbeat <= now)
                {
                    var @ref = _nextRef++;
                    _queue.AddLast(new OutboundMessage(@ref, PhoenixFrameCodec.Encode("phoenix", "heartbeat", "{}"u8, @ref), OutboundKind.Heartbeat));
                    _outstandingHeartbeat = (@ref, now + _heartbeatTimeout);
                    _events.Enqueue(new ChannelEvent.HeartbeatSent());
                    while (_nextHeartbeat <= now)
                    {
                        _nextHeartbeat += _heartbeatInterval; // Missed ticks are skipped, never burst.
                    }
                }
                break;
        }
    }

    /// <summary>The next instant at which <see cref="HandleTimeout"/> must run, or <c>null</c>.</summary>
    public TimeSpan? PollTimeout() => State switch
    {
        ChannelState.Connecting when !_attemptInFlight => _retryAt,
        ChannelState.Connected => _outstandingHeartbeat?.Deadline ?? _nextHeartbeat,
        _ => null,
    };

    /// <summary>The next socket command for the driver.</summary>
    public DriverCommand? PollCommand() => _commands.TryDequeue(out var c) ? c : null;

    /// <summary>The next event for the owner.</summary>
    public ChannelEvent? PollEvent() => _events.TryDequeue(out var e) ? e : null;

    /// <summary>Handles one inbound text frame of socket <paramref name="attempt"/>. Never throws.</summary>
    public void OnFrame(long attempt, ReadOnlySpan<byte> utf8, TimeSpan now)
    {
        if (attempt != _attempt || State != ChannelState.Connected)
        {
            return;
        }

        switch (PhoenixFrameCodec.TryDecode(utf8, out var frame))
        {
            case FrameDecodeError.EndOfInput:
                OnTransientError("received an empty or truncated message", now);
                return;
            case FrameDecodeError.Malformed:
                LogMalformedFrame(utf8.Length);
                return;
        }

        switch (frame.Event)
        {
            case "phx_reply":
                HandleReply(frame, now);
                break;
            case "phx_error" when IsEmptyObject(frame.Payload):
                LogChannelError(frame.Topic);
                break;
            case "phx_close" when IsEmptyObject(frame.Payload):
                OnTransientError("portal closed the channel (phx_close)", now);
                break;
            case "disconnect" when TryGetString(frame.Payload, "reason", out var reason):
                if (reason == "token_expired")
                {
                    Fail(PhoenixChannelException.TokenExpired());
                }
                else
                {
                    LogIgnoredDisconnect(reason);
                }
                break;
            default:
                _events.Enqueue(new ChannelEvent.InboundMessage(frame.Topic, frame.Event, frame.Payload));
                break;
        }
    }

    private void HandleReply(in PhoenixFrame frame, TimeSpan now)
    {
        if (frame.Ref is not { } @ref)
        {
            LogReplyWithoutRef(frame.Topic);
            return;
        }
        if (frame.Payload.ValueKind != JsonValueKind.Object
            || !TryGetString(frame.Payload, "status", out var status)
            || !frame.Payload.TryGetProperty("response", out var response))
        {
            LogMalformedFrame(0);
            return;
        }

        switch (status)
        {
            case "ok":
                if (_outstandingHeartbeat is { } hb && hb.Ref == @ref && IsEmptyObject(response))
                {
                    _outstandingHeartbeat = null;
                }
                else if (_pendingJoins.Remove(@ref))
                {
                    // Upstream ignores the portal's empty join reply and never forgets the ref; we acknowledge it.
                    _events.Enqueue(new ChannelEvent.JoinedRoom(frame.Topic));
                }
                else
                {
                    _events.Enqueue(new ChannelEvent.SuccessResponse(frame.Topic, @ref, response));
                }
                break;
            case "error":
                if (!TryGetString(response, "reason", out var reasonText))
                {
                    LogMalformedFrame(0);
                    return;
                }
                var reason = PhoenixChannelException.ParseReason(reasonText);
                var wasJoin = _pendingJoins.Remove(@ref);
                if (wasJoin && frame.Topic == _loginTopic)
                {
                    Fail(PhoenixChannelException.LoginFailed(reason, reasonText));
                }
                else
                {
                    _events.Enqueue(new ChannelEvent.ErrorResponse(frame.Topic, @ref, reason, reasonText));
                }
                break;
            default:
                LogMalformedFrame(0);
                break;
        }
    }

    /// <summary>
    /// The lazy-backoff rule: the policy is created at the first error of a failure streak, so its max elapsed
    /// time counts from that error (upstream before 932f6791fb counted from the last successful connection).
    /// </summary>
    private void OnTransientError(string error, TimeSpan now)
    {
        DropCurrentSocket();
        _backoff ??= new ExponentialBackoff(_policy, now, _random);
        var delay = _backoff.NextDelay(now);
        if (delay is not { } d)
        {
            Fail(PhoenixChannelException.MaxRetriesReached(error));
            return;
        }

        State = ChannelState.Connecting;
        _attemptInFlight = false;
        _retryAt = now + d;
        LogReconnecting(error, d.TotalMilliseconds);
        _events.Enqueue(new ChannelEvent.Reconnecting(error, d));
    }

    private void Fail(PhoenixChannelException error)
    {
        DropCurrentSocket();
        _attemptInFlight = false;
        _retryAt = null;
        _backoff = null;
        State = ChannelState.Failed;
        LogFatal(error.Message);
        _events.Enqueue(new ChannelEvent.Failed(error));
    }

    private void StartAttempt()
    {
        _attempt++;
        _attemptInFlight = true;
        _retryAt = null;
        _outstandingHeartbeat = null;
        State = ChannelState.Connecting;
        _commands.Enqueue(new DriverCommand.OpenSocket(_lastUrl!, _attempt));
    }

    private void DropCurrentSocket()
    {
        if (State is ChannelState.Connected or ChannelState.Closing || (State == ChannelState.Connecting && _attemptInFlight))
        {
            _commands.Enqueue(new DriverCommand.DropSocket(_attempt));
            _attempt++; // Whatever the old socket still reports is now stale.
        }
        _outstandingHeartbeat = null;
    }

    private static bool IsEmptyObject(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return false;
        using var members = e.EnumerateObject();
        return !members.MoveNext();
    }

    private static bool TryGetString(JsonElement e, string name, out string value)
    {
        value = "";
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String)
        {
            value = p.GetString()!;
            return true;
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Send queue full ({Limit} frames): dropped the oldest message (ref {Ref})")]
    private partial void LogDroppedOldest(ulong @ref, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an undecodable frame ({Length} bytes)")]
    private partial void LogMalformedFrame(int length);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Portal reported a channel error on topic {Topic}")]
    private partial void LogChannelError(string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a disconnect with reason {Reason}")]
    private partial void LogIgnoredDisconnect(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discarded a reply without ref on topic {Topic}")]
    private partial void LogReplyWithoutRef(string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection to the portal failed: {Error}; retrying in {DelayMs:F0} ms")]
    private partial void LogReconnecting(string error, double delayMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Portal connection failed for good: {Error}")]
    private partial void LogFatal(string error);
}
