using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tests.Client.ClientTestKit;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;
using Ar = ARSoft.Tools.Net.Dns;

namespace Firezone.Connlib.Tests.Client;

/// <summary>DNS resources end to end on the client: names → proxy IPs → intents and access requests carrying the domain (tunnel spec §4.4 steps 3a and 5, §4.5, §11.3–§11.5).</summary>
public sealed class ClientDnsResourceTests
{
    private static readonly IPAddress Sentinel = IPAddress.Parse("100.100.111.1");

    private static ClientWithNodeGateway World(params ClientResource[] resources)
    {
        var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [new IPEndPoint(IPAddress.Parse("198.18.53.53"), 53)]));
        foreach (var r in resources)
        {
            world.Client.AddResource(r, world.Now);
        }

        return world;
    }

    /// <summary>Resolves <paramref name="name"/> (A) through the client's sentinel and returns the proxy IPs it answered.</summary>
    private static List<IPAddress> Resolve(ClientWithNodeGateway world, string name)
    {
        var query = Query(name, DnsRecordType.A);
        var p = new byte[60 + query.Length];
        int n = PacketBuilder.Udp(p, TunnelV4, Sentinel, 5353, 53, query);
        world.SendFromClient(p[..n]);
        var answer = world.Client.PollPacket();
        Assert.NotNull(answer);
        var bytes = answer.Value.ToArray();
        Assert.Equal(IpParseError.None, IpPacket.TryParse(bytes, out var ip));
        Assert.True(ip.TryGetUdp(out var udp));
        return Parse(udp.Payload).AnswerRecords.Cast<Ar.ARecord>().Select(r => r.Address).ToList();
    }

    [Fact]
    public void The_first_packet_to_a_proxy_ip_sends_an_intent_and_the_connection_request_carries_the_name_and_all_8_proxy_ips()
    {
        using var world = World(DnsRes(1, "*.example.com"));
        var ips = Resolve(world, "app.example.com");
        world.SendFromClient(Udp(ips[0]));
        world.Run(TimeSpan.FromSeconds(2));
        var request = world.ClientEvents.OfType<RequestConnection>().Single();
        Assert.Equal(Rid(1), request.Resource);
        Assert.Equal("app.example.com", request.Domain!.Name);
        Assert.Equal(8, request.Domain.ProxyIps.Count);
        Assert.Equal(ips, request.Domain.ProxyIps.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork));
    }

    [Fact]
    public void After_setup_every_proxy_ip_of_the_name_reaches_the_gateway_unchanged()
    {
        using var world = World(DnsRes(1, "*.example.com"));
        var ips = Resolve(world, "app.example.com");
        world.SendFromClient(Udp(ips[0]));
        world.Run(TimeSpan.FromSeconds(2));
        foreach (var ip in ips)
        {
            Assert.Equal(EncapsulateStatus.Send, world.SendFromClient(Udp(ip)).Status);
        }

        Assert.Equal(ips.Count, world.AtGateway.Count);
    }

    [Fact]
    public void A_second_name_on_a_connected_gateway_requests_access_for_its_8_ips_and_drops_the_first_packet()
    {
        using var world = World(DnsRes(1, "*.example.com"));
        var first = Resolve(world, "app.example.com");
        world.SendFromClient(Udp(first[0]));
        world.Run(TimeSpan.FromSeconds(2));
        var second = Resolve(world, "db.example.com");
        int before = world.AtGateway.Count;
        world.SendFromClient(Udp(second[0]));
        var access = world.ClientEvents.OfType<RequestAccess>().Last();
        Assert.Equal("db.example.com", access.Domain!.Name);
        Assert.Equal(before, world.AtGateway.Count); // dropped (§11.3)
        // All 8 were allowed at once, before the gateway confirms: the next packet to another of them goes out.
        Assert.Equal(EncapsulateStatus.Send, world.SendFromClient(Udp(second[3])).Status);
    }

    [Fact]
    public void A_proxy_ip_of_a_disabled_dns_resource_matches_nothing_although_the_resolver_keeps_the_assignment()
    {
        using var world = World(DnsRes(1, "*.example.com"));
        var ips = Resolve(world, "app.example.com");
        world.Client.SetDisabledResources([Rid(1)], world.Now);
        world.SendFromClient(Udp(ips[0]));
        world.Run(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(world.ClientEvents, e => e is ConnectionIntent);
    }

    [Fact]
    public void Proxy_ips_survive_removal_of_the_resource_and_are_re_tagged_with_the_resource_matching_now()
    {
        using var world = World(DnsRes(1, "*.example.com"));
        var before = Resolve(world, "app.example.com");
        world.Client.RemoveResource(Rid(1), world.Now);
        world.Client.AddResource(DnsRes(2, "app.example.com"), world.Now);
        var after = Resolve(world, "app.example.com");
        Assert.Equal(before, after);
        world.SendFromClient(Udp(after[0]));
        Assert.Contains(world.ClientEvents, e => e is ConnectionIntent { Resource: var r } && r == Rid(2));
    }
}
