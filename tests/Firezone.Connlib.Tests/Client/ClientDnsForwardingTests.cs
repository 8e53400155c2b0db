using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tests.Client.ClientTestKit;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;

namespace Firezone.Connlib.Tests.Client;

/// <summary>DNS forwarded through the tunnel (tunnel spec §4.7 "Forwarding", §4.6 step 5, §11.8) against a real WireGuard peer.</summary>
public sealed class ClientDnsForwardingTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Parse("198.19.1.53"), 53);
    private static readonly IPAddress Sentinel = IPAddress.Parse("100.100.111.1");

    private static byte[] QueryPacket(ushort id) =>
        Packet(TunnelV4, Sentinel, 5353, 53, Query("example.org", DnsRecordType.A, id));

    private static byte[] ResponsePacket(ushort id)
    {
        var response = Query("example.org", DnsRecordType.A, id);
        response[2] |= 0x80;
        return Packet(Server.Address, TunnelV4, 53, 5353, response);
    }

    private static byte[] Packet(IPAddress from, IPAddress to, ushort fromPort, ushort toPort, byte[] payload)
    {
        var p = new byte[60 + payload.Length];
        return p[..PacketBuilder.Udp(p, from, to, fromPort, toPort, payload)];
    }

    /// <summary>A client with portal DNS server 198.19.1.53 inside a connected CIDR resource.</summary>
    private static ClientWithNodeGateway Connected()
    {
        var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [Server]));
        world.Client.AddResource(Cidr(1, "198.19.1.0/24"), world.Now);
        world.SendFromClient(QueryPacket(1)); // triggers the intent and is dropped (§11.1)
        world.Run(TimeSpan.FromSeconds(2));
        Assert.Contains(world.ClientEvents, e => e is RequestConnection);
        Assert.Empty(world.AtGateway);
        Assert.Null(world.Client.PollDnsQuery()); // forwarded through the tunnel, not to the host
        return world;
    }

    private static (IPAddress Source, ushort SourcePort, bool ChecksumsValid) Parse(byte[] packet)
    {
        Assert.Equal(IpParseError.None, IpPacket.TryParse(packet, out var ip));
        Assert.True(ip.TryGetUdp(out var udp));
        return (ip.Source, udp.SourcePort, ip.ChecksumsValid());
    }

    [Fact]
    public void A_query_to_a_server_inside_a_cidr_resource_reaches_the_gateway_with_only_the_destination_ip_rewritten()
    {
        using var world = Connected();
        var sent = world.SendFromClient(QueryPacket(2));
        Assert.Equal(EncapsulateStatus.Send, sent.Status);
        var atGateway = Assert.Single(world.AtGateway);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(atGateway, out var ip));
        Assert.True(ip.TryGetUdp(out var udp));
        Assert.Equal((Server.Address, TunnelV4, (ushort)5353, (ushort)53), (ip.Destination, ip.Source, udp.SourcePort, udp.DestinationPort));
        Assert.True(ip.ChecksumsValid());
    }

    [Fact]
    public void A_server_on_another_port_gets_the_query_on_its_port_and_the_answer_comes_back_from_sentinel_port_53_deliberate_fix()
    {
        // Upstream keeps port 53 when forwarding through the tunnel and keys the response by the configured socket, so a
        // portal server on port 5353 never answers the application (tunnel spec §11.8). We rewrite the port both ways.
        var server = new IPEndPoint(IPAddress.Parse("198.19.1.53"), 5353);
        using var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [server]));
        world.Client.AddResource(Cidr(1, "198.19.1.0/24"), world.Now);
        world.SendFromClient(QueryPacket(1)); // connects the resource (dropped, §11.1)
        world.Run(TimeSpan.FromSeconds(2));
        world.SendFromClient(QueryPacket(2));
        var atGateway = Assert.Single(world.AtGateway);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(atGateway, out var ip));
        Assert.True(ip.TryGetUdp(out var udp));
        Assert.Equal((server.Address, (ushort)5353), (ip.Destination, udp.DestinationPort));
        Assert.True(ip.ChecksumsValid());

        var response = Query("example.org", DnsRecordType.A, 2);
        response[2] |= 0x80;
        world.SendFromGateway(Packet(server.Address, TunnelV4, 5353, 5353, response));
        Assert.Equal((Sentinel, (ushort)53, true), Parse(Assert.Single(world.AtClient)));
    }

    [Fact]
    public void The_response_comes_back_from_the_sentinel_once_and_a_second_response_with_that_id_is_not_rewritten()
    {
        using var world = Connected();
        world.SendFromClient(QueryPacket(3));
        world.SendFromGateway(ResponsePacket(3));
        world.SendFromGateway(ResponsePacket(3));
        Assert.Equal(2, world.AtClient.Count);
        Assert.Equal((Sentinel, (ushort)53, true), Parse(world.AtClient[0]));
        Assert.Equal((Server.Address, (ushort)53, true), Parse(world.AtClient[1]));
    }

    [Fact]
    public void A_response_after_the_60_second_record_lifetime_is_not_rewritten()
    {
        using var world = Connected();
        world.SendFromClient(QueryPacket(4));
        world.Run(TimeSpan.FromSeconds(61));
        world.SendFromGateway(ResponsePacket(4));
        Assert.Equal(Server.Address, Parse(Assert.Single(world.AtClient)).Source);
    }

    [Fact]
    public void A_new_dns_mapping_clears_the_records_of_forwarded_queries()
    {
        using var world = Connected();
        world.SendFromClient(QueryPacket(5));
        world.Client.UpdateSystemResolvers([IPAddress.Parse("198.18.9.9")]); // same portal set: mapping unchanged
        world.SendFromGateway(ResponsePacket(5));
        Assert.Equal(Sentinel, Parse(world.AtClient[^1]).Source);

        world.SendFromClient(QueryPacket(6));
        world.Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [Server, new IPEndPoint(IPAddress.Parse("198.19.1.54"), 53)]));
        world.SendFromGateway(ResponsePacket(6));
        Assert.Equal(Server.Address, Parse(world.AtClient[^1]).Source);
    }

    [Fact]
    public void With_the_internet_resource_active_every_portal_server_is_reached_through_the_tunnel()
    {
        using var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        var outside = new IPEndPoint(IPAddress.Parse("198.18.77.1"), 53);
        world.Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [outside]));
        world.Client.AddResource(Internet(1), world.Now);
        world.SendFromClient(Packet(TunnelV4, Sentinel, 5353, 53, Query("example.org", DnsRecordType.A, 7)));
        world.Run(TimeSpan.FromSeconds(2));
        world.SendFromClient(Packet(TunnelV4, Sentinel, 5353, 53, Query("example.org", DnsRecordType.A, 8)));
        Assert.Null(world.Client.PollDnsQuery());
        Assert.Equal(IpParseError.None, IpPacket.TryParse(Assert.Single(world.AtGateway), out var ip));
        Assert.Equal(outside.Address, ip.Destination);
        Assert.Equal(8, BinaryPrimitives.ReadUInt16BigEndian(ip.Payload[8..]));
    }
}
