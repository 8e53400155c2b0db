using System.Text.Json.Nodes;
using Firezone.DevPortal;
using Firezone.PhoenixChannel.Backoff;

namespace Firezone.PhoenixChannel.Tests;

/// <summary>
/// The real driver (Websocket.Client over ClientWebSocket) against a real Phoenix V1 server on 127.0.0.1
/// (<see cref="PortalServer"/> on Kestrel), started by each test.
/// </summary>
public sealed class PortalIntegrationTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly PortalServer _server = new();
    private PhoenixChannel? _channel;

    public async ValueTask InitializeAsync() => await _server.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null) await _channel.DisposeAsync();
        await _server.DisposeAsync();
    }

    private PhoenixChannel NewChannel(string mode = "client", ReconnectPolicy? policy = null, TimeSpan? heartbeat = null,
        JsonNode? join = null, TimeSpan? heartbeatTimeout = null)
    {
        var login = mode switch
        {
            "relay" => LoginUrl.Relay(_server.ApiUrl, "relay-token", name: "test-relay"),
            "gateway" => LoginUrl.Gateway(_server.ApiUrl, "gw-token", "gateway-1", "gw"),
            _ => LoginUrl.Client(_server.ApiUrl, "secret token+/=", "device-1", "laptop"),
        };
        _channel = new PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = login,
            Topic = mode,
            UserAgent = mode == "relay" ? UserAgent.ForRelay("0.1.0") : UserAgent.ForConnlib("1.3.8"),
            JoinPayload = join,
            ReconnectPolicy = policy ?? ReconnectPolicy.Gateway,
            HeartbeatInterval = heartbeat ?? TimeSpan.FromSeconds(30),
            HeartbeatTimeout = heartbeatTimeout ?? TimeSpan.FromSeconds(5), // generous: a loaded machine must not look like a dead portal
            RandomSeed = 1,
        });
        return _channel;
    }

    private static async Task<T> NextAsync<T>(PhoenixChannel channel) where T : ChannelEvent
    {
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var e in channel.ReadEventsAsync(cts.Token))
        {
            if (e is T match) return match;
        }
        throw new InvalidOperationException("event stream ended");
    }

    private static async Task<PortalFrame> ReceivedAsync(PortalServer server, Func<PortalFrame, bool> match)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var f in server.Received.ReadAllAsync(cts.Token))
        {
            if (match(f)) return f;
        }
        throw new InvalidOperationException("frame stream ended");
    }

    [Fact]
    public async Task Connects_joins_and_sends_the_login_query_and_user_agent()
    {
        var channel = NewChannel();
        await channel.ConnectAsync([new("public_key", "Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=")], TestContext.Current.CancellationToken);

        var join = await ReceivedAsync(_server, f => f.Event == "phx_join");
        Assert.Equal(("client", 0ul), (join.Topic, join.Ref));
        Assert.Null(join.Payload);
        Assert.Equal("client", (await NextAsync<ChannelEvent.JoinedRoom>(channel)).Topic);

        var q = join.Session.Query;
        Assert.Equal("secret token+/=", q["token"]);
        Assert.Equal(LoginUrl.ExternalId("device-1"), q["external_id"]);
        Assert.Equal("laptop", q["name"]);
        Assert.Equal("Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=", q["public_key"]);
        Assert.Matches(@"^\S+/\S+ connlib/1\.3\.8( \(.+\))?$", join.Session.UserAgent);
        Assert.DoesNotContain("secret", channel.ToString());
    }

    [Fact]
    public async Task Relay_joins_with_its_stamp_secret()
    {
        var channel = NewChannel("relay", ReconnectPolicy.Relay, join: new JsonObject { ["stamp_secret"] = new string('a', 64) });
        _server.Options.OnJoined = s => s.PushAsync("init", new JsonObject());
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);

        var join = await ReceivedAsync(_server, f => f.Event == "phx_join");
        Assert.Equal(new string('a', 64), (string?)join.Payload!["stamp_secret"]);
        Assert.Equal("relay/0.1.0", join.Session.UserAgent);
        Assert.Equal("3478", join.Session.Query["port"]);
        Assert.Equal("init", (await NextAsync<ChannelEvent.InboundMessage>(channel)).Event);
    }

    [Fact]
    public async Task Replies_are_routed_by_ref_and_pushes_arrive_as_messages()
    {
        _server.Options.MessageHandler = f => new PortalReply("ok", new JsonObject { ["echo"] = f.Payload!["n"]!.DeepClone() });
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        await NextAsync<ChannelEvent.JoinedRoom>(channel);

        var refs = Enumerable.Range(0, 3).Select(n => channel.Send("prepare_connection", new { N = n })).ToArray();
        for (var n = 0; n < 3; n++)
        {
            var reply = await NextAsync<ChannelEvent.SuccessResponse>(channel);
            Assert.Equal(refs[n], reply.Ref);
            Assert.Equal(n, reply.Response.GetProperty("echo").GetInt32());
        }

        await _server.BroadcastAsync("client", "resource_deleted", JsonValue.Create("0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10"));
        var push = await NextAsync<ChannelEvent.InboundMessage>(channel);
        Assert.Equal("resource_deleted", push.Event);
        Assert.Equal("0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10", push.Deserialize<string>());
    }

    [Fact]
    public async Task Error_replies_surface_with_their_reason()
    {
        _server.Options.MessageHandler = _ => PortalReply.Error("offline");
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        var r = channel.Send("prepare_connection", new { ResourceId = "x" });
        var error = await NextAsync<ChannelEvent.ErrorResponse>(channel);
        Assert.Equal((r, ErrorReason.Offline), (error.Ref, error.Reason));
    }

    [Fact]
    public async Task Heartbeats_go_out_on_topic_phoenix_and_answered_ones_keep_the_connection()
    {
        var channel = NewChannel(heartbeat: TimeSpan.FromMilliseconds(200));
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        for (var i = 0; i < 3; i++)
        {
            var hb = await ReceivedAsync(_server, f => f.Event == "heartbeat");
            Assert.Equal("phoenix", hb.Topic);
            Assert.NotNull(hb.Ref);
        }
        Assert.Equal(1, _server.ConnectionCount);
    }

    [Fact]
    public async Task A_heartbeat_that_is_never_answered_means_reconnect()
    {
        _server.Options.AnswerHeartbeats = false;
        var channel = NewChannel(heartbeat: TimeSpan.FromMilliseconds(200), heartbeatTimeout: TimeSpan.FromMilliseconds(300));
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        var reconnecting = await NextAsync<ChannelEvent.Reconnecting>(channel);
        Assert.Contains("heartbeat", reconnecting.Error);
        await NextAsync<ChannelEvent.Connected>(channel);
        Assert.Equal(2, _server.ConnectionCount);
    }

    [Fact]
    public async Task Server_restart_reconnects_with_backoff_and_rejoins_with_a_new_ref()
    {
        var channel = NewChannel("gateway");
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        await ReceivedAsync(_server, f => f.Event == "phx_join");

        await _server.StopAsync();
        var reconnecting = await NextAsync<ChannelEvent.Reconnecting>(channel);
        Assert.InRange(reconnecting.RetryIn, TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(0.75));
        var queued = channel.Send("broadcast_ice_candidates", new { ClientIds = new[] { "c" }, Candidates = Array.Empty<string>() });

        await Task.Delay(1000, TestContext.Current.CancellationToken); // A few attempts fail while it is down.
        await _server.StartAsync(TestContext.Current.CancellationToken);
        await NextAsync<ChannelEvent.Connected>(channel);

        var rejoin = await ReceivedAsync(_server, f => f.Event == "phx_join");
        Assert.True(rejoin.Ref > 0, "the ref counter is never reset");
        var buffered = await ReceivedAsync(_server, f => f.Event == "broadcast_ice_candidates");
        Assert.Equal(queued, buffered.Ref); // Queued while down, sent after the join.
    }

    [Theory]
    [InlineData(401, true)]
    [InlineData(403, true)]
    [InlineData(422, false)]
    public async Task A_4xx_upgrade_is_fatal(int status, bool isAuthentication)
    {
        _server.Options.RejectUpgrade = _ => status;
        var channel = NewChannel();
        var error = await Assert.ThrowsAsync<PhoenixChannelException>(() => channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(PhoenixChannelErrorKind.ClientError, error.Kind);
        Assert.Equal(status, (int)error.StatusCode!.Value);
        Assert.Equal(isAuthentication, error.IsAuthenticationError);
        Assert.Equal(0, _server.ConnectionCount);
    }

    [Fact]
    public async Task A_5xx_upgrade_is_retried()
    {
        var rejections = 0;
        _server.Options.RejectUpgrade = _ => Interlocked.Increment(ref rejections) <= 2 ? 503 : null;
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(3, rejections);
    }

    [Fact]
    public async Task Token_expired_disconnect_is_a_fatal_authentication_error()
    {
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        await NextAsync<ChannelEvent.JoinedRoom>(channel);
        await _server.BroadcastAsync("client", "disconnect", new JsonObject { ["reason"] = "token_expired" });
        var failed = await NextAsync<ChannelEvent.Failed>(channel);
        Assert.Equal(PhoenixChannelErrorKind.TokenExpired, failed.Error.Kind);
        Assert.True(failed.Error.IsAuthenticationError);
    }

    [Fact]
    public async Task Phx_close_reconnects()
    {
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        await NextAsync<ChannelEvent.JoinedRoom>(channel);
        await _server.BroadcastAsync("client", "phx_close", new JsonObject());
        Assert.Contains("phx_close", (await NextAsync<ChannelEvent.Reconnecting>(channel)).Error);
        await NextAsync<ChannelEvent.JoinedRoom>(channel);
        Assert.Equal(2, _server.ConnectionCount);
    }

    [Fact]
    public async Task Login_rejected_by_the_portal_is_fatal()
    {
        _server.Options.JoinHandler = _ => PortalReply.Error("invalid_version");
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        var failed = await NextAsync<ChannelEvent.Failed>(channel);
        Assert.Equal((PhoenixChannelErrorKind.LoginFailed, ErrorReason.InvalidVersion), (failed.Error.Kind, failed.Error.LoginFailure));
    }

    [Fact]
    public async Task Garbage_frames_from_the_server_do_not_break_the_channel()
    {
        var channel = NewChannel();
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        await NextAsync<ChannelEvent.JoinedRoom>(channel);
        var session = Assert.Single(_server.Sessions);
        await session.SendRawAsync("not json");
        await session.SendRawAsync("""{"topic":"client","event":"init","payload":{},"ref":"7"}""");
        await session.SendRawAsync("""{"topic":"client","event":"config_changed","payload":{"interface":{}},"ref":null}""");
        Assert.Equal("config_changed", (await NextAsync<ChannelEvent.InboundMessage>(channel)).Event);
        Assert.Equal(1, _server.ConnectionCount);
    }

    [Fact]
    public async Task Close_performs_a_close_handshake()
    {
        var channel = NewChannel("relay", ReconnectPolicy.Relay);
        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        await ReceivedAsync(_server, f => f.Event == "phx_join");
        await channel.CloseAsync(TestContext.Current.CancellationToken);
        await NextAsync<ChannelEvent.Closed>(channel);
        for (var i = 0; i < 500 && _server.Sessions.Count > 0; i++) await Task.Delay(20, TestContext.Current.CancellationToken);
        Assert.Empty(_server.Sessions);
    }
}
