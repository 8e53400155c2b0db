using System.Net;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Broker;
using Firezone.DevPortal.Config;
using Firezone.PhoenixChannel;
using Firezone.Snownet;
using static Firezone.DevPortal.Tests.Broker.TestConfigs;

namespace Firezone.DevPortal.Tests.Host;

/// <summary>
/// The library over real WebSockets on 127.0.0.1: <see cref="DevPortalHost"/> with PhoenixChannel clients playing
/// client, gateway and relay, Connlib's decoders reading what they receive.
/// </summary>
public sealed class DevPortalHostTests
{
    private const string Secret = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    private static readonly Credentials ClientIce = new("cl1e", "client-ice-password-0001");
    private static readonly Credentials GatewayIce = new("gw1e", "gateway-ice-password-001");

    private static async Task<DevPortalHost> StartAsync(DevPortalConfig? config = null, string? path = null)
    {
        var portal = new DevPortalHost(new DevPortalOptions { Config = config ?? TestConfig(), ConfigPath = path, ReloadDebounce = TimeSpan.FromMilliseconds(100) });
        await portal.StartAsync(TestContext.Current.CancellationToken);
        return portal;
    }

    [Fact]
    public async Task An_unknown_token_is_refused_with_401_on_upgrade_and_the_channel_fails_as_an_authentication_error()
    {
        await using var portal = await StartAsync();
        var error = await Assert.ThrowsAsync<PhoenixChannelException>(() => Component.ClientAsync(portal.ApiUrl, "nobody", join: false));
        Assert.Equal((PhoenixChannelErrorKind.ClientError, HttpStatusCode.Unauthorized), (error.Kind, error.StatusCode));
        Assert.True(error.IsAuthenticationError);
        Assert.Equal(0, portal.Server.ConnectionCount);
    }

    [Fact]
    public async Task Relay_client_and_gateway_join_and_their_init_carries_relay_credentials_minted_from_the_relays_stamp_secret()
    {
        await using var portal = await StartAsync();
        await using var relay = await Component.RelayAsync(portal.ApiUrl, "relay-token", Secret, IPAddress.Parse("198.18.1.1"));
        await relay.PushAsync<RelayInit>("init");
        await using var client = await Component.ClientAsync(portal.ApiUrl, "alice");
        await using var gateway = await Component.GatewayAsync(portal.ApiUrl, "hq-gw");

        var clientInit = await client.PushAsync<ClientInit>("init");
        var gatewayInit = await gateway.PushAsync<GatewayInit>("init");
        Assert.Equal([Lan.Id, Web.Id, Internet.Id], clientInit.Resources.Select(r => r.Id));
        foreach (var entry in clientInit.Relays.Concat(gatewayInit.Relays).Cast<TurnRelayEntry>())
        {
            Assert.Equal(IPEndPoint.Parse("198.18.1.1:3478"), entry.Address);
            string[] user = entry.Username.Split(':');
            Assert.Equal(RelayCredentials.Password(Secret, long.Parse(user[0], System.Globalization.CultureInfo.InvariantCulture), user[1]), entry.Password);
        }

        Assert.NotEqual(clientInit.Interface.IPv4, gatewayInit.Interface.IPv4);
    }

    [Fact]
    public async Task Prepare_request_connection_ready_round_trip_and_candidates_relayed_both_ways()
    {
        await using var portal = await StartAsync();
        var brokered = new System.Collections.Concurrent.ConcurrentQueue<BrokerEvent>();
        portal.Brokered += brokered.Enqueue;
        await using var client = await Component.ClientAsync(portal.ApiUrl, "alice");
        await using var gateway = await Component.GatewayAsync(portal.ApiUrl, "hq-gw");

        var details = Assert.IsType<ConnectionDetails>(await client.ReplyAsync(client.Send(new PrepareConnection(Lan.Id, []))));
        Assert.Equal((HqGateway.Id, Hq.Id), (details.GatewayId, details.SiteId));

        var psk = Broker.BrokerHarness.NewKey();
        ulong requestRef = client.Send(new RequestConnection(details.GatewayId, Lan.Id, psk, ClientIce, null));
        var request = await gateway.PushAsync<GatewayRequestConnection>("request_connection");
        Assert.Equal((Alice.Id, client.PublicKey, psk), (request.ClientId, request.Peer.PublicKey, request.Peer.PresharedKey));
        gateway.Send(new ConnectionReady(request.Ref, new ConnectionAccepted(GatewayIce)));
        var connect = Assert.IsType<Connect>(await client.ReplyAsync(requestRef));
        Assert.Equal((gateway.PublicKey, GatewayIce), (connect.GatewayPublicKey, Assert.IsType<ConnectionAccepted>(connect.GatewayPayload).IceParameters));

        client.Send(new IceCandidatesForGateways([HqGateway.Id], ["candidate:1 1 udp 2130706431 198.18.3.1 5000 typ host"]));
        var atGateway = await gateway.PushAsync<IceCandidatesFromClient>("ice_candidates");
        Assert.Equal(Alice.Id, atGateway.ClientId);
        gateway.Send(new IceCandidatesForClients([Alice.Id], ["candidate:2 1 udp 2130706431 198.18.3.2 6000 typ host"]));
        var atClient = await client.PushAsync<IceCandidatesFromGateway>("ice_candidates");
        Assert.Equal((HqGateway.Id, "candidate:2 1 udp 2130706431 198.18.3.2 6000 typ host"), (atClient.GatewayId, Assert.Single(atClient.Candidates)));
        gateway.Send(new IceCandidatesForClients([Alice.Id], ["candidate:2 1 udp 2130706431 198.18.3.2 6000 typ host"], Invalidated: true));
        Assert.True((await client.PushAsync<IceCandidatesFromGateway>("invalidate_ice_candidates")).Invalidated);
        Assert.Equal(
            [BrokerEventKind.ClientJoined, BrokerEventKind.GatewayJoined, BrokerEventKind.ConnectionPrepared, BrokerEventKind.ConnectionRequested, BrokerEventKind.ConnectionReady],
            brokered.Select(e => e.Kind));
        Assert.Equal("laptop", brokered.First().Name);
    }

    [Fact]
    public async Task A_relay_that_leaves_is_announced_as_disconnected_in_relays_presence()
    {
        await using var portal = await StartAsync();
        await using var client = await Component.ClientAsync(portal.ApiUrl, "alice");
        var relay = await Component.RelayAsync(portal.ApiUrl, "relay-token", Secret, IPAddress.Parse("198.18.1.1"));
        var joined = await client.PushAsync<RelaysPresence>("relays_presence");
        var id = Assert.Single(joined.Connected).Id;

        await relay.Channel.CloseAsync(TestContext.Current.CancellationToken);
        await relay.DisposeAsync();
        var left = await client.PushAsync<RelaysPresence>("relays_presence");
        Assert.Equal([id], left.DisconnectedIds);
        Assert.Empty(left.Connected);
    }

    [Fact]
    public async Task A_gateway_that_never_answers_makes_the_clients_request_fail_with_offline_after_the_timeout()
    {
        await using var portal = await StartAsync(TestConfig(answerTimeout: TimeSpan.FromSeconds(1)));
        await using var client = await Component.ClientAsync(portal.ApiUrl, "alice");
        await using var gateway = await Component.GatewayAsync(portal.ApiUrl, "hq-gw");
        var started = DateTime.UtcNow;
        ulong r = client.Send(new RequestConnection(HqGateway.Id, Lan.Id, Broker.BrokerHarness.NewKey(), ClientIce, null));
        await gateway.PushAsync<GatewayRequestConnection>("request_connection"); // and never answers
        var error = await client.ErrorAsync(r);
        Assert.Equal(ErrorReason.Offline, error.Reason);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9));
    }

    [Fact]
    public async Task A_malformed_client_message_gets_an_error_reply_with_a_clear_reason_and_nothing_else_is_disturbed()
    {
        await using var portal = await StartAsync();
        await using var client = await Component.ClientAsync(portal.ApiUrl, "alice");
        await using var gateway = await Component.GatewayAsync(portal.ApiUrl, "hq-gw");
        ulong bad = client.SendRaw("prepare_connection", new JsonObject { ["resource_id"] = 42 });
        var error = await client.ErrorAsync(bad);
        Assert.Equal(ErrorReason.Other, error.Reason);
        Assert.StartsWith("invalid payload: ", error.ReasonText, StringComparison.Ordinal);
        Assert.Contains("resource_id", error.ReasonText, StringComparison.Ordinal);

        // The same socket keeps working, and the gateway got nothing.
        Assert.IsType<ConnectionDetails>(await client.ReplyAsync(client.Send(new PrepareConnection(Lan.Id, []))));
        Assert.False(await gateway.ReceivedAsync("request_connection", TimeSpan.FromMilliseconds(300)));
        Assert.Contains(Alice.Id, portalOnline(portal));

        static IEnumerable<ClientId> portalOnline(DevPortalHost p) => p.Config.Clients.Select(c => c.Id);
    }

    [Fact]
    public async Task A_changed_config_file_is_reloaded_and_pushed_and_a_broken_one_is_rejected_keeping_the_old()
    {
        string dir = Directory.CreateTempSubdirectory("devportal-").FullName;
        string path = Path.Combine(dir, "portal.json");
        const string Base = """
            { "sites": [{ "name": "HQ" }], "clients": [{ "token": "alice" }],
              "resources": [{ "type": "cidr", "name": "LAN", "address": "172.20.0.0/16" }] }
            """;
        await File.WriteAllTextAsync(path, Base, TestContext.Current.CancellationToken);
        try
        {
            await using var portal = await StartAsync(DevPortalConfig.Load(path), path);
            await using var client = await Component.ClientAsync(portal.ApiUrl, "alice");
            Assert.Single((await client.PushAsync<ClientInit>("init")).Resources);

            var rejected = new TaskCompletionSource<DevPortalConfigException>(TaskCreationOptions.RunContinuationsAsynchronously);
            portal.ConfigRejected += e => rejected.TrySetResult(e);
            await File.WriteAllTextAsync(path, Base.Replace("172.20.0.0/16", "172.20.0.1/16", StringComparison.Ordinal), TestContext.Current.CancellationToken);
            var e = await rejected.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.Equal("$.resources[0].address", e.JsonPath);
            Assert.Equal("172.20.0.0/16", Assert.Single(portal.Config.Resources).Address);

            await File.WriteAllTextAsync(path, Base.Replace("\"address\": \"172.20.0.0/16\" }", "\"address\": \"172.20.0.0/16\" }, { \"type\": \"dns\", \"name\": \"Web\", \"address\": \"*.corp.example\" }", StringComparison.Ordinal), TestContext.Current.CancellationToken);
            var added = await client.PushAsync<ResourceCreatedOrUpdated>("resource_created_or_updated");
            Assert.Equal("*.corp.example", Assert.IsType<DnsResource>(added.Resource).Address);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_frame_larger_than_the_cap_drops_only_that_socket()
    {
        await using var portal = await StartAsync();
        await using var other = await Component.ClientAsync(portal.ApiUrl, "bob");
        using var raw = new System.Net.WebSockets.ClientWebSocket();
        var key = Broker.BrokerHarness.NewKey().ToString();
        await raw.ConnectAsync(new Uri(portal.ApiUrl, $"/client/websocket?token=alice&public_key={Uri.EscapeDataString(key)}"), TestContext.Current.CancellationToken);
        var huge = new byte[PortalServer.MaxFrameBytes + 1];
        huge.AsSpan().Fill((byte)' ');
        await raw.SendAsync(huge, System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, TestContext.Current.CancellationToken);

        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var result = await raw.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) throw new System.Net.WebSockets.WebSocketException("closed");
        });
        Assert.False(timeout.IsCancellationRequested, "the oversized frame did not drop the socket");

        Assert.Equal(ErrorReason.Offline, (await other.ErrorAsync(other.Send(new PrepareConnection(Lan.Id, [])))).Reason); // answered: no gateway is online
    }
}
