using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace Firezone.DevPortal;

/// <summary>
/// One component's WebSocket to the dev portal. Everything sent on it goes through one ordered queue written by one
/// task, so frames leave in the order they were queued whoever queues them (<see cref="Post"/> does not wait,
/// <see cref="SendRawAsync"/> waits until the frame is written).
/// </summary>
public sealed class PortalSession
{
    /// <summary>Frames queued and not yet written beyond which the session is aborted (a peer that stopped reading).</summary>
    public const int MaxQueuedFrames = 4096;

    private static long s_nextId;
    private readonly HttpContext _context;
    private readonly CancellationTokenSource _abort = new();
    private readonly Channel<(string Text, TaskCompletionSource? Done)> _outbound =
        Channel.CreateBounded<(string, TaskCompletionSource?)>(new BoundedChannelOptions(MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    internal PortalSession(string mode, HttpContext context, WebSocket socket)
    {
        Id = Interlocked.Increment(ref s_nextId);
        Mode = mode;
        _context = context;
        Socket = socket;
        Query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        UserAgent = context.Request.Headers.UserAgent.ToString();
        RemoteAddress = context.Connection.RemoteIpAddress ?? IPAddress.Loopback;
        if (RemoteAddress.IsIPv4MappedToIPv6)
        {
            RemoteAddress = RemoteAddress.MapToIPv4();
        }

        Writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>A process-wide unique number for this session.</summary>
    public long Id { get; }

    /// <summary>The path's mode: <c>client</c>, <c>gateway</c> or <c>relay</c>.</summary>
    public string Mode { get; }

    /// <summary>The login query parameters (token, external_id, public_key, ...).</summary>
    public IReadOnlyDictionary<string, string> Query { get; }

    /// <summary>The User-Agent header.</summary>
    public string UserAgent { get; }

    /// <summary>The IP address the component connected from.</summary>
    public IPAddress RemoteAddress { get; }

    /// <summary>The joined topic.</summary>
    public string Topic { get; internal set; } = "";

    /// <summary>Whether the session joined its topic.</summary>
    public bool Joined { get; internal set; }

    internal WebSocket Socket { get; }

    /// <summary>Records that the session joined <paramref name="topic"/> (for join handlers that reply themselves).</summary>
    public void MarkJoined(string topic)
    {
        Topic = topic;
        Joined = true;
    }

    internal CancellationToken Aborted => _abort.Token;

    internal Task Writer { get; }

    /// <summary>Pushes an event (ref null) on the session's topic.</summary>
    public Task PushAsync(string @event, JsonNode? payload) => SendAsync(Topic, @event, payload, null);

    /// <summary>Sends a raw text frame (for malformed-input tests) and waits until it is written (or the session ended).</summary>
    public Task SendRawAsync(string text)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_outbound.Writer.TryWrite((text, done)))
        {
            // Full (the peer stopped reading) or completed (the session ended): nothing will be written.
            Abort();
            done.TrySetResult();
        }

        return done.Task;
    }

    /// <summary>Queues a frame without waiting; false when the session ended or its queue is full (it is then aborted).</summary>
    public bool Post(string topic, string @event, JsonNode? payload, ulong? @ref)
    {
        if (_outbound.Writer.TryWrite((Frame(topic, @event, payload, @ref), null)))
        {
            return true;
        }

        Abort();
        return false;
    }

    /// <summary>Sends a frame and waits until it is written.</summary>
    public Task SendAsync(string topic, string @event, JsonNode? payload, ulong? @ref) => SendRawAsync(Frame(topic, @event, payload, @ref));

    /// <summary>Closes with a close handshake (after the frames queued so far).</summary>
    public async Task CloseAsync()
    {
        _outbound.Writer.TryComplete();
        try
        {
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Writer.WaitAsync(drain.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        _abort.Cancel();
    }

    /// <summary>Drops the TCP connection without a close frame (what a crashing portal does).</summary>
    public void Abort()
    {
        _outbound.Writer.TryComplete();
        _abort.Cancel();
        try
        {
            _context.Abort();
        }
        catch (ObjectDisposedException)
        {
            // The request ended meanwhile (the client left while the server was stopping): nothing is left to drop.
        }
    }

    internal void Ended() => _outbound.Writer.TryComplete();

    private static string Frame(string topic, string @event, JsonNode? payload, ulong? @ref) =>
        new JsonObject { ["topic"] = topic, ["event"] = @event, ["payload"] = payload, ["ref"] = @ref }.ToJsonString();

    private async Task WriteLoopAsync()
    {
        await foreach (var (text, done) in _outbound.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (!_abort.IsCancellationRequested && Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, _abort.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // The peer went away: the remaining frames are dropped.
            }
            finally
            {
                done?.TrySetResult();
            }
        }
    }
}
