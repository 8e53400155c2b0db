using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>Connection intents and setup: tunnel spec §4.4 steps 2–4, §4.5, §11.1, §11.2, §11.12, §11.13.</summary>
public sealed class ClientConnectionSetupTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1);

    private static ClientState WithCidr()
    {
        var client = NewClient(T0);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, []));
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        Drain(client);
        return client;
    }

    [Fact]
    public void The_packet_that_triggers_an_intent_is_dropped_and_the_intent_names_the_resource()
    {
        var client = WithCidr();
        var result = Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        Assert.Equal(EncapsulateStatus.Nothing, result.Status);
        var intent = Drain(client).OfType<ConnectionIntent>().Single();
        Assert.Equal(Rid(1), intent.Resource);
        Assert.Empty(intent.ConnectedGatewayIds);
    }

    [Fact]
    public void Intents_are_debounced_per_resource_for_two_seconds()
    {
        var client = WithCidr();
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        Drain(client);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0 + TimeSpan.FromSeconds(1.9));
        Send(client, Udp(IPAddress.Parse("198.19.2.3")), T0 + TimeSpan.FromSeconds(1.9));
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0 + TimeSpan.FromSeconds(2));
        Assert.Equal([Rid(1), Rid(2), Rid(1)], Drain(client).OfType<ConnectionIntent>().Select(i => i.Resource));
    }

    [Fact]
    public void Multicast_to_igmp_and_all_routers_is_never_a_resource()
    {
        var client = WithCidr();
        client.AddResource(Internet(9), T0);
        Drain(client);
        Send(client, Udp(IPAddress.Parse("224.0.0.22")), T0);
        Send(client, Udp(IPAddress.Parse("ff02::2")), T0);
        Assert.Empty(Drain(client).OfType<ConnectionIntent>());
    }

    [Fact]
    public void Routing_details_for_a_new_gateway_request_a_connection_with_an_offer()
    {
        var client = WithCidr();
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        Drain(client);
        Assert.Equal(RoutingResult.Ok, client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0));
        var request = Drain(client).OfType<RequestConnection>().Single();
        Assert.Equal((Gid(1), Rid(1)), (request.Gateway, request.Resource));
        Assert.Equal(32, request.Offer.SessionKey.Length);
        Assert.Null(request.Domain);
    }

    [Fact]
    public void Routing_details_while_an_offer_to_that_gateway_is_outstanding_are_ignored_and_the_intent_stays()
    {
        var client = WithCidr();
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        Send(client, Udp(IPAddress.Parse("198.19.2.3")), T0);
        client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0);
        Drain(client);
        Assert.Equal(RoutingResult.Ok, client.OnRoutingDetails(Rid(2), Gid(1), SiteOf(1).Id, T0));
        Assert.Empty(Drain(client).OfType<RequestConnection>());
        // The intent for resource 2 is still waiting: a packet 2 s later re-sends it.
        Send(client, Udp(IPAddress.Parse("198.19.2.3")), T0 + TimeSpan.FromSeconds(2));
        Assert.Equal(Rid(2), Drain(client).OfType<ConnectionIntent>().Single().Resource);
    }

    [Fact]
    public void No_intent_is_sent_while_the_resources_gateway_has_an_outstanding_offer()
    {
        var client = WithCidr();
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0);
        Drain(client);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0 + TimeSpan.FromSeconds(5));
        Assert.Empty(Drain(client).OfType<ConnectionIntent>());
    }

    [Fact]
    public void Routing_details_without_an_intent_or_for_an_unknown_resource_are_errors()
    {
        var client = WithCidr();
        Assert.Equal(RoutingResult.NoPendingIntent, client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0));
        Assert.Equal(RoutingResult.UnknownResource, client.OnRoutingDetails(Rid(77), Gid(1), SiteOf(1).Id, T0));
    }

    [Fact]
    public void Without_a_relay_routing_details_report_no_turn_servers()
    {
        var client = NewClient(T0, withRelay: false);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, []));
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        Assert.Equal(RoutingResult.NoTurnServers, client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0));
    }

    [Fact]
    public void A_second_resource_on_a_connected_gateway_requests_access_instead_of_a_connection()
    {
        var client = WithCidr();
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0);
        // The offer is answered (a real gateway would; here a fake answer is enough to leave "expecting answer").
        client.AcceptAnswer(Rid(1), SomeGatewayKey(), SomeAnswer, T0);
        Drain(client);
        Send(client, Udp(IPAddress.Parse("198.19.2.3")), T0);
        Drain(client);
        Assert.Equal(RoutingResult.Ok, client.OnRoutingDetails(Rid(2), Gid(1), SiteOf(1).Id, T0));
        var access = Drain(client).OfType<RequestAccess>().Single();
        Assert.Equal((Rid(2), Gid(1)), (access.Resource, access.Gateway));
    }

    [Fact]
    public void Connected_gateway_ids_are_sent_sorted_not_in_most_recently_used_order()
    {
        var client = WithCidr();
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        client.AddResource(Cidr(3, "198.19.3.0/24"), T0);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        client.OnRoutingDetails(Rid(1), Gid(5), SiteOf(1).Id, T0);
        Send(client, Udp(IPAddress.Parse("198.19.2.3")), T0);
        client.OnRoutingDetails(Rid(2), Gid(3), SiteOf(1).Id, T0);
        Drain(client);
        Send(client, Udp(IPAddress.Parse("198.19.3.3")), T0);
        Assert.Equal([Gid(3), Gid(5)], Drain(client).OfType<ConnectionIntent>().Single().ConnectedGatewayIds);
    }

    [Fact]
    public void Removing_the_last_resource_of_a_gateway_removes_its_peer_and_a_new_packet_asks_again()
    {
        var client = WithCidr();
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0);
        client.AcceptAnswer(Rid(1), SomeGatewayKey(), SomeAnswer, T0);
        client.RemoveResource(Rid(1), T0);
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        Drain(client);
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0 + TimeSpan.FromSeconds(3));
        Assert.Equal(Rid(1), Drain(client).OfType<ConnectionIntent>().Single().Resource);
    }

    [Theory]
    [InlineData(32)] // all zeros: a low-order point
    [InlineData(31)]
    public void An_invalid_gateway_key_is_refused_without_an_exception(int length)
    {
        var client = WithCidr();
        Send(client, Udp(IPAddress.Parse("198.19.1.3")), T0);
        client.OnRoutingDetails(Rid(1), Gid(1), SiteOf(1).Id, T0);
        Assert.False(client.AcceptAnswer(Rid(1), new byte[length], SomeAnswer, T0));
    }
}
