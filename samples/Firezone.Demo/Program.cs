using System.Diagnostics;
using System.Text.Json.Nodes;
using Firezone.DevPortal;
using Firezone.PhoenixChannel;

// Firezone.NET demo: a local dev portal on 127.0.0.1 and a client channel talking to it.
// It shows connect, join, push, replies by ref, a heartbeat, and a reconnect after the portal restarts.
var clock = Stopwatch.StartNew();
void Say(string who, string what) => Console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F2}s] {who,-7} {what}");

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
await using var portal = new PortalServer(new PortalServerOptions
{
    // Answer prepare_connection like the portal does: with connection details.
    MessageHandler = frame => frame.Event == "prepare_connection"
        ? new PortalReply("ok", new JsonObject
        {
            ["resource_id"] = frame.Payload?["resource_id"]?.DeepClone(),
            ["gateway_id"] = "5f1d9c2e-8a47-4b0e-b0a4-2c9f6f3e7d21",
            ["gateway_remote_ip"] = "198.51.100.7",
            ["gateway_group_id"] = "3a62bafc-4b91-4ce1-9edb-0674e387244d",
        })
        : PortalReply.EmptyOk,
});
await portal.StartAsync(stop.Token);
Say("portal", $"dev portal listening on {portal.ApiUrl}");

await using var channel = new PhoenixChannel(new PhoenixChannelOptions
{
    LoginUrl = LoginUrl.Client(portal.ApiUrl, "demo-token", deviceId: "demo-device", deviceName: "demo-laptop"),
    Topic = "client",
    UserAgent = UserAgent.ForConnlib("1.3.8"),
    HeartbeatInterval = TimeSpan.FromSeconds(1), // 30 s in production; short here to show one.
});
Say("client", $"connecting to {channel}");
await channel.ConnectAsync([new("public_key", "Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=")], stop.Token);

var phase = 0;
var resourceId = "0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10";
await foreach (var e in channel.ReadEventsAsync(stop.Token))
{
    switch (e)
    {
        case ChannelEvent.Connected:
            Say("client", "connected (WebSocket open; the join is the first frame)");
            break;
        case ChannelEvent.JoinedRoom joined when phase == 0:
            phase = 1;
            Say("client", $"joined topic '{joined.Topic}'");
            var @ref = channel.Send("prepare_connection", new { ResourceId = resourceId, ConnectedGatewayIds = Array.Empty<string>() });
            Say("client", $"sent prepare_connection with ref {@ref}");
            break;
        case ChannelEvent.SuccessResponse reply when phase == 1:
            phase = 2;
            Say("client", $"reply to ref {reply.Ref}: gateway {reply.Response.GetProperty("gateway_id")} at {reply.Response.GetProperty("gateway_remote_ip")}");
            await portal.BroadcastAsync("client", "resource_deleted", JsonValue.Create(resourceId));
            Say("portal", "pushed resource_deleted");
            break;
        case ChannelEvent.InboundMessage push:
            Say("client", $"received push '{push.Event}': {push.Payload}");
            break;
        case ChannelEvent.HeartbeatSent when phase == 2:
            phase = 3;
            Say("client", "heartbeat sent on topic 'phoenix' (answered by the portal)");
            Say("portal", "restarting: dropping every socket without a close frame");
            await portal.StopAsync();
            _ = Task.Delay(1500, stop.Token).ContinueWith(async _ =>
            {
                await portal.StartAsync(stop.Token);
                Say("portal", $"back on {portal.ApiUrl}");
            }, TaskScheduler.Default);
            break;
        case ChannelEvent.Reconnecting r:
            Say("client", $"{r.Error}; retrying in {r.RetryIn.TotalMilliseconds:F0} ms");
            break;
        case ChannelEvent.JoinedRoom joined when phase == 3:
            Say("client", $"reconnected and re-joined '{joined.Topic}' ({portal.ConnectionCount} connections accepted in all)");
            await channel.CloseAsync(stop.Token);
            break;
        case ChannelEvent.Closed:
            Say("client", "closed with a close handshake. Demo complete.");
            return 0;
        case ChannelEvent.Failed failed:
            Say("client", $"failed: {failed.Error.Message}");
            return 1;
    }
}
return 1;
