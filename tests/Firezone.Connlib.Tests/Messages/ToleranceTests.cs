using System.Net;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using static Firezone.Connlib.Tests.Messages.MessageAssert;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>Each tolerance and strictness rule of phoenix-and-portal spec §6–§8 on its own.</summary>
public sealed class ToleranceTests
{
    private const string Id1 = "0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10";
    private const string Id2 = "3a62bafc-4b91-4ce1-9edb-0674e387244d";
    private const string Key1 = "Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=";
    private const string Interface = """{"ipv4":"100.64.0.1","ipv6":"fd00:2021:1111::1"}""";
    private const string DnsResource = $$"""{"type":"dns","id":"{{Id1}}","address":"*.corp.example","name":"Corp","gateway_groups":[]}""";
    private const string GatewayCidr = $$"""{"type":"cidr","id":"{{Id1}}","address":"10.0.0.0/8","name":"Net","filters":[]}""";
    private const string Turn = $$"""{"type":"turn","id":"{{Id2}}","addr":"198.18.0.1:3478","username":"1:s","password":"p","expires_at":1}""";

    private static string AuthorizeFlow(string resource = GatewayCidr, string expiresAt = "\"expires_at\":null,") => $$"""
        {"ref":"r",{{expiresAt}}"resource":{{resource}},
         "gateway_ice_credentials":{"username":"a","password":"b"},"client_ice_credentials":{"username":"c","password":"d"},
         "client":{"id":"{{Id2}}","public_key":"{{Key1}}","preshared_key":"{{Key1}}","ipv4":"100.64.0.2","ipv6":"fd00:2021:1111::2"} }
        """;

    private static string RequestConnection(string expiresAt = "\"expires_at\":null,") => $$"""
        {"ref":"r",{{expiresAt}}"resource":{{GatewayCidr}},
         "client":{"id":"{{Id2}}","payload":{"ice_parameters":{"username":"a","password":"b"} },
                   "peer":{"public_key":"{{Key1}}","preshared_key":"{{Key1}}","ipv4":"100.64.0.2","ipv6":"fd00:2021:1111::2"} } }
        """;

    private static string AllowAccess(string expiresAt = "\"expires_at\":null,") => $$"""
        {"client_id":"{{Id2}}",{{expiresAt}}"resource":{{GatewayCidr}},"ref":"r","client_ipv4":"100.64.0.2","client_ipv6":"fd00:2021:1111::2"}
        """;

    [Fact]
    public void Unknown_fields_are_ignored()
    {
        var init = Decodes<ClientInit>(PortalMessages.DecodeClientPush("init", Json($$"""
            {"interface":{"ipv4":"100.64.0.1","ipv6":"fd00:2021:1111::1","extra":1},"future":{"x":[]},
             "resources":[{"type":"dns","id":"{{Id1}}","address":"a.example","name":"A","gateway_groups":[],"filters":[],"can_be_disabled":true}]}
            """)));
        Assert.Single(init.Resources);
        Decodes<AuthorizeFlow>(PortalMessages.DecodeGatewayPush("authorize_flow", Json(AuthorizeFlow().Replace("\"ref\":\"r\",", "\"ref\":\"r\",\"actor\":{},\"relays\":[],", StringComparison.Ordinal))));
    }

    [Fact]
    public void A_duplicate_known_key_fails_as_serde_reports_a_duplicate_field()
    {
        Fails(PortalMessages.DecodeFromGateway("flow_authorized", Json("""{"ref":"a","ref":"b"}""")));
        Fails(PortalMessages.DecodeClientPush("resource_created_or_updated", Json(DnsResource.Replace("\"name\":\"Corp\"", "\"name\":\"Corp\",\"name\":\"Other\"", StringComparison.Ordinal))));
        Assert.Equal("a", Decodes<FlowAuthorized>(PortalMessages.DecodeFromGateway("flow_authorized", Json("""{"ref":"a","x":1,"x":2}"""))).Ref);
    }

    [Fact]
    public void Client_resource_of_unknown_type_is_accepted_and_ignored()
    {
        var init = Decodes<ClientInit>(PortalMessages.DecodeClientPush("init", Json($$"""
            {"interface":{{Interface}},"resources":[{"type":"printer","whatever":1},{{DnsResource}}]}
            """)));
        Assert.IsType<Firezone.Connlib.Model.DnsResource>(Assert.Single(init.Resources));

        var single = Decodes<UnknownResourceIgnored>(PortalMessages.DecodeClientPush("resource_created_or_updated", Json("""{"type":"printer"}""")));
        Assert.Equal("printer", single.Type);
        SameJson("""{"type":"printer"}""", single.ToPayload());
    }

    [Fact]
    public void Client_resource_of_known_type_with_a_malformed_body_fails_the_whole_init()
    {
        var bad = DnsResource.Replace("\"name\":\"Corp\",", string.Empty, StringComparison.Ordinal);
        var error = Fails(PortalMessages.DecodeClientPush("init", Json($$"""{"interface":{{Interface}},"resources":[{{DnsResource}},{{bad}}]}""")));
        Assert.Contains("resources[1]", error.Detail, StringComparison.Ordinal);
        Fails(PortalMessages.DecodeClientPush("init", Json($$"""{"interface":{{Interface}},"resources":[{"id":"{{Id1}}"}]}""")));
    }

    [Fact]
    public void Internet_resource_name_defaults_to_Internet_Resource()
    {
        var m = Decodes<ResourceCreatedOrUpdated>(PortalMessages.DecodeClientPush(
            "resource_created_or_updated", Json($$"""{"type":"internet","id":"{{Id1}}","gateway_groups":[]}""")));
        Assert.Equal("Internet Resource", Assert.IsType<InternetResource>(m.Resource).Name);
    }

    [Theory]
    [InlineData("""{"type":"printer","id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10"}""")]
    [InlineData("""{"id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10"}""")]
    [InlineData("""{"type":"dns","id":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","address":"a","name":"b"}""")]
    public void Gateway_resource_of_unknown_type_or_without_filters_fails_the_message(string resource)
    {
        Fails(PortalMessages.DecodeGatewayPush("authorize_flow", Json(AuthorizeFlow(resource))));
        Fails(PortalMessages.DecodeGatewayPush("resource_updated", Json(resource)));
    }

    [Fact]
    public void Filter_of_unknown_protocol_fails_and_port_range_defaults_to_0_and_65535()
    {
        Fails(PortalMessages.DecodeGatewayPush("resource_updated", Json(GatewayCidr.Replace("[]", """[{"protocol":"sctp"}]""", StringComparison.Ordinal))));
        var m = Decodes<ResourceUpdated>(PortalMessages.DecodeGatewayPush("resource_updated", Json(GatewayCidr.Replace(
            "[]", """[{"protocol":"udp"},{"protocol":"tcp","port_range_start":80},{"protocol":"tcp","port_range_end":90},{"protocol":"icmp"}]""", StringComparison.Ordinal))));
        Assert.Equal([Filter.Udp(0, 65535), Filter.Tcp(80, 65535), Filter.Tcp(0, 90), Filter.Icmp], m.Resource.Filters);

        // A default, not an option: an explicit null (or a port beyond u16) fails, as serde's u16 does.
        Fails(PortalMessages.DecodeGatewayPush("resource_updated", Json(GatewayCidr.Replace("[]", """[{"protocol":"tcp","port_range_start":null}]""", StringComparison.Ordinal))));
        Fails(PortalMessages.DecodeGatewayPush("resource_updated", Json(GatewayCidr.Replace("[]", """[{"protocol":"udp","port_range_end":65536}]""", StringComparison.Ordinal))));
        SameJson(
            """[{"protocol":"udp","port_range_start":0,"port_range_end":65535},{"protocol":"tcp","port_range_start":80,"port_range_end":65535},{"protocol":"tcp","port_range_start":0,"port_range_end":90},{"protocol":"icmp"}]""",
            m.ToPayload()["filters"]!);
    }

    [Fact]
    public void Relay_of_unknown_type_fails_the_message_and_stun_entries_are_kept_but_not_used()
    {
        Fails(PortalMessages.DecodeClientPush("init", Json($$"""{"interface":{{Interface}},"relays":[{{Turn}},{"type":"quic","id":"{{Id2}}"}]}""")));
        Fails(PortalMessages.DecodeGatewayPush("relays_presence", Json($$"""{"disconnected_ids":[],"connected":[{"id":"{{Id2}}"}]}""")));
        var init = Decodes<ClientInit>(PortalMessages.DecodeClientPush(
            "init", Json($$"""{"interface":{{Interface}},"relays":[{"type":"stun","id":"{{Id1}}","addr":"198.18.0.9:3478"},{{Turn}}]}""")));
        Assert.IsType<StunRelayEntry>(init.Relays[0]);
        Assert.Equal(new RelayId(Guid.Parse(Id2)), Assert.Single(TurnRelays.FromPortal(init.Relays)).Id);
    }

    [Fact]
    public void Relays_presence_needs_both_lists()
    {
        Fails(PortalMessages.DecodeClientPush("relays_presence", Json("""{"connected":[]}""")));
        Fails(PortalMessages.DecodeClientPush("relays_presence", Json("""{"disconnected_ids":[]}""")));
        Decodes<RelaysPresence>(PortalMessages.DecodeClientPush("relays_presence", Json("""{"disconnected_ids":[],"connected":[]}""")));
    }

    [Fact]
    public void Dns_server_protocol_other_than_ip_port_fails_the_whole_message()
    {
        var ok = Decodes<ConfigChanged>(PortalMessages.DecodeClientPush("config_changed", Json("""
            {"interface":{"ipv4":"100.64.0.1","ipv6":"fd00:2021:1111::1","upstream_dns":[{"protocol":"ip_port","address":"[2001:2::53]:53"}]}}
            """)));
        Assert.Equal([IPEndPoint.Parse("[2001:2::53]:53")], ok.Interface.UpstreamDns);
        Fails(PortalMessages.DecodeClientPush("config_changed", Json("""
            {"interface":{"ipv4":"100.64.0.1","ipv6":"fd00:2021:1111::1","upstream_dns":[{"protocol":"dns_over_https","address":"https://x"}]}}
            """)));
    }

    [Theory]
    [InlineData("authorize_flow")]
    [InlineData("request_connection")]
    [InlineData("allow_access")]
    public void Expires_at_is_required_but_nullable_in_the_gateway_flow_messages(string @event)
    {
        Func<string, string> payload = @event switch
        {
            "authorize_flow" => e => AuthorizeFlow(expiresAt: e),
            "request_connection" => RequestConnection,
            _ => AllowAccess,
        };

        var withNull = PortalMessages.DecodeGatewayPush(@event, Json(payload("\"expires_at\":null,")));
        var withValue = PortalMessages.DecodeGatewayPush(@event, Json(payload("\"expires_at\":1735689600,")));
        var missing = PortalMessages.DecodeGatewayPush(@event, Json(payload(string.Empty)));
        Assert.True(withNull.IsSuccess, withNull.Error?.ToString());
        Assert.True(withValue.IsSuccess, withValue.Error?.ToString());
        Assert.Contains("expires_at", Fails(missing).Detail, StringComparison.Ordinal);

        Assert.Null(withNull.Message.ToPayload()["expires_at"]);
        Assert.True(withNull.Message.ToPayload().AsObject().ContainsKey("expires_at"));
        Assert.Equal(1735689600L, withValue.Message.ToPayload()["expires_at"]!.GetValue<long>());
    }

    [Fact]
    public void Absent_optionals_are_serialised_as_null()
    {
        var resource = new DnsResource(new ResourceId(Guid.Parse(Id1)), "a.example", "A", null, []);
        Assert.True(new ResourceCreatedOrUpdated(resource).ToPayload().AsObject().TryGetPropertyValue("address_description", out var description));
        Assert.Null(description);

        var request = new RequestConnection(new GatewayId(Guid.Parse(Id2)), new ResourceId(Guid.Parse(Id1)), Key.Parse(Key1), new Credentials("u", "p"), null);
        Assert.True(request.ToPayload()["client_payload"]!.AsObject().TryGetPropertyValue("domain", out var domain));
        Assert.Null(domain);

        var reuse = new ReuseConnection(new ResourceId(Guid.Parse(Id1)), new GatewayId(Guid.Parse(Id2)), null);
        SameJson($$"""{"resource_id":"{{Id1}}","gateway_id":"{{Id2}}","payload":null}""", reuse.ToPayload());
    }

    [Fact]
    public void Absent_optionals_decode_as_null_and_lists_default_to_empty()
    {
        var init = Decodes<ClientInit>(PortalMessages.DecodeClientPush("init", Json($$"""{"interface":{{Interface}}}""")));
        Assert.Empty(init.Resources);
        Assert.Empty(init.Relays);
        Assert.Empty(init.Interface.UpstreamDns);
        var gatewayInit = Decodes<GatewayInit>(PortalMessages.DecodeGatewayPush(
            "init", Json($$"""{"interface":{{Interface}},"config":{"ipv4_masquerade_enabled":true,"ipv6_masquerade_enabled":false} }""")));
        Assert.Empty(gatewayInit.Relays);
        Assert.True(gatewayInit.Ipv4MasqueradeEnabled);
        Fails(PortalMessages.DecodeGatewayPush("init", Json($$"""{"interface":{{Interface}}}""")));

        var reuse = Decodes<ReuseConnection>(PortalMessages.DecodeFromClient("reuse_connection", Json($$"""{"resource_id":"{{Id1}}","gateway_id":"{{Id2}}"}""")));
        Assert.Null(reuse.Payload);
        var peer = Decodes<GatewayRequestConnection>(PortalMessages.DecodeGatewayPush("request_connection", Json(RequestConnection())));
        Assert.Null(peer.Peer.PersistentKeepalive);
        Assert.Null(peer.Domain);
    }

    [Fact]
    public void A_list_given_as_null_is_rejected_rather_than_defaulted()
    {
        Fails(PortalMessages.DecodeClientPush("init", Json($$"""{"interface":{{Interface}},"resources":null}""")));
        Fails(PortalMessages.DecodeClientPush("ice_candidates", Json($$"""{"gateway_id":"{{Id1}}","candidates":["a",null]}""")));
    }

    [Theory]
    [InlineData("0B6C5A1E-3F0E-4C55-9A55-6E7B1C3D2A10")]
    [InlineData("0b6c5a1e3f0e4c559a556e7b1c3d2a10")]
    [InlineData("{0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10}")]
    [InlineData("urn:uuid:0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10")]
    public void Ids_are_parsed_leniently_and_emitted_lowercase_hyphenated(string text)
    {
        var m = Decodes<ResourceDeleted>(PortalMessages.DecodeClientPush("resource_deleted", Json($"\"{text}\"")));
        Assert.Equal(new ResourceId(Guid.Parse(Id1)), m.Id);
        Assert.Equal(Id1, m.ToPayload().GetValue<string>());
    }

    [Theory]
    [InlineData("\" 0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10\"")]
    [InlineData("\"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a1\"")]
    [InlineData("\"(0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10)\"")]
    [InlineData("{\"id\":\"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10\"}")]
    [InlineData("42")]
    public void Resource_deleted_is_a_bare_id_string(string payload) =>
        Fails(PortalMessages.DecodeClientPush("resource_deleted", Json(payload)));

    [Fact]
    public void Timestamps_are_unix_seconds_exposed_as_DateTimeOffset()
    {
        var m = Decodes<AllowAccess>(PortalMessages.DecodeGatewayPush("allow_access", Json(AllowAccess("\"expires_at\":1735689600,"))));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), m.ExpiresAt);
        Fails(PortalMessages.DecodeGatewayPush("allow_access", Json(AllowAccess("\"expires_at\":1735689600.5,"))));
        Fails(PortalMessages.DecodeGatewayPush("allow_access", Json(AllowAccess("\"expires_at\":\"1735689600\","))));
        Fails(PortalMessages.DecodeGatewayPush("allow_access", Json(AllowAccess("\"expires_at\":9223372036854775807,"))));
    }

    [Theory]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("2001:db8::1/64")]
    [InlineData("10.0.0.0")]
    public void Cidr_with_host_bits_set_or_a_bad_prefix_is_rejected(string address) =>
        Fails(PortalMessages.DecodeGatewayPush("resource_updated", Json(GatewayCidr.Replace("10.0.0.0/8", address, StringComparison.Ordinal))));

    [Theory]
    [InlineData("198.18.0.1:3478", true)]
    [InlineData("[2001:2::1]:3478", true)]
    [InlineData("2001:2::1:3478", false)]
    [InlineData("198.18.0.1", false)]
    [InlineData("198.18.0.1:65536", false)]
    [InlineData("relay.example:3478", false)]
    [InlineData("[198.18.0.1]:3478", false)]
    public void Socket_addresses_are_ipv4_colon_port_or_bracketed_ipv6_colon_port(string addr, bool valid)
    {
        var decoded = PortalMessages.DecodeClientPush("init", Json($$"""{"interface":{{Interface}},"relays":[{{Turn.Replace("198.18.0.1:3478", addr, StringComparison.Ordinal)}}]}"""));
        Assert.Equal(valid, decoded.IsSuccess);
        if (valid)
        {
            Assert.Equal(addr, decoded.Message!.ToPayload()["relays"]![0]!["addr"]!.GetValue<string>());
        }
    }

    [Fact]
    public void Interface_addresses_must_be_of_their_family()
    {
        Fails(PortalMessages.DecodeClientPush("config_changed", Json("""{"interface":{"ipv4":"fd00::1","ipv6":"fd00:2021:1111::1"}}""")));
        Fails(PortalMessages.DecodeClientPush("config_changed", Json("""{"interface":{"ipv4":"100.64.0.1","ipv6":"100.64.0.2"}}""")));
    }

    [Fact]
    public void Keys_that_are_not_padded_base64_of_32_bytes_fail_the_message()
    {
        Decodes<AuthorizeFlow>(PortalMessages.DecodeGatewayPush("authorize_flow", Json(AuthorizeFlow())));
        Fails(PortalMessages.DecodeGatewayPush("authorize_flow", Json(AuthorizeFlow().Replace(Key1, Key1.TrimEnd('='), StringComparison.Ordinal))));
        Fails(PortalMessages.DecodeGatewayPush("authorize_flow", Json(AuthorizeFlow().Replace(Key1, Convert.ToBase64String(new byte[31]), StringComparison.Ordinal))));
    }

    [Fact]
    public void Unknown_events_are_reported_as_such()
    {
        Assert.Equal("create_flow", Fails(PortalMessages.DecodeClientPush("create_flow", Json("{}")), MessageErrorKind.UnknownEvent).Event);
        Fails(PortalMessages.DecodeGatewayPush("resource_created_or_updated", Json("{}")), MessageErrorKind.UnknownEvent);
        Fails(PortalMessages.DecodeRelayPush("relays_presence", Json("{}")), MessageErrorKind.UnknownEvent);
        Fails(PortalMessages.DecodeFromClient("flow_authorized", Json("{}")), MessageErrorKind.UnknownEvent);
        Fails(PortalMessages.DecodeFromGateway("prepare_connection", Json("{}")), MessageErrorKind.UnknownEvent);
        Fails(PortalMessages.DecodePush("nope", "init", Json("{}")), MessageErrorKind.UnknownEvent);
        Assert.Contains("unknown event 'create_flow'", PortalMessages.DecodeClientPush("create_flow", Json("{}")).Error!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Gateway_response_is_externally_tagged_with_exactly_one_PascalCase_key()
    {
        string Connect(string payload) => $$"""{"resource_id":"{{Id1}}","gateway_public_key":"{{Key1}}","persistent_keepalive":25,"gateway_payload":{{payload}}}""";
        var resource = Decodes<Connect>(PortalMessages.DecodeClientReply(Json(Connect("""{"ResourceAccepted":{"domain_response":{"domain":"a.example","address":["198.18.0.7"]}}}"""))));
        Assert.Equal(new ResourceAccepted("a.example", [IPAddress.Parse("198.18.0.7")]).Addresses, Assert.IsType<ResourceAccepted>(resource.GatewayPayload).Addresses);
        Fails(PortalMessages.DecodeClientReply(Json(Connect("""{"connection_accepted":{"ice_parameters":{"username":"a","password":"b"}}}"""))));
        Fails(PortalMessages.DecodeClientReply(Json(Connect("""{"ConnectionAccepted":{"ice_parameters":{"username":"a","password":"b"}},"Extra":{}}"""))));
        Fails(PortalMessages.DecodeClientReply(Json(Connect("{}"))));
    }

    [Fact]
    public void Replies_try_connection_details_before_connect_and_the_first_match_wins()
    {
        var both = Json($$"""
            {"resource_id":"{{Id1}}","gateway_id":"{{Id2}}","gateway_remote_ip":"198.18.0.7","gateway_group_id":"{{Id2}}",
             "gateway_public_key":"{{Key1}}","persistent_keepalive":25,"gateway_payload":{"ConnectionAccepted":{"ice_parameters":{"username":"a","password":"b"} } } }
            """);
        Decodes<ConnectionDetails>(PortalMessages.DecodeClientReply(both));

        // A bad ConnectionDetails field makes it a Connect.
        var connect = Json($$"""
            {"resource_id":"{{Id1}}","gateway_id":"{{Id2}}","gateway_remote_ip":"not an ip","gateway_group_id":"{{Id2}}",
             "gateway_public_key":"{{Key1}}","persistent_keepalive":25,"gateway_payload":{"ConnectionAccepted":{"ice_parameters":{"username":"a","password":"b"} } } }
            """);
        Decodes<Connect>(PortalMessages.DecodeClientReply(connect));
        Fails(PortalMessages.DecodeClientReply(Json("{}")));
    }

    [Fact]
    public void Prepare_connection_sends_gateway_ids_sorted_ascending_in_uuid_order()
    {
        var ids = new[] { "ff000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000001", "80000000-0000-4000-8000-000000000000" }
            .Select(s => new GatewayId(Guid.Parse(s))).ToArray();
        var payload = new PrepareConnection(new ResourceId(Guid.Parse(Id1)), ids).ToPayload();
        Assert.Equal(
            ["00000000-0000-4000-8000-000000000001", "80000000-0000-4000-8000-000000000000", "ff000000-0000-4000-8000-000000000000"],
            payload["connected_gateway_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public void Broadcast_candidates_go_out_sorted_and_unique()
    {
        string[] candidates = ["candidate:2 1 udp 1 198.18.0.2 9 typ host", "candidate:1 1 udp 1 198.18.0.1 9 typ host", "candidate:2 1 udp 1 198.18.0.2 9 typ host"];
        string[] expected = [candidates[1], candidates[0]];
        var client = new IceCandidatesForGateways([new GatewayId(Guid.Parse(Id2))], candidates, Invalidated: true);
        Assert.Equal("broadcast_invalidated_ice_candidates", client.Event);
        Assert.Equal(expected, client.ToPayload()["candidates"]!.AsArray().Select(n => n!.GetValue<string>()));
        var gateway = new IceCandidatesForClients([new ClientId(Guid.Parse(Id2))], candidates);
        Assert.Equal("broadcast_ice_candidates", gateway.Event);
        Assert.Equal(expected, gateway.ToPayload()["candidates"]!.AsArray().Select(n => n!.GetValue<string>()));
        SameJson($$"""{"client_ids":["{{Id2}}"],"candidates":["{{expected[0]}}","{{expected[1]}}"]}""", gateway.ToPayload());
    }

    [Fact]
    public void Resolve_request_names_drop_one_trailing_dot_and_bad_names_fail()
    {
        string Reuse(string name) => $$"""{"resource_id":"{{Id1}}","gateway_id":"{{Id2}}","payload":{"name":"{{name}}","proxy_ips":["100.96.0.1","fd00:2021:1111:8000::1"]} }""";
        var m = Decodes<ReuseConnection>(PortalMessages.DecodeFromClient("reuse_connection", Json(Reuse("app.corp.example."))));
        Assert.Equal("app.corp.example", m.Payload!.Name);
        Assert.Equal([IPAddress.Parse("100.96.0.1"), IPAddress.Parse("fd00:2021:1111:8000::1")], m.Payload.ProxyIps);
        Fails(PortalMessages.DecodeFromClient("reuse_connection", Json(Reuse("a..b"))));
        Fails(PortalMessages.DecodeFromClient("reuse_connection", Json(Reuse(""))));
    }

    [Fact]
    public void Decoders_fail_on_a_default_json_element_instead_of_throwing() =>
        Fails(PortalMessages.DecodeGatewayPush("init", default));

    [Fact]
    public void Messages_carrying_a_preshared_key_leave_it_out_of_ToString()
    {
        var psk = Key.Parse("p6m1Zr4qS8vT0wX2yA5bC7dE9fG1hJ3kL5mN7pQ9rS0=");
        var request = new RequestConnection(new GatewayId(Guid.Parse(Id2)), new ResourceId(Guid.Parse(Id1)), psk, new Credentials("u", "secret-pw"), null);
        Assert.DoesNotContain(psk.ToString(), request.ToString(), StringComparison.Ordinal);
        var peer = new ClientPeer(25, Key.Parse(Key1), psk, IPAddress.Parse("100.64.0.2"), IPAddress.Parse("fd00:2021:1111::2"));
        Assert.DoesNotContain(psk.ToString(), peer.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("ab", RelayJoin.FromSecret(new byte[] { 0xab }).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Payload_bytes_are_the_utf8_of_the_payload_node()
    {
        var m = new FlowAuthorized("x\"y");
        Assert.Equal(m.ToPayload().ToJsonString(), System.Text.Encoding.UTF8.GetString(m.ToUtf8Bytes()));
        Assert.Equal("x\"y", JsonNode.Parse(m.ToUtf8Bytes())!["ref"]!.GetValue<string>());
    }
}
