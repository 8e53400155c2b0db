using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using static Firezone.Connlib.Tests.Messages.MessageAssert;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>The JSON examples of phoenix-and-portal spec §6–§8 (their payloads), decoded and re-encoded.</summary>
public sealed class SpecExampleTests
{
    private const string RelaysPresenceExample = """
        {"disconnected_ids":["7c0e2a55-19b3-4d6e-8f21-3a4b5c6d7e8f"],
         "connected":[
          {"type":"turn","id":"1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b","addr":"203.0.113.20:3478",
           "username":"1735689600:Xk2pQ9vL0aZ7mB3n","password":"q0wE...43 base64 chars, no padding","expires_at":1735689600},
          {"type":"turn","id":"1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b","addr":"[2001:db8::20]:3478",
           "username":"1735689600:Rt5yU8iO1pA4sD6f","password":"z9xC...","expires_at":1735689600}]}
        """;

    private const string ResourceCreatedExample = """
        {"type":"cidr","id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","name":"Office LAN","address":"10.20.0.0/16",
         "address_description":null,"gateway_groups":[{"id":"3a62bafc-4b91-4ce1-9edb-0674e387244d","name":"HQ"}]}
        """;

    private const string PrepareConnectionExample = """{"resource_id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","connected_gateway_ids":[]}""";

    private const string ConnectionDetailsExample = """
        {"resource_id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","gateway_id":"5f1d9c2e-8a47-4b0e-b0a4-2c9f6f3e7d21",
         "gateway_remote_ip":"198.51.100.7","gateway_group_id":"3a62bafc-4b91-4ce1-9edb-0674e387244d"}
        """;

    private const string ConnectExample = """
        {"resource_id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","persistent_keepalive":25,
         "gateway_public_key":"Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=",
         "gateway_payload":{"ConnectionAccepted":{"ice_parameters":{"username":"kq3d","password":"v7n2x0d9lq5c1m8p4t6w2z"}}}}
        """;

    private const string AuthorizeFlowExample = """
        {"ref":"SFMyNTY.opaque-signed-blob","flow_id":"9b2f4c61-0d3e-4a8f-a1c2-7e5d3b9f0a44",
         "resource":{"type":"dns","id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","name":"GitLab",
                     "address":"gitlab.corp.example","filters":[{"protocol":"tcp","port_range_start":443,"port_range_end":443}]},
         "client":{"id":"e4a7c0b2-6d1f-4f83-9c55-1b2a3d4e5f60","public_key":"Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=",
                   "preshared_key":"p6m1Zr4qS8vT0wX2yA5bC7dE9fG1hJ3kL5mN7pQ9rS0=","ipv4":"100.71.3.9","ipv6":"fd00:2021:1111::9:3"},
         "client_ice_credentials":{"username":"ab12","password":"c3d4e5f6g7h8i9j0k1l2m3"},
         "gateway_ice_credentials":{"username":"n4o5","password":"p6q7r8s9t0u1v2w3x4y5z6"},
         "expires_at":1735689600}
        """;

    private const string FlowAuthorizedExample = """{"ref":"SFMyNTY.opaque-signed-blob"}""";

    private static readonly ResourceId Resource = new(Guid.Parse("0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10"));

    [Fact]
    public void Relays_presence_example_decodes_and_reencodes()
    {
        var m = Decodes<RelaysPresence>(PortalMessages.DecodeClientPush("relays_presence", Json(RelaysPresenceExample)));
        Assert.Equal([new RelayId(Guid.Parse("7c0e2a55-19b3-4d6e-8f21-3a4b5c6d7e8f"))], m.DisconnectedIds);
        Assert.Equal(2, m.Connected.Count);
        var v4 = Assert.IsType<TurnRelayEntry>(m.Connected[0]);
        Assert.Equal(IPEndPoint.Parse("203.0.113.20:3478"), v4.Address);
        Assert.Equal("1735689600:Xk2pQ9vL0aZ7mB3n", v4.Username);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1735689600), v4.ExpiresAt);
        Assert.Equal(IPEndPoint.Parse("[2001:db8::20]:3478"), m.Connected[1].Address);
        SameJson(RelaysPresenceExample, m.ToPayload());

        // The same payload on the gateway topic.
        StructurallyEqual(m, Decodes<RelaysPresence>(PortalMessages.DecodeGatewayPush("relays_presence", Json(RelaysPresenceExample))));
    }

    [Fact]
    public void Relays_presence_example_merges_into_one_dual_stack_relay_where_the_later_credentials_win()
    {
        var m = Decodes<RelaysPresence>(PortalMessages.DecodeClientPush("relays_presence", Json(RelaysPresenceExample)));
        var relay = Assert.Single(TurnRelays.FromPortal(m.Connected));
        Assert.Equal(IPEndPoint.Parse("203.0.113.20:3478"), relay.IPv4);
        Assert.Equal(IPEndPoint.Parse("[2001:db8::20]:3478"), relay.IPv6);
        Assert.Equal(("1735689600:Rt5yU8iO1pA4sD6f", "z9xC...", "firezone"), (relay.Username, relay.Password, relay.Realm));
    }

    [Fact]
    public void Resource_created_or_updated_example_decodes_and_reencodes()
    {
        var m = Decodes<ResourceCreatedOrUpdated>(PortalMessages.DecodeClientPush("resource_created_or_updated", Json(ResourceCreatedExample)));
        var cidr = Assert.IsType<CidrResource>(m.Resource);
        Assert.Equal(Resource, cidr.Id);
        Assert.Equal(IPNetwork.Parse("10.20.0.0/16"), cidr.Address);
        Assert.Equal("Office LAN", cidr.Name);
        Assert.Null(cidr.AddressDescription);
        var site = Assert.Single(cidr.Sites);
        Assert.Equal((new SiteId(Guid.Parse("3a62bafc-4b91-4ce1-9edb-0674e387244d")), "HQ"), (site.Id, site.Name));
        SameJson(ResourceCreatedExample, m.ToPayload());
    }

    [Fact]
    public void Prepare_connection_example_round_trips()
    {
        var m = Decodes<PrepareConnection>(PortalMessages.DecodeFromClient("prepare_connection", Json(PrepareConnectionExample)));
        Assert.Equal(Resource, m.ResourceId);
        Assert.Empty(m.ConnectedGatewayIds);
        Assert.Equal("prepare_connection", m.Event);
        SameJson(PrepareConnectionExample, m.ToPayload());
    }

    [Fact]
    public void Connection_details_reply_example_decodes_and_reencodes()
    {
        var m = Decodes<ConnectionDetails>(PortalMessages.DecodeClientReply(Json(ConnectionDetailsExample)));
        Assert.Equal(Resource, m.ResourceId);
        Assert.Equal(new GatewayId(Guid.Parse("5f1d9c2e-8a47-4b0e-b0a4-2c9f6f3e7d21")), m.GatewayId);
        Assert.Equal(IPAddress.Parse("198.51.100.7"), m.GatewayRemoteIp);
        Assert.Equal(new SiteId(Guid.Parse("3a62bafc-4b91-4ce1-9edb-0674e387244d")), m.SiteId);
        SameJson(ConnectionDetailsExample, m.ToPayload());
    }

    [Fact]
    public void Connect_reply_example_decodes_and_reencodes()
    {
        var m = Decodes<Connect>(PortalMessages.DecodeClientReply(Json(ConnectExample)));
        Assert.Equal(Resource, m.ResourceId);
        Assert.Equal(25UL, m.PersistentKeepalive);
        Assert.Equal(Convert.FromBase64String("Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo="), m.GatewayPublicKey.ToArray());
        var accepted = Assert.IsType<ConnectionAccepted>(m.GatewayPayload);
        Assert.Equal(new Credentials("kq3d", "v7n2x0d9lq5c1m8p4t6w2z"), accepted.IceParameters);
        SameJson(ConnectExample, m.ToPayload());
    }

    [Fact]
    public void Authorize_flow_example_decodes_and_reencodes_without_the_ignored_flow_id()
    {
        var m = Decodes<AuthorizeFlow>(PortalMessages.DecodeGatewayPush("authorize_flow", Json(AuthorizeFlowExample)));
        Assert.Equal("SFMyNTY.opaque-signed-blob", m.Ref);
        var dns = Assert.IsType<GatewayDnsResource>(m.Resource);
        Assert.Equal((Resource, "gitlab.corp.example", "GitLab"), (dns.Id, dns.Address, dns.Name));
        Assert.Equal([Filter.Tcp(443, 443)], dns.Filters);
        Assert.Equal(new ClientId(Guid.Parse("e4a7c0b2-6d1f-4f83-9c55-1b2a3d4e5f60")), m.Client.Id);
        Assert.Equal(Key.Parse("p6m1Zr4qS8vT0wX2yA5bC7dE9fG1hJ3kL5mN7pQ9rS0="), m.Client.PresharedKey);
        Assert.Equal((IPAddress.Parse("100.71.3.9"), IPAddress.Parse("fd00:2021:1111::9:3")), (m.Client.IPv4, m.Client.IPv6));
        Assert.Equal(new Credentials("ab12", "c3d4e5f6g7h8i9j0k1l2m3"), m.ClientIceCredentials);
        Assert.Equal(new Credentials("n4o5", "p6q7r8s9t0u1v2w3x4y5z6"), m.GatewayIceCredentials);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1735689600), m.ExpiresAt);
        Assert.DoesNotContain("p6m1Zr4q", m.ToString(), StringComparison.Ordinal);

        var expected = System.Text.Json.Nodes.JsonNode.Parse(AuthorizeFlowExample)!.AsObject();
        expected.Remove("flow_id");
        SameJson(expected.ToJsonString(), m.ToPayload());
    }

    [Fact]
    public void Flow_authorized_example_round_trips_the_ref_verbatim()
    {
        var m = Decodes<FlowAuthorized>(PortalMessages.DecodeFromGateway("flow_authorized", Json(FlowAuthorizedExample)));
        Assert.Equal("SFMyNTY.opaque-signed-blob", m.Ref);
        SameJson(FlowAuthorizedExample, new FlowAuthorized(m.Ref).ToPayload());
    }

    [Fact]
    public void Relay_join_payload_is_the_lowercase_hex_stamp_secret()
    {
        var secret = Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 0xA0)).ToArray();
        var join = RelayJoin.FromSecret(secret);
        string hex = string.Concat(secret.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        SameJson($$"""{"stamp_secret":"{{hex}}"}""", join.ToPayload());
        Assert.Equal(hex, Decodes<RelayJoin>(PortalMessages.DecodeRelayJoin(Json(join.ToPayload().ToJsonString()))).StampSecret);
    }

    [Fact]
    public void Relay_init_accepts_any_object_and_nothing_else()
    {
        Decodes<RelayInit>(PortalMessages.DecodeRelayPush("init", Json("{}")));
        Decodes<RelayInit>(PortalMessages.DecodeRelayPush("init", Json("""{"anything":[1,2]}""")));
        Fails(PortalMessages.DecodeRelayPush("init", Json("[]")));
        SameJson("{}", new RelayInit().ToPayload());
    }
}
