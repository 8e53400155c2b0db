using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>Resources, routes and statuses: tunnel spec §4.2, §4.3 (routes), §11.11, §11.14, §11.15; the client.rs tests of §10.</summary>
public sealed class ClientResourceTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1);

    private static ClientState WithInterface()
    {
        var client = NewClient(T0);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, []));
        Drain(client);
        return client;
    }

    [Fact]
    public void Routes_always_hold_the_four_fixed_ranges_and_every_active_cidr_network()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.AddResource(Cidr(2, "2001:2:0:1::/64"), T0);
        var config = client.TunConfig!;
        Assert.Equal(["100.96.0.0/11", "100.100.111.0/24", "198.19.1.0/24"], config.IPv4Routes.Select(r => r.ToString()));
        Assert.Equal(["2001:2:0:1::/64", "fd00:2021:1111:8000::/107", "fd00:2021:1111:8000:100:100:111:0/120"], config.IPv6Routes.Select(r => r.ToString()));
    }

    [Fact]
    public void The_internet_resource_adds_both_default_routes()
    {
        var client = WithInterface();
        client.AddResource(Internet(9), T0);
        Assert.Contains(new IPNetwork(IPAddress.Any, 0), client.TunConfig!.IPv4Routes);
        Assert.Contains(new IPNetwork(IPAddress.IPv6Any, 0), client.TunConfig!.IPv6Routes);
    }

    [Fact]
    public void Added_resources_appear_as_views_with_status_unknown()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        var changed = Drain(client).OfType<ResourcesChanged>().Single();
        Assert.Equal(ResourceStatus.Unknown, changed.Resources.Single().Status);
    }

    [Fact]
    public void Re_adding_a_cidr_resource_with_a_new_address_updates_view_and_routes()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.AddResource(Cidr(1, "198.19.2.0/24"), T0);
        Assert.Equal("198.19.2.0/24", client.Resources.Single().Address);
        Assert.Contains(IPNetwork.Parse("198.19.2.0/24"), client.TunConfig!.IPv4Routes);
        Assert.DoesNotContain(IPNetwork.Parse("198.19.1.0/24"), client.TunConfig!.IPv4Routes);
    }

    [Fact]
    public void A_cidr_resource_with_the_id_of_a_dns_resource_replaces_it()
    {
        var client = WithInterface();
        client.AddResource(DnsRes(1, "*.corp.example"), T0);
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        Assert.IsType<CidrResource>(client.Resources.Single().Resource);
    }

    [Fact]
    public void Re_adding_an_unchanged_resource_or_renaming_it_emits_nothing()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24", name: "a"), T0);
        Drain(client);
        client.AddResource(Cidr(1, "198.19.1.0/24", name: "renamed"), T0);
        Assert.Empty(Drain(client));
        Assert.Equal("renamed", client.Resources.Single().Name);
    }

    [Fact]
    public void Set_resources_replaces_the_whole_set_and_always_emits_resources_changed()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        Drain(client);
        client.SetResources([Cidr(2, "198.19.2.0/24"), Cidr(3, "198.19.3.0/24")], T0);
        Assert.Equal([Rid(2), Rid(3)], client.Resources.Select(r => r.Id).Order());
        Assert.DoesNotContain(IPNetwork.Parse("198.19.1.0/24"), client.TunConfig!.IPv4Routes);
        client.SetResources([Cidr(2, "198.19.2.0/24"), Cidr(3, "198.19.3.0/24")], T0);
        Assert.Single(Drain(client).OfType<ResourcesChanged>());
    }

    [Fact]
    public void Resources_changed_is_coalesced_only_the_latest_is_queued()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        client.RemoveResource(Rid(1), T0);
        var changed = Drain(client).OfType<ResourcesChanged>().ToList();
        Assert.Single(changed);
        Assert.Equal([Rid(2)], changed[0].Resources.Select(r => r.Id));
    }

    [Fact]
    public void Tun_interface_updated_is_coalesced_and_an_address_change_alone_is_not_published()
    {
        var client = NewClient(T0);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, []));
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.AddResource(Cidr(2, "198.19.2.0/24"), T0);
        Assert.Single(Drain(client).OfType<TunInterfaceUpdated>());
        client.UpdateInterfaceConfig(new InterfaceConfig(IPAddress.Parse("100.64.0.2"), TunnelV6, []));
        Assert.Empty(Drain(client).OfType<TunInterfaceUpdated>());
        client.AddResource(Cidr(3, "198.19.3.0/24"), T0);
        Assert.Equal(IPAddress.Parse("100.64.0.2"), Drain(client).OfType<TunInterfaceUpdated>().Single().Config.IPv4);
    }

    [Fact]
    public void For_identical_networks_the_highest_id_wins_the_active_cidr_table()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.AddResource(Cidr(2, "198.19.1.0/24"), T0);
        // A packet to that network asks for a connection to resource 2, not 1.
        Send(client, Udp(IPAddress.Parse("198.19.1.5")), T0);
        Assert.Equal(Rid(2), Drain(client).OfType<ConnectionIntent>().Single().Resource);
    }

    [Fact]
    public void A_resource_without_sites_is_offline_because_all_of_its_zero_sites_are()
    {
        var client = WithInterface();
        client.AddResource(new CidrResource(Rid(1), IPNetwork.Parse("198.19.1.0/24"), "no sites", null, []), T0);
        Assert.Equal(ResourceStatus.Offline, client.Resources.Single().Status);
    }

    [Fact]
    public void Set_resource_offline_marks_its_sites_offline_without_touching_other_sites()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24", site: 1), T0);
        client.AddResource(Cidr(2, "198.19.2.0/24", site: 2), T0);
        Drain(client);
        client.SetResourceOffline(Rid(1));
        var views = Drain(client).OfType<ResourcesChanged>().Single().Resources;
        Assert.Equal(ResourceStatus.Offline, views.Single(v => v.Id == Rid(1)).Status);
        Assert.Equal(ResourceStatus.Unknown, views.Single(v => v.Id == Rid(2)).Status);
    }

    [Fact]
    public void Disabled_resources_lose_their_routes_and_come_back_when_re_enabled()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        client.SetDisabledResources([Rid(1)], T0);
        Assert.DoesNotContain(IPNetwork.Parse("198.19.1.0/24"), client.TunConfig!.IPv4Routes);
        Assert.Equal(Firezone.Snownet.EncapsulateStatus.Nothing, EncapsulateStatusOf(client, "198.19.1.5"));
        Assert.Empty(Drain(client).OfType<ConnectionIntent>());
        client.SetDisabledResources([], T0);
        Assert.Contains(IPNetwork.Parse("198.19.1.0/24"), client.TunConfig!.IPv4Routes);
    }

    [Fact]
    public void Views_sort_the_internet_resource_first_then_by_ordinal_name_then_id()
    {
        var client = WithInterface();
        client.AddResource(Cidr(1, "198.19.1.0/24", name: "b"), T0);
        client.AddResource(Cidr(2, "198.19.2.0/24", name: "B"), T0);
        client.AddResource(Cidr(3, "198.19.3.0/24", name: "*x"), T0);
        client.AddResource(Internet(4), T0);
        Assert.Equal([Rid(4), Rid(3), Rid(2), Rid(1)], client.Resources.Select(r => r.Id));
    }

    private static Firezone.Snownet.EncapsulateStatus EncapsulateStatusOf(ClientState client, string destination) =>
        Send(client, Udp(IPAddress.Parse(destination)), T0).Status;
}
