using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;
using Firezone.Snownet;
using static Firezone.DevPortal.Tests.Broker.BrokerHarness;
using static Firezone.DevPortal.Tests.Broker.TestConfigs;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>Config changes pushed to online peers: resource diffs to clients, access changes to gateways.</summary>
public sealed class BrokerConfigReloadTests
{
    private static readonly Credentials Ice = new("abcd", "0123456789abcdefghijkl");

    private static (BrokerHarness H, long Client, long Gateway) Connected()
    {
        var h = new BrokerHarness(TestConfig());
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        h.Send(client, new RequestConnection(HqGateway.Id, Lan.Id, NewKey(), Ice, null), 1);
        var request = Pushes(h.Drain(), gateway).OfType<GatewayRequestConnection>().Single();
        h.Send(gateway, new ConnectionReady(request.Ref, new ConnectionAccepted(Ice)), 2);
        h.Send(client, new ReuseConnection(Web.Id, HqGateway.Id, null), 3);
        h.Drain();
        return (h, client, gateway);
    }

    [Fact]
    public void Resources_added_changed_and_removed_reach_clients_as_resource_created_or_updated_and_resource_deleted()
    {
        var (h, client, _) = Connected();
        var added = new ResourceConfig(new ResourceId(DevPortalConfig.DerivedId("resource", "new")), ResourceKind.Cidr, "198.18.100.0/24", "New", null, [], [Hq.Id]);
        var config = TestConfig() with { Resources = [Lan with { Name = "LAN renamed" }, Internet, added] };
        h.Broker.ApplyConfig(config);
        var pushes = Pushes(h.Drain(), client);

        Assert.Equal(Web.Id, Assert.IsType<ResourceDeleted>(Assert.Single(pushes.OfType<ResourceDeleted>())).Id);
        var updates = pushes.OfType<ResourceCreatedOrUpdated>().Select(u => u.Resource).ToList();
        Assert.Equal([Lan.Id, added.Id], updates.Select(r => r.Id));
        Assert.Equal("LAN renamed", updates[0].Name);
        Assert.Equal(IPNetwork.Parse("198.18.100.0/24"), Assert.IsType<CidrResource>(updates[1]).Address);
    }

    [Fact]
    public void An_unchanged_config_pushes_nothing()
    {
        var (h, _, _) = Connected();
        h.Broker.ApplyConfig(TestConfig());
        Assert.Empty(h.Drain());
    }

    [Fact]
    public void Access_that_no_longer_holds_is_revoked_with_reject_access_and_changed_filters_reach_the_gateway_as_resource_updated()
    {
        var (h, _, gateway) = Connected();
        // Web no longer served by HQ; LAN gets new filters.
        var config = TestConfig() with { Resources = [Lan with { Filters = [Filter.Udp(53, 53), Filter.Icmp] }, Web with { Sites = [Lab.Id] }, Internet] };
        h.Broker.ApplyConfig(config);
        var pushes = Pushes(h.Drain(), gateway);

        var reject = Assert.Single(pushes.OfType<RejectAccess>());
        Assert.Equal((Alice.Id, Web.Id), (reject.ClientId, reject.ResourceId));
        var updated = Assert.IsType<GatewayCidrResource>(Assert.Single(pushes.OfType<ResourceUpdated>()).Resource);
        Assert.Equal([Filter.Udp(53, 53), Filter.Icmp], updated.Filters);

        // Revoked once: the next reload has nothing left to revoke.
        h.Broker.ApplyConfig(config);
        Assert.Empty(h.Drain());
    }

    [Fact]
    public void A_client_losing_a_resource_gets_it_deleted_and_the_gateway_revokes_its_access()
    {
        var (h, client, gateway) = Connected();
        h.Broker.ApplyConfig(TestConfig() with { Clients = [Alice with { Resources = [Web.Id] }, Bob with { Resources = [Lan.Id] }] });
        var sent = h.Drain();
        Assert.Equal([Lan.Id, Internet.Id], Pushes(sent, client).OfType<ResourceDeleted>().Select(d => d.Id));
        Assert.Equal((Alice.Id, Lan.Id), Pushes(sent, gateway).OfType<RejectAccess>().Select(r => (r.ClientId, r.ResourceId)).Single());
    }

    [Fact]
    public void A_changed_upstream_dns_reaches_clients_as_config_changed()
    {
        var (h, client, _) = Connected();
        h.Broker.ApplyConfig(TestConfig() with { UpstreamDns = [IPEndPoint.Parse("198.18.53.54:5353")] });
        var changed = Assert.IsType<ConfigChanged>(Assert.Single(Pushes(h.Drain(), client)));
        Assert.Equal([IPEndPoint.Parse("198.18.53.54:5353")], changed.Interface.UpstreamDns);
        Assert.Equal(h.Broker.AddressesOf(Alice).IPv4, changed.Interface.IPv4);
    }

    [Fact]
    public void A_client_or_gateway_removed_from_the_config_gets_disconnect_token_expired()
    {
        var (h, client, gateway) = Connected();
        h.Broker.ApplyConfig(TestConfig() with { Clients = [Bob], Gateways = [HqGateway2, LabGateway] });
        var sent = h.Drain();
        foreach (long session in new[] { client, gateway })
        {
            var disconnect = Assert.Single(sent, t => t.Session == session);
            Assert.True(disconnect.ClosesSession);
            Assert.Equal("{\"reason\":\"token_expired\"}", disconnect.Payload!.ToJsonString());
        }

        Assert.Empty(h.Broker.OnlineClients);
        Assert.Empty(h.Broker.OnlineGateways);
    }

    [Fact]
    public void Allocated_tunnel_addresses_survive_a_reload_that_adds_a_client_before_them()
    {
        var h = new BrokerHarness(TestConfig());
        var before = h.Broker.AddressesOf(Bob);
        var carol = new ClientConfig(new ClientId(DevPortalConfig.DerivedId("client", "carol")), "carol");
        h.Broker.ApplyConfig(TestConfig() with { Clients = [carol, Alice, Bob with { Resources = [Lan.Id] }] });
        Assert.Equal(before, h.Broker.AddressesOf(Bob));
        Assert.NotEqual(before, h.Broker.AddressesOf(carol));
    }

    [Fact]
    public void An_invalid_config_is_refused_and_the_old_one_stays()
    {
        var (h, _, _) = Connected();
        var bad = TestConfig() with { Gateways = [HqGateway with { Token = "alice" }] };
        var e = Assert.Throws<DevPortalConfigException>(() => h.Broker.ApplyConfig(bad));
        Assert.Equal("$.clients[0].token", e.JsonPath);
        Assert.Same(h.Broker.Config.Gateways, h.Broker.Config.Gateways);
        Assert.Equal(3, h.Broker.Config.Gateways.Count);
        Assert.Empty(h.Drain());
    }
}
