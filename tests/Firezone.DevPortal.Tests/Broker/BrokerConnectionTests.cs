using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using static Firezone.DevPortal.Tests.Broker.BrokerHarness;
using static Firezone.DevPortal.Tests.Broker.TestConfigs;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>Brokering (phoenix-and-portal.md §7.2–§7.3, §8): prepare, request/reuse, connection_ready, candidates, timeouts, errors.</summary>
public sealed class BrokerConnectionTests
{
    private static readonly Credentials ClientIce = new("cl1e", "client-ice-password-0001");
    private static readonly Credentials GatewayIce = new("gw1e", "gateway-ice-password-001");

    [Fact]
    public void Prepare_connection_replies_connection_details_naming_an_online_gateway_of_a_site_serving_the_resource()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        h.JoinGateway("lab-gw"); // online but its site does not serve LAN
        h.JoinGateway("hq-gw2");
        h.Drain();
        h.Send(client, new PrepareConnection(Lan.Id, []), 5);
        var reply = Assert.Single(h.Drain());
        Assert.Equal((client, 5ul), (reply.Session, reply.Ref));
        var details = Assert.IsType<ConnectionDetails>(ClientReply(reply));
        Assert.Equal((Lan.Id, HqGateway2.Id, Hq.Id), (details.ResourceId, details.GatewayId, details.SiteId));
        Assert.Equal(IPAddress.Parse("198.18.0.1"), details.GatewayRemoteIp);
    }

    [Fact]
    public void Prepare_connection_prefers_a_gateway_the_client_is_connected_to_already()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        h.JoinGateway("hq-gw");
        h.JoinGateway("hq-gw2");
        h.Drain();
        h.Send(client, new PrepareConnection(Lan.Id, []), 1);
        h.Send(client, new PrepareConnection(Lan.Id, [HqGateway2.Id]), 2);
        var replies = h.Drain();
        Assert.Equal(HqGateway.Id, Assert.IsType<ConnectionDetails>(ClientReply(replies[0])).GatewayId);
        Assert.Equal(HqGateway2.Id, Assert.IsType<ConnectionDetails>(ClientReply(replies[1])).GatewayId);
    }

    [Fact]
    public void Prepare_connection_with_no_gateway_online_replies_offline_and_an_unknown_or_forbidden_resource_not_found()
    {
        var h = new BrokerHarness(TestConfig());
        long alice = h.JoinClient("alice");
        long bob = h.JoinClient("bob");
        h.JoinGateway("lab-gw");
        h.Drain();
        h.Send(alice, new PrepareConnection(Lan.Id, []), 1);
        h.Send(alice, new PrepareConnection(new ResourceId(Guid.NewGuid()), []), 2);
        h.Send(bob, new PrepareConnection(Web.Id, []), 3); // bob may use LAN only
        var replies = h.Drain();
        Assert.Equal(["offline", "not_found", "not_found"], replies.Select(ErrorReason));
        Assert.Equal([1ul, 2ul, 3ul], replies.Select(r => r.Ref!.Value));
    }

    [Fact]
    public void Request_connection_becomes_the_gateways_request_connection_and_connection_ready_the_clients_connect_reply()
    {
        var h = new BrokerHarness(TestConfig());
        var clientKey = NewKey();
        var gatewayKey = NewKey();
        var psk = NewKey();
        long client = h.JoinClient("alice", clientKey);
        long gateway = h.JoinGateway("hq-gw", gatewayKey);
        h.Drain();

        var domain = new ResolveRequest("app.corp.example", [IPAddress.Parse("100.96.0.1"), IPAddress.Parse("fd00:2021:1111:8000::1")]);
        h.Send(client, new RequestConnection(HqGateway.Id, Web.Id, psk, ClientIce, domain), 9);
        var sent = h.Drain();
        Assert.Empty(Replies(sent, client)); // the client waits for the gateway
        var request = Assert.IsType<GatewayRequestConnection>(Assert.Single(Pushes(sent, gateway)));
        Assert.Equal((Alice.Id, ClientIce, domain), (request.ClientId, request.IceParameters, request.Domain));
        var resource = Assert.IsType<GatewayDnsResource>(request.Resource);
        Assert.Equal((Web.Id, "*.corp.example", "Web"), (resource.Id, resource.Address, resource.Name));
        var (v4, v6) = h.Broker.AddressesOf(Alice);
        Assert.Equal((clientKey, psk, v4, v6, (ulong?)25), (request.Peer.PublicKey, request.Peer.PresharedKey, request.Peer.IPv4, request.Peer.IPv6, request.Peer.PersistentKeepalive));
        Assert.Null(request.ExpiresAt);

        h.Send(gateway, new ConnectionReady(request.Ref, new ConnectionAccepted(GatewayIce)), 4);
        sent = h.Drain();
        Assert.Equal("{\"status\":\"ok\",\"response\":{}}", Assert.Single(Replies(sent, gateway)).Payload!.ToJsonString());
        var reply = Assert.Single(Replies(sent, client));
        Assert.Equal(9ul, reply.Ref);
        var connect = Assert.IsType<Connect>(ClientReply(reply));
        Assert.Equal((Web.Id, gatewayKey, 25ul), (connect.ResourceId, connect.GatewayPublicKey, connect.PersistentKeepalive));
        Assert.Equal(GatewayIce, Assert.IsType<ConnectionAccepted>(connect.GatewayPayload).IceParameters);
        Assert.Null(h.Broker.PollTimeout());
    }

    [Fact]
    public void Request_connection_to_an_offline_gateway_or_one_whose_site_does_not_serve_the_resource_replies_offline()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        h.JoinGateway("lab-gw");
        h.Drain();
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), 1);
        h.Send(client, new RequestConnection(LabGateway.Id, Lan.Id, NewKey(), ClientIce, null), 2);
        Assert.Equal(["offline", "offline"], h.Drain().Select(ErrorReason));
    }

    [Fact]
    public void Reuse_connection_pushes_allow_access_to_the_gateway_and_no_reply_as_upstream()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Drain();
        var domain = new ResolveRequest("b.corp.example", [IPAddress.Parse("100.96.0.2")]);
        h.Send(client, new ReuseConnection(Web.Id, HqGateway.Id, domain), 3);
        var sent = h.Drain();
        Assert.Empty(Replies(sent, client));
        var allow = Assert.IsType<AllowAccess>(Assert.Single(Pushes(sent, gateway)));
        Assert.Equal((Alice.Id, Web.Id, domain, h.Broker.AddressesOf(Alice).IPv4), (allow.ClientId, allow.Resource.Id, allow.Payload, allow.ClientIPv4));
        Assert.False(string.IsNullOrEmpty(allow.Ref));
    }

    [Fact]
    public void Ice_candidates_and_invalidated_candidates_are_relayed_to_the_other_side_with_the_senders_id()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        long other = h.JoinGateway("lab-gw");
        h.Drain();
        string[] candidates = ["candidate:1 1 udp 2130706431 198.18.3.1 5000 typ host", "candidate:2 1 udp 1694498815 198.18.4.1 6000 typ srflx"];

        h.Send(client, new IceCandidatesForGateways([HqGateway.Id], candidates), 1);
        h.Send(client, new IceCandidatesForGateways([HqGateway.Id], [candidates[0]], Invalidated: true), 2);
        h.Send(gateway, new IceCandidatesForClients([Alice.Id], candidates), 3);
        h.Send(gateway, new IceCandidatesForClients([Alice.Id], [candidates[1]], Invalidated: true), 4);
        var sent = h.Drain();

        var toGateway = Pushes(sent, gateway).Cast<IceCandidatesFromClient>().ToList();
        Assert.Equal([(Alice.Id, false), (Alice.Id, true)], toGateway.Select(c => (c.ClientId, c.Invalidated)));
        Assert.Equal(candidates.Order(StringComparer.Ordinal), toGateway[0].Candidates);
        Assert.Equal([candidates[0]], toGateway[1].Candidates);
        var toClient = Pushes(sent, client).Cast<IceCandidatesFromGateway>().ToList();
        Assert.Equal([(HqGateway.Id, false), (HqGateway.Id, true)], toClient.Select(c => (c.GatewayId, c.Invalidated)));
        Assert.Equal([candidates[1]], toClient[1].Candidates);
        Assert.DoesNotContain(sent, t => t.Session == other);
    }

    [Fact]
    public void A_gateway_that_never_answers_makes_the_request_fail_with_offline_after_the_answer_timeout_and_not_before()
    {
        var h = new BrokerHarness(TestConfig(answerTimeout: TimeSpan.FromSeconds(3)));
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Drain();
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), 7);
        var request = Assert.IsType<GatewayRequestConnection>(Assert.Single(Pushes(h.Drain(), gateway)));
        Assert.Equal(h.Now + TimeSpan.FromSeconds(3), h.Broker.PollTimeout());

        h.Broker.HandleTimeout(h.Now + TimeSpan.FromSeconds(2.9));
        Assert.Empty(h.Drain());
        h.Broker.HandleTimeout(h.Now + TimeSpan.FromSeconds(3));
        var reply = Assert.Single(h.Drain());
        Assert.Equal((client, 7ul, "offline"), (reply.Session, reply.Ref, ErrorReason(reply)));
        Assert.Null(h.Broker.PollTimeout());

        // A late answer is refused and reaches nobody.
        h.Send(gateway, new ConnectionReady(request.Ref, new ConnectionAccepted(GatewayIce)), 8);
        var late = Assert.Single(h.Drain());
        Assert.Equal((gateway, "invalid_ref"), (late.Session, ErrorReason(late)));
    }

    [Fact]
    public void A_gateway_leaving_with_requests_pending_makes_them_fail_with_offline_at_once()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Drain();
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), 7);
        h.Drain();
        h.Broker.Leave(gateway, Wall);
        var reply = Assert.Single(h.Drain());
        Assert.Equal((client, 7ul, "offline"), (reply.Session, reply.Ref, ErrorReason(reply)));
        Assert.Empty(h.Broker.OnlineGateways);
    }

    [Fact]
    public void A_client_leaving_disturbs_nobody_and_a_late_connection_ready_for_it_is_refused()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        long bob = h.JoinClient("bob");
        h.Drain();
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), 7);
        var request = Assert.IsType<GatewayRequestConnection>(Assert.Single(Pushes(h.Drain(), gateway)));
        h.Broker.Leave(client, Wall);
        Assert.Empty(h.Drain());
        Assert.Null(h.Broker.PollTimeout());
        h.Send(gateway, new ConnectionReady(request.Ref, new ConnectionAccepted(GatewayIce)), 1);
        var late = Assert.Single(h.Drain());
        Assert.Equal((gateway, "invalid_ref"), (late.Session, ErrorReason(late)));

        // Bob's brokering still works.
        h.Send(bob, new PrepareConnection(Lan.Id, []), 2);
        Assert.IsType<ConnectionDetails>(ClientReply(Assert.Single(h.Drain())));
    }

    [Theory]
    [InlineData("prepare_connection", "{\"resource_id\":\"not-a-uuid\",\"connected_gateway_ids\":[]}", "invalid payload")]
    [InlineData("prepare_connection", "{\"connected_gateway_ids\":[]}", "invalid payload")]
    [InlineData("request_connection", "{\"gateway_id\":\"5f1d9c2e-8a47-4b0e-b0a4-2c9f6f3e7d21\"}", "invalid payload")]
    [InlineData("fly_me_to_the_moon", "{}", "unknown event 'fly_me_to_the_moon'")]
    [InlineData("broadcast_ice_candidates", "[]", "invalid payload")]
    public void A_malformed_client_message_gets_an_error_reply_with_the_reason_and_disturbs_nothing_else(string @event, string payload, string reason)
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Drain();
        h.Broker.Message(client, "client", @event, System.Text.Json.JsonDocument.Parse(payload).RootElement, 11, h.Now);
        var reply = Assert.Single(h.Drain());
        Assert.Equal((client, 11ul), (reply.Session, reply.Ref));
        Assert.StartsWith(reason, ErrorReason(reply), StringComparison.Ordinal);

        h.Send(client, new PrepareConnection(Lan.Id, []), 12);
        Assert.IsType<ConnectionDetails>(ClientReply(Assert.Single(h.Drain())));
        Assert.Equal([Alice.Id], h.Broker.OnlineClients);
        Assert.Equal([HqGateway.Id], h.Broker.OnlineGateways);
        _ = gateway;
    }

    [Fact]
    public void A_message_on_a_session_or_topic_that_has_not_joined_is_answered_unmatched_topic_on_that_topic()
    {
        var h = new BrokerHarness(TestConfig());
        h.Send(42, new PrepareConnection(Lan.Id, []), 1);
        var replies = h.Drain();
        long client = h.JoinClient("alice");
        h.Drain();
        h.Send(client, new PrepareConnection(Lan.Id, []), 2, topic: "gateway");
        replies.AddRange(h.Drain());
        Assert.Equal(["unmatched topic", "unmatched topic"], replies.Select(ErrorReason));
        Assert.Equal(["client", "gateway"], replies.Select(r => r.Topic));
    }

    [Fact]
    public void Pending_requests_are_capped_and_beyond_the_cap_a_request_gets_retry_later()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        h.JoinGateway("hq-gw");
        h.Drain();
        for (int i = 0; i < Firezone.DevPortal.Broker.DevPortalBroker.MaxPendingConnections; i++)
        {
            h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), (ulong)i);
        }

        Assert.DoesNotContain(h.Drain(), t => t.Event == "phx_reply");
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), 99999);
        Assert.Equal("retry_later", ErrorReason(Assert.Single(h.Drain())));
    }

    [Fact]
    public void A_gateway_leaving_without_pending_requests_sends_nothing_to_clients()
    {
        var h = new BrokerHarness(TestConfig());
        h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Drain();
        h.Broker.Leave(gateway, Wall);
        Assert.Empty(h.Drain());
        Assert.Empty(h.Broker.OnlineGateways);
    }

    [Fact]
    public void A_second_socket_with_the_same_client_token_replaces_the_first_and_the_old_socket_ending_changes_nothing()
    {
        var h = new BrokerHarness(TestConfig());
        long first = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        long second = h.JoinClient("alice");
        h.Drain();
        h.Broker.Leave(first, Wall);
        Assert.Equal([Alice.Id], h.Broker.OnlineClients);

        // Candidates from the gateway reach the new socket only.
        h.Send(gateway, new IceCandidatesForClients([Alice.Id], ["candidate:1 1 udp 1 198.18.3.1 1 typ host"]), 1);
        Assert.Equal(second, Assert.Single(h.Drain()).Session);

        // The old socket is no longer joined.
        h.Send(first, new PrepareConnection(Lan.Id, []), 2);
        Assert.Equal("unmatched topic", ErrorReason(Assert.Single(h.Drain())));
    }

    [Fact]
    public void Events_report_joins_brokering_failures_and_leaves_in_order()
    {
        var h = new BrokerHarness(TestConfig(answerTimeout: TimeSpan.FromSeconds(1)));
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Send(client, new PrepareConnection(Lan.Id, []), 1);
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), ClientIce, null), 2);
        var request = Pushes(h.Drain(), gateway).OfType<GatewayRequestConnection>().Single();
        h.Send(gateway, new ConnectionReady(request.Ref, new ConnectionAccepted(GatewayIce)), 3);
        h.Send(client, new RequestConnection(HqGateway.Id, Web.Id, NewKey(), ClientIce, null), 4);
        h.Broker.HandleTimeout(h.Now + TimeSpan.FromSeconds(1));
        h.Broker.Leave(gateway, Wall);

        var events = new List<Firezone.DevPortal.Broker.BrokerEvent>();
        while (h.Broker.PollEvent(out var e)) events.Add(e);
        Assert.Equal(
            [
                Firezone.DevPortal.Broker.BrokerEventKind.ClientJoined, Firezone.DevPortal.Broker.BrokerEventKind.GatewayJoined,
                Firezone.DevPortal.Broker.BrokerEventKind.ConnectionPrepared, Firezone.DevPortal.Broker.BrokerEventKind.ConnectionRequested,
                Firezone.DevPortal.Broker.BrokerEventKind.ConnectionReady, Firezone.DevPortal.Broker.BrokerEventKind.ConnectionRequested,
                Firezone.DevPortal.Broker.BrokerEventKind.ConnectionFailed, Firezone.DevPortal.Broker.BrokerEventKind.GatewayLeft,
            ],
            events.Select(e => e.Kind));
        Assert.Equal((Alice.Id.Value, HqGateway.Id.Value, Lan.Id.Value), (events[4].Peer, events[4].Other!.Value, events[4].Resource!.Value));
        Assert.Contains("did not answer", events[6].Detail, StringComparison.Ordinal);
    }
}
