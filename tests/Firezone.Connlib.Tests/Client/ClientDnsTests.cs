using System.Buffers.Binary;
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

/// <summary>The client's DNS: interception (§4.4 step 1), sentinel mapping (§4.3), local answers, forwarding and recursive queries (§4.7), un-mangling (§4.6 step 5); §11.7–§11.9, §11.15.</summary>
public sealed class ClientDnsTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1);
    private static readonly IPEndPoint Upstream = new(IPAddress.Parse("198.18.53.53"), 53);
    private static readonly IPAddress FirstSentinel = IPAddress.Parse("100.100.111.1");
    private static readonly IPAddress FirstSentinelV6 = IPAddress.Parse("fd00:2021:1111:8000:100:100:111:0");

    private static ClientState WithDns(params IPEndPoint[] upstream)
    {
        var client = NewClient(T0);
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, upstream));
        Drain(client);
        return client;
    }

    /// <summary>A UDP packet from the tunnel address:<paramref name="sourcePort"/> to <paramref name="destination"/>:<paramref name="port"/> carrying <paramref name="payload"/>.</summary>
    private static byte[] UdpTo(IPAddress destination, byte[] payload, ushort port = 53, ushort sourcePort = 5353)
    {
        var source = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? TunnelV4 : TunnelV6;
        var packet = new byte[40 + 8 + payload.Length];
        int n = PacketBuilder.Udp(packet, source, destination, sourcePort, port, payload);
        return packet[..n];
    }

    /// <summary>The packets the client queued for the TUN device, parsed: (source, destination, source port, destination port, UDP payload).</summary>
    private static List<(IPAddress From, IPAddress To, ushort FromPort, ushort ToPort, byte[] Payload)> Answers(ClientState client)
    {
        var list = new List<(IPAddress, IPAddress, ushort, ushort, byte[])>();
        while (client.PollPacket() is { } p)
        {
            var bytes = p.ToArray();
            Assert.True(IpPacket.TryParse(bytes, out var ip) == IpParseError.None, Convert.ToHexString(bytes));
            Assert.True(ip.ChecksumsValid());
            Assert.True(ip.TryGetUdp(out var udp));
            list.Add((ip.Source, ip.Destination, udp.SourcePort, udp.DestinationPort, udp.Payload.ToArray()));
        }

        return list;
    }

    [Fact]
    public void The_first_portal_dns_server_gets_the_first_sentinel_and_routes_keep_the_fixed_ranges()
    {
        var client = WithDns(Upstream, new IPEndPoint(IPAddress.Parse("2001:2::53"), 53));
        var config = client.TunConfig!;
        Assert.Equal(Upstream, config.DnsBySentinel[FirstSentinel]);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:2::53"), 53), config.DnsBySentinel[FirstSentinelV6]);
        Assert.Equal([FirstSentinel, FirstSentinelV6], config.DnsServers);
    }

    [Fact]
    public void System_resolvers_are_used_only_when_the_portal_configures_none_and_sentinel_range_servers_are_ignored()
    {
        var client = WithDns(new IPEndPoint(IPAddress.Parse("100.100.111.9"), 53));
        client.UpdateSystemResolvers([IPAddress.Parse("198.18.9.9")]);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.18.9.9"), 53), client.TunConfig!.DnsBySentinel.Single().Value);

        var portal = WithDns(Upstream);
        portal.UpdateSystemResolvers([IPAddress.Parse("198.18.9.9")]);
        Assert.Equal(Upstream, portal.TunConfig!.DnsBySentinel.Single().Value);
    }

    [Fact]
    public void Sentinels_change_only_when_the_set_of_servers_changes_and_then_avoid_the_previous_ones()
    {
        var second = new IPEndPoint(IPAddress.Parse("198.18.53.54"), 53);
        var client = WithDns(Upstream, second);
        var before = client.TunConfig!.DnsBySentinel.Keys.ToHashSet();
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [second, Upstream]));
        Assert.Empty(Drain(client).OfType<TunInterfaceUpdated>()); // same set, other order: nothing
        client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [Upstream]));
        var after = client.TunConfig!.DnsBySentinel.Keys.ToHashSet();
        Assert.Single(Drain(client).OfType<TunInterfaceUpdated>());
        Assert.Empty(before.Intersect(after));
    }

    [Fact]
    public void An_a_query_for_a_dns_resource_is_answered_from_the_sentinel_port_53_with_four_proxy_ips_and_ttl_1()
    {
        var client = WithDns(Upstream);
        client.AddResource(DnsRes(1, "*.example.com"), T0);
        var result = Send(client, UdpTo(FirstSentinel, Query("app.example.com", DnsRecordType.A, id: 0x4242)), T0);
        Assert.Equal(EncapsulateStatus.Nothing, result.Status);
        var answer = Assert.Single(Answers(client));
        Assert.Equal((FirstSentinel, TunnelV4, (ushort)53, (ushort)5353), (answer.From, answer.To, answer.FromPort, answer.ToPort));
        var message = Parse(answer.Payload);
        Assert.Equal(0x4242, message.TransactionID);
        Assert.Equal(4, message.AnswerRecords.Count);
        Assert.All(message.AnswerRecords, r =>
        {
            Assert.Equal(1, r.TimeToLive);
            Assert.True(IPNetwork.Parse("100.96.0.0/11").Contains(((Ar.ARecord)r).Address));
        });
    }

    [Fact]
    public void An_aaaa_query_over_ipv6_gets_four_ipv6_proxy_ips_from_the_ipv6_sentinel()
    {
        var client = WithDns(Upstream, new IPEndPoint(IPAddress.Parse("2001:2::53"), 53));
        client.AddResource(DnsRes(1, "app.example.com"), T0);
        Send(client, UdpTo(FirstSentinelV6, Query("app.example.com", DnsRecordType.Aaaa)), T0);
        var answer = Assert.Single(Answers(client));
        Assert.Equal(FirstSentinelV6, answer.From);
        var records = Parse(answer.Payload).AnswerRecords.Cast<Ar.AaaaRecord>().ToList();
        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.True(IPNetwork.Parse("fd00:2021:1111:8000::/107").Contains(r.Address)));
    }

    [Fact]
    public void A_packet_to_a_sentinel_that_is_not_udp_to_port_53_is_dropped_without_an_answer()
    {
        var client = WithDns(Upstream);
        Send(client, UdpTo(FirstSentinel, Query("app.example.com", DnsRecordType.A), port: 54), T0);
        Send(client, UdpTo(FirstSentinel, [1, 2, 3]), T0); // not even a DNS header
        Assert.Empty(Answers(client));
        Assert.Null(client.PollDnsQuery());
    }

    [Fact]
    public void Traffic_to_an_unmapped_sentinel_address_goes_through_normal_resource_lookup()
    {
        var client = WithDns(Upstream);
        client.AddResource(Cidr(1, "100.100.111.0/24"), T0);
        Drain(client);
        Send(client, UdpTo(IPAddress.Parse("100.100.111.7"), Query("app.example.com", DnsRecordType.A)), T0);
        Assert.Empty(Answers(client));
        Assert.Contains(Drain(client), e => e is ConnectionIntent { Resource: var r } && r == Rid(1));
    }

    [Fact]
    public void A_non_resource_query_goes_to_the_host_as_a_recursive_query_and_its_answer_comes_back_from_the_sentinel()
    {
        var client = WithDns(Upstream);
        var query = Query("example.org", DnsRecordType.A, id: 7);
        Send(client, UdpTo(FirstSentinel, query), T0);
        var recursive = client.PollDnsQuery();
        Assert.NotNull(recursive);
        Assert.Equal(Upstream, recursive.Server);
        Assert.Equal(DnsTransport.Udp, recursive.Transport);
        Assert.Equal(query, recursive.Message.ToArray());
        Assert.Equal(new IPEndPoint(FirstSentinel, 53), recursive.Sentinel);
        Assert.Equal(new IPEndPoint(TunnelV4, 5353), recursive.Client);
        Assert.Empty(Answers(client));

        var response = query.ToArray();
        response[2] |= 0x80;
        client.HandleDnsResponse(recursive, response);
        var answer = Assert.Single(Answers(client));
        Assert.Equal((FirstSentinel, TunnelV4, (ushort)53, (ushort)5353), (answer.From, answer.To, answer.FromPort, answer.ToPort));
        Assert.Equal(response, answer.Payload);
    }

    [Fact]
    public void A_udp_timeout_sends_nothing_back_and_any_other_failure_answers_servfail()
    {
        var client = WithDns(Upstream);
        Send(client, UdpTo(FirstSentinel, Query("example.org", DnsRecordType.A, id: 1)), T0);
        Send(client, UdpTo(FirstSentinel, Query("example.net", DnsRecordType.A, id: 2)), T0);
        var first = client.PollDnsQuery()!;
        var second = client.PollDnsQuery()!;
        client.HandleDnsFailure(first, DnsQueryFailure.Timeout);
        Assert.Empty(Answers(client));
        client.HandleDnsFailure(second, DnsQueryFailure.Failed);
        var answer = Assert.Single(Answers(client));
        var message = Parse(answer.Payload);
        Assert.Equal(2, message.TransactionID);
        Assert.Equal(Ar.ReturnCode.ServerFailure, message.ReturnCode);
    }

    [Fact]
    public void With_portal_servers_a_query_goes_to_the_host_unless_the_server_is_a_cidr_resource_or_the_internet_resource_is_active()
    {
        var client = WithDns(Upstream);
        client.AddResource(Cidr(1, "198.19.1.0/24"), T0);
        Send(client, UdpTo(FirstSentinel, Query("example.org", DnsRecordType.A)), T0);
        Assert.NotNull(client.PollDnsQuery()); // 198.18.53.53 is not inside the CIDR resource

        var viaSystem = WithDns();
        viaSystem.UpdateSystemResolvers([Upstream.Address]);
        viaSystem.AddResource(Internet(2), T0);
        Send(viaSystem, UdpTo(FirstSentinel, Query("example.org", DnsRecordType.A)), T0);
        Assert.NotNull(viaSystem.PollDnsQuery()); // system resolvers never go through the tunnel
    }

    [Fact]
    public void A_response_between_the_ip_limit_and_1336_bytes_is_truncated_with_tc_not_lost_deliberate_fix()
    {
        var client = WithDns(Upstream);
        var query = Query("example.org", DnsRecordType.Txt, id: 9);
        Send(client, UdpTo(FirstSentinel, query), T0);
        var recursive = client.PollDnsQuery()!;
        // 1,300 bytes: under upstream's 1,336-byte truncation limit, over the 1,252 bytes a 1280-byte IPv4 packet carries.
        var response = new byte[1300];
        query.CopyTo(response, 0);
        response[2] |= 0x80;
        BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(6), 1);
        client.HandleDnsResponse(recursive, response);
        var answer = Assert.Single(Answers(client));
        Assert.Equal(query.Length, answer.Payload.Length); // header + question
        Assert.NotEqual(0, answer.Payload[2] & 0x02); // TC
        Assert.Equal(query.AsSpan(12).ToArray(), answer.Payload.AsSpan(12).ToArray());
    }

    [Fact]
    public void A_response_over_1336_bytes_is_cut_after_the_question_with_tc()
    {
        var client = WithDns(Upstream);
        var query = Query("example.org", DnsRecordType.Txt, id: 10);
        Send(client, UdpTo(FirstSentinel, query), T0);
        var response = new byte[4000];
        query.CopyTo(response, 0);
        response[2] |= 0x80;
        client.HandleDnsResponse(client.PollDnsQuery()!, response);
        var answer = Assert.Single(Answers(client));
        Assert.Equal(query.Length, answer.Payload.Length);
        Assert.NotEqual(0, answer.Payload[2] & 0x02);
    }

    [Fact]
    public void A_response_shorter_than_a_dns_header_is_dropped()
    {
        var client = WithDns(Upstream);
        Send(client, UdpTo(FirstSentinel, Query("example.org", DnsRecordType.A)), T0);
        client.HandleDnsResponse(client.PollDnsQuery()!, new byte[11]);
        Assert.Empty(Answers(client));
    }

    [Fact]
    public void The_recursive_query_queue_is_bounded()
    {
        var client = WithDns(Upstream);
        for (int i = 0; i < 1100; i++)
        {
            Send(client, UdpTo(FirstSentinel, Query("example.org", DnsRecordType.A, id: (ushort)i)), T0);
        }

        int queued = 0;
        while (client.PollDnsQuery() is not null)
        {
            queued++;
        }

        Assert.Equal(1000, queued);
    }
}
