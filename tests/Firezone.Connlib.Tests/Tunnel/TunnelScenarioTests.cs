using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tests.Dns.DnsTestMessages;
using Ar = ARSoft.Tools.Net.Dns;

using Firezone.Testing;

namespace Firezone.Connlib.Tests.Tunnel;

/// <summary>
/// Client and gateway states end to end over real Snownet nodes, a real relay and the simulated internet: CIDR and DNS
/// resources over IPv4 and IPv6, direct and relayed, NAT64 for a name with only IPv4 addresses, refused traffic
/// answered with ICMP, and revoked access.
/// </summary>
public sealed class TunnelScenarioTests
{
    private static readonly ResourceId Lab = new(Guid.Parse("00000000-0000-0000-0000-000000000001"));
    private static readonly ResourceId Web = new(Guid.Parse("00000000-0000-0000-0000-000000000002"));
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private static TunnelWorld WithLab(bool blockDirect = false, IReadOnlyList<Filter>? filters = null)
    {
        var world = new TunnelWorld(blockDirect: blockDirect);
        world.AddResource(
            new CidrResource(Lab, IPNetwork.Parse("198.19.0.0/16"), "lab", null, [TunnelWorld.TheSite]),
            new GatewayCidrResource(Lab, IPNetwork.Parse("198.19.0.0/16"), "lab", filters ?? []));
        world.AddResource(
            new CidrResource(new ResourceId(Guid.Parse("00000000-0000-0000-0000-000000000003")), IPNetwork.Parse("2001:2:0:7::/64"), "lab6", null, [TunnelWorld.TheSite]),
            new GatewayCidrResource(new ResourceId(Guid.Parse("00000000-0000-0000-0000-000000000003")), IPNetwork.Parse("2001:2:0:7::/64"), "lab6", filters ?? []));
        return world;
    }

    private static byte[] Ping(IPAddress destination, ushort sequence = 1)
    {
        var source = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? TunnelWorld.TunnelV4 : TunnelWorld.TunnelV6;
        var p = new byte[100];
        return p[..PacketBuilder.EchoRequest(p, source, destination, 0x77, sequence, [1, 2, 3, 4, 5, 6, 7, 8])];
    }

    private static Func<byte[], bool> EchoReplyFrom(IPAddress source) => packet =>
        IpPacket.TryParse(packet, out var ip) == IpParseError.None && ip.Source.Equals(source) && ip.TryGetIcmp(out var icmp)
        && icmp.Type == (ip.IsIpv4 ? IcmpMessage.V4EchoReply : IcmpMessage.V6EchoReply) && icmp.Identifier == 0x77;

    [Theory]
    [InlineData("198.19.4.4", false)]
    [InlineData("2001:2:0:7::4", false)]
    [InlineData("198.19.4.4", true)]
    [InlineData("2001:2:0:7::4", true)]
    public void A_ping_to_a_cidr_resource_is_answered_through_the_tunnel(string target, bool relayed)
    {
        using var world = WithLab(blockDirect: relayed);
        var destination = IPAddress.Parse(target);
        var reply = world.SendUntilAnswered(Ping(destination), EchoReplyFrom(destination), Bound);
        Assert.NotNull(reply);
        Assert.Contains(world.ClientEvents, e => e is RequestConnection);
        Assert.True(world.Log.ErrorCount == 0, world.Log.ToString());
    }

    [Fact]
    public void A_relayed_tunnel_carries_traffic_only_through_the_relay()
    {
        using var world = WithLab(blockDirect: true);
        var destination = IPAddress.Parse("198.19.4.4");
        Assert.NotNull(world.SendUntilAnswered(Ping(destination), EchoReplyFrom(destination), Bound));
        // Direct paths are blocked, so the traffic that arrived went through the relay's allocation.
        Assert.True(world.Relay.Server.RelayedBytes > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_dns_resource_is_reached_by_name_through_its_proxy_ip_and_the_gateway_rewrites_to_the_real_ip(bool ipv6)
    {
        using var world = new TunnelWorld();
        world.DnsRecords["web.example.com"] = [IPAddress.Parse("198.19.9.9"), IPAddress.Parse("2001:2:0:9::9")];
        world.AddResource(
            new DnsResource(Web, "*.example.com", "web", null, [TunnelWorld.TheSite]),
            new GatewayDnsResource(Web, "*.example.com", "web", []));
        var proxy = Resolve(world, "web.example.com", ipv6);
        var reply = world.SendUntilAnswered(Ping(proxy), EchoReplyFrom(proxy), Bound);
        Assert.NotNull(reply);
        var real = ipv6 ? IPAddress.Parse("2001:2:0:9::9") : IPAddress.Parse("198.19.9.9");
        Assert.Contains(world.AtResources, p => IpPacket.TryParse(p, out var ip) == IpParseError.None && ip.Destination.Equals(real));
        Assert.Contains(world.ClientEvents, e => e is RequestConnection { Domain.Name: "web.example.com" });
        Assert.True(world.Log.ErrorCount == 0, world.Log.ToString());
    }

    [Fact]
    public void An_ipv6_proxy_ip_of_a_name_with_only_ipv4_addresses_reaches_it_through_nat64()
    {
        using var world = new TunnelWorld();
        world.DnsRecords["web.example.com"] = [IPAddress.Parse("198.19.9.9")];
        world.AddResource(
            new DnsResource(Web, "web.example.com", "web", null, [TunnelWorld.TheSite]),
            new GatewayDnsResource(Web, "web.example.com", "web", []));
        var proxy = Resolve(world, "web.example.com", ipv6: true);
        Assert.NotNull(world.SendUntilAnswered(Ping(proxy), EchoReplyFrom(proxy), Bound));
        Assert.Contains(world.AtResources, p => IpPacket.TryParse(p, out var ip) == IpParseError.None && ip.IsIpv4 && ip.Destination.Equals(IPAddress.Parse("198.19.9.9")));
    }

    [Fact]
    public void Traffic_the_gateways_filters_refuse_gets_an_icmp_prohibited_answer_deliberate_difference_from_upstream()
    {
        using var world = WithLab(filters: [Filter.Tcp(443, 443)]);
        var destination = IPAddress.Parse("198.19.4.4");
        var answer = world.SendUntilAnswered(Ping(destination), packet =>
            IpPacket.TryParse(packet, out var ip) == IpParseError.None && ip.TryGetIcmp(out var icmp)
            && icmp.Type == IcmpMessage.V4DestinationUnreachable && icmp.Code == 13, Bound);
        Assert.NotNull(answer);
        Assert.Empty(world.AtResources);
    }

    [Fact]
    public void After_the_portal_rejects_access_no_packet_reaches_the_resource()
    {
        using var world = WithLab();
        var destination = IPAddress.Parse("198.19.4.4");
        Assert.NotNull(world.SendUntilAnswered(Ping(destination), EchoReplyFrom(destination), Bound));
        world.RejectAccess(Lab);
        int before = world.AtResources.Count;
        for (ushort i = 0; i < 10; i++)
        {
            world.SendFromClient(Ping(destination, (ushort)(100 + i)));
            world.Run(TimeSpan.FromMilliseconds(200));
        }

        Assert.Equal(before, world.AtResources.Count);
    }

    [Fact]
    public void A_query_for_a_server_inside_a_cidr_resource_is_answered_through_the_tunnel_from_the_sentinel()
    {
        using var world = new TunnelWorld();
        var dnsNet = IPNetwork.Parse("198.18.53.0/24"); // contains the portal's DNS server 198.18.53.53
        world.AddResource(new CidrResource(Lab, dnsNet, "dns", null, [TunnelWorld.TheSite]), new GatewayCidrResource(Lab, dnsNet, "dns", []));
        var sentinel = world.Client.TunConfig!.DnsServers.First();
        var query = Query("example.org", DnsRecordType.Txt, id: 0x5151);
        var p = new byte[60 + query.Length];
        var packet = p[..PacketBuilder.Udp(p, TunnelWorld.TunnelV4, sentinel, 5353, 53, query)];
        var answer = world.SendUntilAnswered(packet, a => IpPacket.TryParse(a, out var ip) == IpParseError.None
            && ip.Source.Equals(sentinel) && ip.TryGetUdp(out var udp) && udp.SourcePort == 53 && ip.ChecksumsValid(), Bound);
        Assert.NotNull(answer);
        Assert.Null(world.Client.PollDnsQuery()); // through the tunnel, never the host
        Assert.Contains(world.AtResources, a => IpPacket.TryParse(a, out var ip) == IpParseError.None && ip.Destination.Equals(TunnelWorld.UpstreamDns.Address));
    }

    [Fact]
    public void A_tcp_query_for_a_server_inside_a_cidr_resource_goes_through_the_tunnel_on_connlibs_tcp_client()
    {
        using var world = new TunnelWorld();
        var (answer, upstreamQueries) = TcpDnsThroughTunnel(world, upstreamAnswers: true, afterSend: null);
        Assert.NotNull(answer);
        Assert.Equal(0x6161, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(answer));
        Assert.Equal(1, upstreamQueries);
        Assert.Equal(0x83, answer[3]); // the upstream's answer itself (RA, NXDOMAIN), not one connlib made up
        Assert.Null(world.Client.PollDnsQuery()); // through the tunnel, not the host
        Assert.True(world.Log.ErrorCount == 0, world.Log.ToString());
    }

    [Fact]
    public void A_reset_fails_tcp_queries_in_flight_through_the_tunnel_with_servfail()
    {
        using var world = new TunnelWorld();
        var (answer, upstreamQueries) = TcpDnsThroughTunnel(world, upstreamAnswers: false, afterSend: w => w.Client.Reset(w.Now));
        Assert.Equal(1, upstreamQueries);
        Assert.NotNull(answer);
        Assert.Equal(0x6161, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(answer));
        Assert.Equal(2, answer[3] & 0x0F); // SERVFAIL
    }

    /// <summary>
    /// An application's TCP connection to the sentinel carries one query for a server inside a CIDR resource; the
    /// server is a TCP DNS server on the resource side (answering RA + NXDOMAIN, or never). <paramref name="afterSend"/>
    /// runs once the upstream has the query. Returns the answer the application read (or null) and how many queries the
    /// upstream saw.
    /// </summary>
    private static (byte[]? Answer, int UpstreamQueries) TcpDnsThroughTunnel(TunnelWorld world, bool upstreamAnswers, Action<TunnelWorld>? afterSend)
    {
        var dnsNet = IPNetwork.Parse("198.18.53.0/24");
        world.AddResource(new CidrResource(Lab, dnsNet, "dns", null, [TunnelWorld.TheSite]), new GatewayCidrResource(Lab, dnsNet, "dns", []));
        var rng = new Random(9);
        var upstream = new Firezone.Connlib.Dns.Tcp.DnsOverTcpServer(b => rng.NextBytes(b));
        upstream.SetListenEndpoints([Firezone.Connlib.Tcp.TcpEndpoint.From(TunnelWorld.UpstreamDns)]);
        var buffer = new byte[4096];
        int upstreamQueries = 0;
        world.ResourceHost = (packet, now) =>
        {
            if (!upstream.HandleInput(packet, now))
            {
                return null;
            }

            while (upstream.TryPollQuery(out var q))
            {
                upstreamQueries++;
                if (upstreamAnswers)
                {
                    var r = q.Message.ToArray();
                    r[2] |= 0x80;
                    r[3] = 0x83;
                    upstream.SendResponse(q.Handle, r);
                }
            }

            var output = new List<byte[]>();
            int n;
            while ((n = upstream.PollTransmit(buffer)) > 0)
            {
                output.Add(buffer[..n]);
            }

            return output;
        };

        var appRandom = new Random(10);
        var app = new Firezone.Connlib.Tcp.TcpSocketSet(new Firezone.Connlib.Tcp.TcpOptions(), b => appRandom.NextBytes(b));
        var sentinel = world.Client.TunConfig!.DnsServers.First();
        var h = app.Connect(Firezone.Connlib.Tcp.TcpEndpoint.From(TunnelWorld.TunnelV4, 0), Firezone.Connlib.Tcp.TcpEndpoint.From(sentinel, 53), world.Now)!.Value;
        var query = Query("example.org", DnsRecordType.Mx, id: 0x6161);
        var framed = new byte[query.Length + 2];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        bool sent = false, after = false;
        var received = new List<byte>();
        int seen = 0;
        var end = world.Now + TimeSpan.FromSeconds(4); // under the TCP DNS client's 5 s query timeout
        while (world.Now < end && received.Count < query.Length + 2)
        {
            int n;
            while ((n = app.PollTransmit(buffer)) > 0)
            {
                world.SendFromClient(buffer[..n]);
            }

            for (; seen < world.ClientTun.Count; seen++)
            {
                app.HandleInput(world.ClientTun[seen], world.Now);
            }

            if (!sent && app.GetState(h) == Firezone.Connlib.Tcp.TcpState.Established)
            {
                sent = app.Send(h, framed, out _) == Firezone.Connlib.Tcp.TcpResult.Ok;
            }

            if (!after && upstreamQueries > 0 && afterSend is not null)
            {
                after = true;
                afterSend(world);
            }

            var chunk = new byte[4096];
            while (app.Receive(h, chunk, out int got) == Firezone.Connlib.Tcp.TcpResult.Ok && got > 0)
            {
                received.AddRange(chunk.AsSpan(0, got));
            }

            world.Run(TimeSpan.FromMilliseconds(20));
            app.HandleTimeout(world.Now);
        }

        return (received.Count >= query.Length + 2 ? received.Skip(2).Take(query.Length).ToArray() : null, upstreamQueries);
    }

    /// <summary>Asks the client's sentinel for <paramref name="name"/> (A or AAAA) and returns the first proxy IP.</summary>
    private static IPAddress Resolve(TunnelWorld world, string name, bool ipv6)
    {
        var sentinel = world.Client.TunConfig!.DnsServers.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        var query = Query(name, ipv6 ? DnsRecordType.Aaaa : DnsRecordType.A);
        var p = new byte[60 + query.Length];
        int seen = world.ClientTun.Count;
        world.SendFromClient(p[..PacketBuilder.Udp(p, TunnelWorld.TunnelV4, sentinel, 5353, 53, query)]);
        var answer = world.ClientTun.Skip(seen).Single();
        Assert.Equal(IpParseError.None, IpPacket.TryParse(answer, out var ip));
        Assert.True(ip.TryGetUdp(out var udp));
        var record = Parse(udp.Payload).AnswerRecords[0];
        return record is Ar.ARecord a ? a.Address : ((Ar.AaaaRecord)record).Address;
    }
}
