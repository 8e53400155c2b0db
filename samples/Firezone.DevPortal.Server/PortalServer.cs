using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Firezone.DevPortal;

/// <summary>A frame the portal received from a component.</summary>
/// <param name="Session">The WebSocket session it came on.</param>
/// <param name="Topic">Its topic.</param>
/// <param name="Event">Its event.</param>
/// <param name="Payload">Its payload.</param>
/// <param name="Ref">Its ref (a number, or null when it was missing or not a number).</param>
/// <param name="Raw">The frame's text as received.</param>
public sealed record PortalFrame(PortalSession Session, string Topic, string Event, JsonNode? Payload, ulong? Ref, string Raw);

/// <summary>A reply the portal sends to a frame: <c>{"status": Status, "response": Response}</c>.</summary>
/// <param name="Status"><c>ok</c> or <c>error</c>.</param>
/// <param name="Response">The response value (<c>{}</c> for an empty reply).</param>
public sealed record PortalReply(string Status, JsonNode? Response)
{
    /// <summary>The empty OK reply the portal gives to joins, heartbeats and most messages.</summary>
    public static PortalReply EmptyOk => new("ok", new JsonObject());

    /// <summary>An error reply with a reason, e.g. <c>unmatched topic</c>.</summary>
    public static PortalReply Error(string reason) => new("error", new JsonObject { ["reason"] = reason });
}

/// <summary>How the dev portal behaves. Every hook is optional; the defaults behave like Firezone's portal.</summary>
public sealed class PortalServerOptions
{
    /// <summary>The address to listen on (loopback by default).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The port; 0 picks a free one (it is kept across restarts).</summary>
    public int Port { get; init; }

    /// <summary>Decides on each upgrade: return an HTTP status to reject it (e.g. 401), or null to accept.</summary>
    public Func<HttpContext, int?>? RejectUpgrade { get; set; }

    /// <summary>
    /// Whether every frame and join is kept for <see cref="PortalServer.Received"/> and <see cref="PortalServer.Joined"/>
    /// (unbounded: turn it off in a long-running portal that does not read them).
    /// </summary>
    public bool RecordFrames { get; set; } = true;

    /// <summary>Whether heartbeats are answered (turn off to test the client's heartbeat timeout).</summary>
    public bool AnswerHeartbeats { get; set; } = true;

    /// <summary>
    /// Answers a join; the default accepts it with an empty OK reply. A handler returning null sends the reply itself
    /// (through <see cref="PortalSession.Post"/>) and, to accept the join, calls <see cref="PortalSession.MarkJoined"/>.
    /// </summary>
    public Func<PortalFrame, PortalReply?>? JoinHandler { get; set; }

    /// <summary>Runs after a successful join (e.g. to push <c>init</c>).</summary>
    public Func<PortalSession, Task>? OnJoined { get; set; }

    /// <summary>Runs once when a session's socket is gone (closed by either side or aborted).</summary>
    public Action<PortalSession>? OnLeft { get; set; }

    /// <summary>Answers an application message; return null to send no reply. The default answers an empty OK reply.</summary>
    public Func<PortalFrame, PortalReply?>? MessageHandler { get; set; }

    /// <summary>Logs; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// The portal's side of the Phoenix V1 protocol over WebSocket on Kestrel: <c>/{client|gateway|relay}/websocket</c>,
/// joins, heartbeats, replies by ref and server pushes. For local development, the demo and tests; not a real portal.
/// </summary>
public sealed class PortalServer : IAsyncDisposable
{
    /// <summary>The largest frame accepted (1 MiB); a larger one drops the session.</summary>
    public const int MaxFrameBytes = 1 << 20;

    private readonly PortalServerOptions _options;
    private readonly ConcurrentDictionary<PortalSession, byte> _sessions = new();
    private readonly Channel<PortalFrame> _received = Channel.CreateUnbounded<PortalFrame>();
    private readonly Channel<PortalSession> _joined = Channel.CreateUnbounded<PortalSession>();
    private WebApplication? _app;
    private int _port;
    private int _connectionCount;

    /// <summary>Creates a server; call <see cref="StartAsync"/>.</summary>
    public PortalServer(PortalServerOptions? options = null)
    {
        _options = options ?? new PortalServerOptions();
        _port = _options.Port;
    }

    /// <summary>The options (hooks can be changed while running).</summary>
    public PortalServerOptions Options => _options;

    /// <summary>The bound port (after the first start).</summary>
    public int Port => _port;

    /// <summary>The API URL to give components, e.g. <c>ws://127.0.0.1:PORT</c>.</summary>
    public Uri ApiUrl => new($"ws://{(_options.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{_options.Address}]" : _options.Address.ToString())}:{_port}");

    /// <summary>Every frame received, in order (joins and heartbeats included), while <see cref="PortalServerOptions.RecordFrames"/> is on.</summary>
    public ChannelReader<PortalFrame> Received => _received.Reader;

    /// <summary>Sessions as they complete their join.</summary>
    public ChannelReader<PortalSession> Joined => _joined.Reader;

    /// <summary>The open sessions.</summary>
    public IReadOnlyCollection<PortalSession> Sessions => _sessions.Keys.ToArray();

    /// <summary>How many WebSocket upgrades were accepted since construction.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>Starts listening (again, on the same port, after <see cref="StopAsync"/>).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null) throw new InvalidOperationException("already running");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (_options.LoggerFactory is { } lf)
        {
            builder.Services.AddSingleton(lf);
        }
        // A library must not take the process's SIGINT/SIGTERM (the host decides when to stop): no console lifetime.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, ManualLifetime>();
        builder.WebHost.UseKestrel(k => k.Listen(_options.Address, _port));
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(1));
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Map("/{mode}/websocket", HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _port = new Uri(address).Port;
        _app = app;
    }

    /// <summary>Stops listening. Open sockets are aborted without a close frame unless <paramref name="graceful"/>.</summary>
    public async Task StopAsync(bool graceful = false)
    {
        var app = _app;
        _app = null;
        if (app is null) return;
        foreach (var session in _sessions.Keys)
        {
            if (graceful) await session.CloseAsync().ConfigureAwait(false);
            else session.Abort();
        }
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Pushes an event to every joined session of <paramref name="topic"/>.</summary>
    public async Task BroadcastAsync(string topic, string @event, JsonNode? payload)
    {
        foreach (var s in _sessions.Keys.Where(s => s.Joined && s.Topic == topic))
        {
            await s.PushAsync(@event, payload).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task HandleAsync(HttpContext context, string mode)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        if (_options.RejectUpgrade?.Invoke(context) is { } status)
        {
            context.Response.StatusCode = status;
            return;
        }

        // Counted before the 101 goes out: a client that sees its socket open must already find itself counted.
        Interlocked.Increment(ref _connectionCount);
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var session = new PortalSession(mode, context, socket);
        _sessions[session] = 0;
        try
        {
            await ReceiveLoopAsync(session).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client went away or we aborted.
        }
        finally
        {
            _sessions.TryRemove(session, out _);
            session.Ended();
            _options.OnLeft?.Invoke(session);
        }
    }

    private async Task ReceiveLoopAsync(PortalSession session)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (session.Socket.State == WebSocketState.Open)
        {
            var result = await session.Socket.ReceiveAsync(buffer, session.Aborted).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await session.CloseAsync().ConfigureAwait(false);
                return;
            }
            message.Write(buffer, 0, result.Count);
            if (message.Length > MaxFrameBytes)
            {
                // A peer must not make us buffer without bound: drop it.
                session.Abort();
                return;
            }

            if (!result.EndOfMessage) continue;
            var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
            message.SetLength(0);
            await HandleFrameAsync(session, text).ConfigureAwait(false);
        }
    }

    private async Task HandleFrameAsync(PortalSession session, string text)
    {
        JsonObject? obj;
        try
        {
            obj = JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return;
        }
        if (obj is null) return;
        var topic = (string?)obj["topic"] ?? "";
        var @event = (string?)obj["event"] ?? "";
        ulong? @ref = obj["ref"] is JsonValue v && v.TryGetValue<ulong>(out var r) ? r : null;
        var frame = new PortalFrame(session, topic, @event, obj["payload"]?.DeepClone(), @ref, text);
        if (_options.RecordFrames)
        {
            _received.Writer.TryWrite(frame);
        }

        PortalReply? reply;
        if (@event == "phx_join")
        {
            // A handler that returns null replied itself (and marked the session joined if it accepted the join).
            reply = _options.JoinHandler is { } joinHandler ? joinHandler(frame) : PortalReply.EmptyOk;
            if (reply?.Status == "ok")
            {
                session.MarkJoined(topic);
            }
        }
        else if (topic == "phoenix" && @event == "heartbeat")
        {
            reply = _options.AnswerHeartbeats ? PortalReply.EmptyOk : null;
        }
        else
        {
            reply = _options.MessageHandler is { } handler ? handler(frame) : PortalReply.EmptyOk;
        }

        if (reply is not null)
        {
            await session.SendAsync(topic, "phx_reply", new JsonObject { ["status"] = reply.Status, ["response"] = reply.Response?.DeepClone() }, @ref)
                .ConfigureAwait(false);
        }
        if (@event == "phx_join" && session.Joined)
        {
            if (_options.RecordFrames)
            {
                _joined.Writer.TryWrite(session);
            }
            if (_options.OnJoined is { } onJoined) await onJoined(session).ConfigureAwait(false);
        }
    }
}

/// <summary>A host lifetime that does nothing: the owner of the <see cref="PortalServer"/> starts and stops it.</summary>
internal sealed class ManualLifetime : Microsoft.Extensions.Hosting.IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
