using System.Net;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;
using static Firezone.DevPortal.Tests.Broker.BrokerHarness;
using static Firezone.DevPortal.Tests.Broker.TestConfigs;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>Joins: the reply, the init of each component, relays and relays_presence (phoenix-and-portal.md §7.1, §8.1, §9, §6).</summary>
public sealed class BrokerJoinTests
{
    private const string Secret = "4c98bf59c99b3e467ecd7cf9d6b3e5279645fca59be67bc5bb4af3cf653761ab";

    [Fact]
    public void Known_tokens_are_accepted_per_mode_and_unknown_ones_refused()
    {
        var broker = new BrokerHarness(TestConfig()).Broker;
        Assert.True(broker.IsKnownToken("client", "alice"));
        Assert.True(broker.IsKnownToken("gateway", "hq-gw"));
        Assert.True(broker.IsKnownToken("relay", "relay-token"));
        Assert.False(broker.IsKnownToken("client", "hq-gw"));
        Assert.False(broker.IsKnownToken("gateway", "alice"));
        Assert.False(broker.IsKnownToken("client", "nobody"));
        Assert.False(broker.IsKnownToken("client", null));
        Assert.False(broker.IsKnownToken("admin", "alice"));
    }

    [Fact]
    public void Client_join_is_answered_with_an_empty_ok_reply_then_init_with_interface_its_resources_and_relays()
    {
        var h = new BrokerHarness(TestConfig());
        h.JoinRelay("relay-token", Secret, "198.18.1.1", "2001:2::1");
        h.Drain();
        long s = h.JoinClient("alice");
        var sent = h.Drain();

        Assert.Equal("phx_reply", sent[0].Event);
        Assert.Equal(0ul, sent[0].Ref);
        Assert.Equal("{\"status\":\"ok\",\"response\":{}}", sent[0].Payload!.ToJsonString());
        var init = Assert.IsType<ClientInit>(Assert.Single(Pushes(sent, s)));
        var (v4, v6) = h.Broker.AddressesOf(Alice);
        Assert.Equal(new InterfaceConfig(v4, v6, [IPEndPoint.Parse("198.18.53.53:53")]), init.Interface);
        Assert.True(DevPortalConfig.TunnelIPv4Range.Contains(v4));
        Assert.True(DevPortalConfig.TunnelIPv6Range.Contains(v6));
        Assert.Equal([Lan.Id, Web.Id, Internet.Id], init.Resources.Select(r => r.Id));
        var lan = Assert.IsType<CidrResource>(init.Resources[0]);
        Assert.Equal((IPNetwork.Parse("172.20.0.0/16"), "LAN", "office"), (lan.Address, lan.Name, lan.AddressDescription));
        Assert.Equal([new Site(Hq.Id, "HQ")], lan.Sites);
        Assert.Equal("*.corp.example", Assert.IsType<DnsResource>(init.Resources[1]).Address);
        Assert.IsType<InternetResource>(init.Resources[2]);

        // One relay, IPv4 entry then IPv6 entry (adjacent, so connlib merges them into one dual-stack relay).
        Assert.Equal(2, init.Relays.Count);
        Assert.Equal([IPEndPoint.Parse("198.18.1.1:3478"), IPEndPoint.Parse("[2001:2::1]:3478")], init.Relays.Select(r => r.Address));
        Assert.Single(init.Relays.Select(r => r.Id).Distinct());
        Assert.Single(TurnRelays.FromPortal(init.Relays));
    }

    [Fact]
    public void A_client_limited_to_some_resources_gets_only_those()
    {
        var h = new BrokerHarness(TestConfig());
        long s = h.JoinClient("bob");
        var init = Assert.IsType<ClientInit>(Assert.Single(Pushes(h.Drain(), s)));
        Assert.Equal([Lan.Id], init.Resources.Select(r => r.Id));
    }

    [Fact]
    public void Gateway_join_gets_init_with_interface_masquerade_config_and_relays()
    {
        var h = new BrokerHarness(TestConfig());
        h.JoinRelay("relay-token", Secret);
        long s = h.JoinGateway("hq-gw");
        var init = Assert.IsType<GatewayInit>(Assert.Single(Pushes(h.Drain(), s)));
        var (v4, v6) = h.Broker.AddressesOf(HqGateway);
        Assert.Equal((v4, v6), (init.Interface.IPv4, init.Interface.IPv6));
        Assert.True(init.Ipv4MasqueradeEnabled && init.Ipv6MasqueradeEnabled);
        Assert.Equal(IPEndPoint.Parse("198.18.1.1:3478"), Assert.Single(init.Relays).Address);
    }

    [Fact]
    public void Client_and_gateway_joins_without_a_valid_public_key_are_refused_with_a_reason()
    {
        var h = new BrokerHarness(TestConfig());
        Assert.False(h.Join(1, "client", new() { ["token"] = "alice" }));
        Assert.False(h.Join(2, "gateway", new() { ["token"] = "hq-gw", ["public_key"] = "AAAA" }));
        var sent = h.Drain();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, t => Assert.Contains("public_key", ErrorReason(t), StringComparison.Ordinal));
        Assert.Empty(h.Broker.OnlineClients);
        Assert.Empty(h.Broker.OnlineGateways);
    }

    [Fact]
    public void A_join_on_another_topic_than_the_socket_mode_is_refused_as_unmatched_topic()
    {
        var h = new BrokerHarness(TestConfig());
        Assert.False(h.Broker.Join(1, "client", "gateway", new Dictionary<string, string> { ["token"] = "alice", ["public_key"] = NewKey().ToString() },
            IPAddress.Loopback, Element((JsonNode?)null), 3, Wall));
        Assert.Equal("unmatched topic", ErrorReason(Assert.Single(h.Drain())));
    }

    [Fact]
    public void Relay_join_without_a_stamp_secret_is_refused()
    {
        var h = new BrokerHarness(TestConfig());
        Assert.False(h.Join(1, "relay", new() { ["token"] = "relay-token", ["ipv4"] = "198.18.1.1" }, new JsonObject()));
        Assert.Contains("stamp_secret", ErrorReason(Assert.Single(h.Drain())), StringComparison.Ordinal);
        Assert.Empty(h.Broker.OnlineRelays);
    }

    [Fact]
    public void Relay_join_gets_an_empty_init_and_every_client_and_gateway_a_relays_presence_with_its_addresses()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Drain();
        long relay = h.JoinRelay("relay-token", Secret, "198.18.1.1", "2001:2::1", port: 3479);
        var sent = h.Drain();

        Assert.IsType<RelayInit>(Assert.Single(Pushes(sent, relay)));
        Assert.Equal("{}", sent.Single(t => t.Session == relay && t.Event == "init").Payload!.ToJsonString());
        foreach (long peer in new[] { client, gateway })
        {
            var presence = Assert.IsType<RelaysPresence>(Assert.Single(Pushes(sent, peer)));
            Assert.Empty(presence.DisconnectedIds);
            Assert.Equal([IPEndPoint.Parse("198.18.1.1:3479"), IPEndPoint.Parse("[2001:2::1]:3479")], presence.Connected.Select(r => r.Address));
        }
    }

    [Fact]
    public void Relay_leave_sends_relays_presence_listing_it_as_disconnected_and_the_remaining_relays_as_connected()
    {
        var h = new BrokerHarness(TestConfig());
        long relay1 = h.JoinRelay("relay-token", Secret, "198.18.1.1", name: "relay-1");
        long relay2 = h.JoinRelay("relay-token", Secret, "198.18.1.2", name: "relay-2");
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("lab-gw");
        var relay1Id = h.Broker.OnlineRelays[0];
        var relay2Id = h.Broker.OnlineRelays[1];
        Assert.NotEqual(relay1Id, relay2Id);
        h.Drain();

        h.Broker.Leave(relay1, Wall);
        var sent = h.Drain();
        foreach (long peer in new[] { client, gateway })
        {
            var presence = Assert.IsType<RelaysPresence>(Assert.Single(Pushes(sent, peer)));
            Assert.Equal([relay1Id], presence.DisconnectedIds);
            Assert.Equal([relay2Id], presence.Connected.Select(r => r.Id));
        }

        Assert.Equal([relay2Id], h.Broker.OnlineRelays);
        _ = relay2;
    }

    [Fact]
    public void A_restarted_relay_keeps_its_id_and_peers_get_credentials_for_its_new_secret()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long relay = h.JoinRelay("relay-token", Secret);
        var id = h.Broker.OnlineRelays[0];
        h.Broker.Leave(relay, Wall);
        h.Drain();
        h.JoinRelay("relay-token", new string('e', 64));
        var presence = Assert.IsType<RelaysPresence>(Assert.Single(Pushes(h.Drain(), client)));
        var entry = Assert.IsType<TurnRelayEntry>(Assert.Single(presence.Connected));
        Assert.Equal(id, entry.Id);
        string[] parts = entry.Username.Split(':');
        Assert.Equal(Firezone.DevPortal.Broker.RelayCredentials.Password(new string('e', 64), long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1]), entry.Password);
    }

    [Fact]
    public void A_relay_without_a_public_address_is_not_handed_out()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        h.Drain();
        h.JoinRelay("relay-token", Secret, ipv4: null);
        Assert.Empty(Pushes(h.Drain(), client));
    }
    [Fact]
    public void Gateways_sharing_a_site_token_are_told_apart_by_the_external_id_of_their_firezone_id()
    {
        var gw1 = new GatewayConfig(new GatewayId(Guid.NewGuid()), "site-token", Hq.Id, FirezoneId: "4694E56C-7643-4A15-9DF3-638E5B05F570");
        var gw2 = new GatewayConfig(new GatewayId(Guid.NewGuid()), "site-token", Hq.Id, FirezoneId: "gateway-two");
        var h = new BrokerHarness(TestConfig() with { Gateways = [gw1, gw2] });
        Assert.True(h.Broker.IsKnownToken("gateway", "site-token"));

        // The external_id is what our PhoenixChannel's login URL sends (an independent SHA-256 hex).
        Assert.True(h.Join(1, "gateway", new() { ["token"] = "site-token", ["public_key"] = NewKey().ToString(), ["external_id"] = Firezone.PhoenixChannel.LoginUrl.ExternalId("gateway-two") }));
        Assert.Equal([gw2.Id], h.Broker.OnlineGateways);
        Assert.False(h.Join(2, "gateway", new() { ["token"] = "site-token", ["public_key"] = NewKey().ToString(), ["external_id"] = Firezone.PhoenixChannel.LoginUrl.ExternalId("someone-else") }));
        Assert.Contains("external_id", ErrorReason(h.Drain().Last()), StringComparison.Ordinal);
        Assert.Equal([gw2.Id], h.Broker.OnlineGateways);
    }
}
