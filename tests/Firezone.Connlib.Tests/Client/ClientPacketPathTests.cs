using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>The client's packet paths against a real WireGuard/ICE peer: tunnel spec §4.4 steps 3–6, §4.6, §4.8.</summary>
public sealed class ClientPacketPathTests
{
    private static ClientWithNodeGateway Connected(ClientResource resource, string destination)
    {
        var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.AddResource(resource, world.Now);
        world.SendFromClient(Udp(IPAddress.Parse(destination)));
        world.Run(TimeSpan.FromSeconds(2));
        Assert.Contains(world.ClientEvents, e => e is RequestConnection);
        return world;
    }

    /// <summary>A UDP packet from <paramref name="source"/> to the client's tunnel address (as a resource's reply).</summary>
    private static byte[] Reply(string source)
    {
        var p = Udp(TunnelV4, destinationPort: 50000, sourcePort: 443);
        IPAddress.Parse(source).TryWriteBytes(p.AsSpan(12), out _);
        p.AsSpan(16, 4).Clear();
        TunnelV4.TryWriteBytes(p.AsSpan(16), out _);
        return p;
    }

    [Fact]
    public void After_setup_packets_to_a_cidr_resource_reach_the_gateway_and_replies_from_it_reach_the_tun()
    {
        using var world = Connected(Cidr(1, "198.19.1.0/24"), "198.19.1.3");
        Assert.Empty(world.AtGateway); // the triggering packet was dropped (§11.1)
        var sent = world.SendFromClient(Udp(IPAddress.Parse("198.19.1.3")));
        Assert.Equal(EncapsulateStatus.Send, sent.Status);
        Assert.Single(world.AtGateway);
        world.SendFromGateway(Reply("198.19.1.3"));
        Assert.Single(world.AtClient);
    }

    [Fact]
    public void A_reply_from_outside_the_gateways_allowed_networks_is_dropped()
    {
        using var world = Connected(Cidr(1, "198.19.1.0/24"), "198.19.1.3");
        world.SendFromGateway(Reply("198.19.9.9"));
        Assert.Empty(world.AtClient);
        Assert.Contains(world.ClientDrops, d => d.Drop == ClientDropReason.SourceNotAllowed);
    }

    [Fact]
    public void An_established_connection_makes_the_resources_site_online()
    {
        using var world = Connected(Cidr(1, "198.19.1.0/24"), "198.19.1.3");
        var last = world.ClientEvents.OfType<ResourcesChanged>().Last();
        Assert.Equal(ResourceStatus.Online, last.Resources.Single().Status);
    }

    [Fact]
    public void The_internet_resource_allows_replies_from_anywhere()
    {
        using var world = Connected(Internet(1), "1.1.1.1");
        world.SendFromGateway(Reply("9.9.9.9"));
        Assert.Single(world.AtClient);
    }

    [Fact]
    public void Reset_closes_every_connection_and_the_site_returns_to_unknown_with_a_new_key()
    {
        using var world = Connected(Cidr(1, "198.19.1.0/24"), "198.19.1.3");
        var key = world.Client.PublicKey.ToArray();
        world.Client.Reset(world.Now);
        var changed = ClientTestKit.Drain(world.Client).OfType<ResourcesChanged>().Last();
        Assert.Equal(ResourceStatus.Unknown, changed.Resources.Single().Status);
        Assert.NotEqual(key, world.Client.PublicKey.ToArray());
        // The resource is not routed any more: the next packet asks for a connection again.
        world.SendFromClient(Udp(IPAddress.Parse("198.19.1.3")));
        Assert.Contains(world.ClientEvents.Skip(world.ClientEvents.Count - 3), e => e is ConnectionIntent);
    }

    [Fact]
    public void Disabling_the_resource_stops_its_traffic_without_closing_the_connection()
    {
        using var world = Connected(Cidr(1, "198.19.1.0/24"), "198.19.1.3");
        world.Client.SetDisabledResources([Rid(1)], world.Now);
        var result = world.SendFromClient(Udp(IPAddress.Parse("198.19.1.3")));
        Assert.NotEqual(EncapsulateStatus.Send, result.Status);
        Assert.Empty(world.AtGateway);
        Assert.Equal(1, world.Node.ConnectionCount);
    }

    [Fact]
    public void Ipv4_and_ipv6_cidr_resources_on_one_gateway_share_its_connection()
    {
        using var world = Connected(Cidr(1, "198.19.1.0/24"), "198.19.1.3");
        world.Client.AddResource(Cidr(2, "2001:2:0:5::/64"), world.Now);
        world.SendFromClient(Udp(IPAddress.Parse("2001:2:0:5::9")));
        world.Run(TimeSpan.FromMilliseconds(100));
        Assert.Contains(world.ClientEvents, e => e is RequestAccess { Resource: var r } && r == Rid(2));
        Assert.Single(world.ClientEvents.OfType<RequestConnection>());
        var sent = world.SendFromClient(Udp(IPAddress.Parse("2001:2:0:5::9")));
        Assert.Equal(EncapsulateStatus.Send, sent.Status);
        _ = BinaryPrimitives.ReadUInt16BigEndian(world.AtGateway.Last().AsSpan(40 + 2));
    }
}
