using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// Tunnel spec §5.5 (DNS-resource NAT: <c>setup_nat</c>, cyclic pairing per family with NAT46/NAT64 fallback,
/// <c>refresh_translation</c>) and §5.4 step 3 / the TUN path's NAT inbound, driven end to end with real encrypted
/// traffic; plus the deliberate fix (c) of §11 item 17.
/// </summary>
public sealed class DnsNatTests : IDisposable
{
    private static readonly ResourceId Dns = new(Guid.Parse("00000000-0000-0000-0000-0000000000d1"));
    private static readonly ResourceId Cidr = new(Guid.Parse("00000000-0000-0000-0000-0000000000c1"));
    private static readonly IPAddress[] V4Proxies = [Ip("100.96.0.1"), Ip("100.96.0.2"), Ip("100.96.0.3"), Ip("100.96.0.4")];
    private static readonly IPAddress[] V6Proxies = [Ip("fd00:2021:1111:8000::"), Ip("fd00:2021:1111:8000::1"), Ip("fd00:2021:1111:8000::2"), Ip("fd00:2021:1111:8000::3")];
    private static readonly IPAddress[] AllProxies = [.. V4Proxies, .. V6Proxies];
    private static readonly IPAddress R1 = Ip("198.18.7.1");
    private static readonly IPAddress R2 = Ip("198.18.7.2");
    private static readonly IPAddress R3 = Ip("198.18.7.3");
    private static readonly IPAddress R6a = Ip("2001:2::7:1");
    private static readonly IPAddress R6b = Ip("2001:2::7:2");
    private readonly GatewayHarness _h = GatewayHarness.Connect(seed: 31);

    public void Dispose() => _h.Dispose();

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    private static GatewayDnsResource DnsResource(params Filter[] filters) => new(Dns, "*.example.com", "dns", filters);

    private ClientOnGateway Peer => _h.Gateway.PeerOf(GatewayHarness.ClientId)!;

    private IPAddress? RealOf(IPAddress proxy) =>
        Peer.Translations.TryGetValue(IpKey.From(proxy), out var t) ? t.ResolvedIp.ToAddress() : null;

    private DnsNatError Setup(string name, params IPAddress[] resolved) =>
        _h.Allow(DnsResource(), nat: new DnsResourceNatEntry(name, AllProxies, resolved));

    private static IpPacket Parse(byte[] b)
    {
        Assert.Equal(IpParseError.None, IpPacket.TryParse(b, out var p));
        return p;
    }

    [Fact]
    public void Setup_nat_needs_a_granted_dns_resource_whose_pattern_matches_the_name()
    {
        var peer = FilterTests.NewPeer();
        Assert.Equal(DnsNatError.UnknownResource, peer.SetupNat("a.example.com", Dns, [R1], AllProxies, _h.Now));
        peer.AddResource(new GatewayCidrResource(Cidr, IPNetwork.Parse("198.18.0.0/16"), "c", []), null);
        Assert.Equal(DnsNatError.NotADnsResource, peer.SetupNat("a.example.com", Cidr, [R1], AllProxies, _h.Now));
        peer.AddResource(DnsResource(), null);
        Assert.Equal(DnsNatError.DomainMismatch, peer.SetupNat("a.example.org", Dns, [R1], AllProxies, _h.Now));
        Assert.Equal(DnsNatError.None, peer.SetupNat("a.example.com", Dns, [R1], AllProxies, _h.Now));
        Assert.Equal(DnsNatError.None, peer.SetupNat("example.com", Dns, [R1], AllProxies, _h.Now)); // *.X matches X
        Assert.DoesNotContain(peer.Translations.Values, t => t.Name == "a.example.org");
    }

    [Fact]
    public void Allow_access_with_a_failing_nat_entry_returns_the_error_and_keeps_the_grant()
    {
        Assert.Equal(DnsNatError.DomainMismatch, _h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.org", AllProxies, [R1])));
        Assert.True(_h.Gateway.PeerOf(GatewayHarness.ClientId)!.HasResource(Dns));
        Assert.Empty(Peer.Translations);
    }

    [Fact]
    public void Proxies_pair_with_targets_cyclically_in_order_per_family()
    {
        Assert.Equal(DnsNatError.None, Setup("a.example.com", R1, R6a, R2, R6b));
        Assert.Equal([R1, R2, R1, R2], V4Proxies.Select(RealOf));
        Assert.Equal([R6a, R6b, R6a, R6b], V6Proxies.Select(RealOf));
    }

    [Fact]
    public void With_more_targets_than_proxies_only_the_first_four_are_used()
    {
        var five = Enumerable.Range(1, 5).Select(i => Ip($"198.18.8.{i}")).ToArray();
        Setup("a.example.com", five);
        Assert.Equal(five[..4], V4Proxies.Select(RealOf));
    }

    [Fact]
    public void Without_targets_no_translations_are_made()
    {
        Assert.Equal(DnsNatError.None, Setup("a.example.com"));
        Assert.Empty(Peer.Translations);
    }

    [Fact]
    public void Ipv4_proxies_fall_back_to_ipv6_targets_nat46_and_ipv6_proxies_to_ipv4_targets_nat64()
    {
        Setup("six.example.com", R6a, R6b);
        Assert.Equal([R6a, R6b, R6a, R6b], V4Proxies.Select(RealOf));
        Setup("four.example.com", R1);
        Assert.Equal([R1, R1, R1, R1], V6Proxies.Select(RealOf));
    }

    [Fact]
    public void Setting_up_again_replaces_the_translations_of_the_proxy_ips()
    {
        Setup("a.example.com", R1);
        var before = Peer.Translations[IpKey.From(V4Proxies[0])];
        Setup("b.example.com", R2);
        var after = Peer.Translations[IpKey.From(V4Proxies[0])];
        Assert.NotSame(before, after);
        Assert.Equal(("b.example.com", R2), (after.Name, after.ResolvedIp.ToAddress()));
        Assert.Equal(8, Peer.Translations.Count);
    }

    [Fact]
    public void Outbound_nat_rewrites_destination_to_the_real_ip_and_inbound_restores_proxy_ip_and_port()
    {
        Setup("a.example.com", R1);
        var out1 = _h.Send(FilterTests.Udp(V4Proxies[1], 53, GatewayHarness.ClientV4));
        Assert.Equal(NetworkInputStatus.Packet, out1.Result.Status);
        var p = Parse(out1.Forwarded!);
        Assert.Equal((GatewayHarness.ClientV4, R1), (p.Source, p.Destination));
        Assert.True(p.ChecksumsValid());
        Assert.True(p.TryGetUdp(out var udp));
        Assert.Equal((1, 53), (udp.SourcePort, udp.DestinationPort)); // port kept: free in the NAT table

        // Same source port to another proxy of the same real IP: the outside port must differ.
        var out2 = Parse(_h.Send(FilterTests.Udp(V4Proxies[2], 53, GatewayHarness.ClientV4)).Forwarded!);
        out2.TryGetUdp(out var udp2);
        Assert.Equal(2, udp2.SourcePort);

        var reply = new byte[1280];
        int n = PacketBuilder.Udp(reply, R1, GatewayHarness.ClientV4, 53, 2, new byte[20]);
        var (r, atClient) = _h.Reply(reply[..n]);
        Assert.Equal(TunInputStatus.Send, r.Status);
        var back = Parse(atClient!);
        Assert.Equal((V4Proxies[2], GatewayHarness.ClientV4), (back.Source, back.Destination));
        back.TryGetUdp(out var bu);
        Assert.Equal((53, 1), (bu.SourcePort, bu.DestinationPort));
        Assert.True(back.ChecksumsValid());
        Assert.NotNull(Peer.Translations[IpKey.From(V4Proxies[2])].LastIncoming); // incoming traffic noted
    }

    [Fact]
    public void Nat46_translates_an_ipv4_packet_to_a_proxy_into_ipv6_from_the_clients_ipv6_tunnel_address_and_back()
    {
        Setup("six.example.com", R6a);
        var echo = FilterTests.Echo(V4Proxies[0], id: 77, src: GatewayHarness.ClientV4);
        var (r, forwarded) = _h.Send(echo);
        Assert.Equal(NetworkInputStatus.Packet, r.Status);
        var p = Parse(forwarded!);
        Assert.False(p.IsIpv4);
        Assert.Equal((GatewayHarness.ClientV6, R6a), (p.Source, p.Destination));
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((128, 77), (icmp.Type, icmp.Identifier)); // ICMPv6 echo request
        Assert.True(p.ChecksumsValid());

        var reply = new byte[1280];
        int n = PacketBuilder.EchoReply(reply, R6a, GatewayHarness.ClientV6, 77, 0, []);
        var (t, atClient) = _h.Reply(reply[..n]);
        Assert.Equal(TunInputStatus.Send, t.Status);
        var back = Parse(atClient!);
        Assert.True(back.IsIpv4);
        Assert.Equal((V4Proxies[0], GatewayHarness.ClientV4), (back.Source, back.Destination));
        Assert.True(back.TryGetIcmp(out var bi));
        Assert.Equal((0, 77), (bi.Type, bi.Identifier));
        Assert.True(back.ChecksumsValid());
    }

    [Fact]
    public void Nat64_translates_an_ipv6_packet_to_a_proxy_into_ipv4_from_the_clients_ipv4_tunnel_address_and_back()
    {
        Setup("four.example.com", R3);
        var (r, forwarded) = _h.Send(FilterTests.Tcp(V6Proxies[3], 443, GatewayHarness.ClientV6));
        Assert.Equal(NetworkInputStatus.Packet, r.Status);
        var p = Parse(forwarded!);
        Assert.True(p.IsIpv4);
        Assert.Equal((GatewayHarness.ClientV4, R3), (p.Source, p.Destination));
        Assert.True(p.ChecksumsValid());

        var reply = new byte[1280];
        int n = PacketBuilder.Tcp(reply, R3, GatewayHarness.ClientV4, 443, 5401, new byte[10]);
        var back = Parse(_h.Reply(reply[..n]).AtClient!);
        Assert.False(back.IsIpv4);
        Assert.Equal((V6Proxies[3], GatewayHarness.ClientV6), (back.Source, back.Destination));
        Assert.True(back.ChecksumsValid());
    }

    [Fact]
    public void Nat46_of_a_packet_that_would_outgrow_1280_bytes_is_refused_with_packet_too_big()
    {
        Setup("six.example.com", R6a);
        var big = new byte[1280];
        int n = PacketBuilder.Udp(big, GatewayHarness.ClientV4, V4Proxies[0], 1, 53, new byte[1280 - 28]);
        var (r, forwarded) = _h.Send(big.AsSpan(0, n));
        Assert.Equal(GatewayPacketError.PacketTooBig, r.Error);
        Assert.Null(forwarded);
        var answer = Parse(Assert.Single(_h.ReceivedByClient));
        Assert.True(answer.TryGetIcmp(out var icmp));
        Assert.Equal((3, 4), (icmp.Type, icmp.Code)); // fragmentation needed, MTU 1260
    }

    [Fact]
    public void Non_nat_protocols_to_a_proxy_ip_are_an_error_value()
    {
        Setup("a.example.com", R1);
        var gre = new byte[1280];
        int n = PacketBuilder.Raw(gre, GatewayHarness.ClientV4, V4Proxies[0], 47, new byte[8]);
        Assert.Equal(GatewayPacketError.UnsupportedProtocol, _h.Send(gre.AsSpan(0, n)).Result.Error);
    }

    [Fact]
    public void Proxy_ip_gets_its_dns_resources_filters_and_a_reply_from_the_real_ip_without_a_session_passes_unchanged()
    {
        _h.Allow(DnsResource(Filter.Udp(53, 53)), nat: new DnsResourceNatEntry("a.example.com", AllProxies, [R1]));
        Assert.Equal(NetworkInputStatus.Packet, _h.Send(FilterTests.Udp(V4Proxies[0], 53, GatewayHarness.ClientV4)).Result.Status);
        Assert.Equal(GatewayPacketError.DestinationNotAllowed, _h.Send(FilterTests.Udp(V4Proxies[0], 54, GatewayHarness.ClientV4)).Result.Error);
    }

    [Fact]
    public void Inbound_nat_applies_only_to_traffic_from_a_translations_real_ip_so_unrelated_cidr_replies_are_never_rewritten_fix_of_upstream()
    {
        // A live NAT session with outside tuple (UDP 1, R1), and a CIDR resource elsewhere.
        Setup("a.example.com", R1);
        _h.Allow(new GatewayCidrResource(Cidr, IPNetwork.Parse("198.19.0.0/16"), "c", []));
        _h.Send(FilterTests.Udp(V4Proxies[0], 53, GatewayHarness.ClientV4));
        Assert.True(Peer.Nat.HasOutsideAddress(IpKey.From(R1)));

        // A reply of the CIDR resource to the same client port: unchanged, also ICMP errors and other protocols.
        var reply = FilterTests.Udp(GatewayHarness.ClientV4, 1, Ip("198.19.0.9"));
        var (r, atClient) = _h.Reply(reply);
        Assert.Equal(TunInputStatus.Send, r.Status);
        Assert.Equal(reply, atClient);
        var unreachable = new byte[1280];
        int n = PacketBuilder.Icmp(unreachable, Ip("198.19.0.9"), GatewayHarness.ClientV4, 3, 1, [0, 0, 0, 0], reply[..28]);
        Assert.Equal(TunInputStatus.Send, _h.Reply(unreachable[..n]).Result.Status);

        // From the real IP itself an un-NATable protocol is still an error (the packet cannot be attributed).
        var fromReal = new byte[1280];
        n = PacketBuilder.Raw(fromReal, R1, GatewayHarness.ClientV4, 47, new byte[8]);
        Assert.Equal(GatewayPacketError.UnsupportedProtocol, _h.Reply(fromReal[..n]).Result.Error);
    }

    [Fact]
    public void A_revoked_dns_resources_stale_translation_no_longer_rewrites_fix_of_upstream()
    {
        // A CIDR resource covering the proxy range lets the packet through after the DNS grant is gone.
        Setup("a.example.com", R1);
        _h.Allow(new GatewayCidrResource(Cidr, IPNetwork.Parse("100.96.0.0/30"), "c", []));
        _h.Gateway.RemoveAccess(GatewayHarness.ClientId, Dns);
        var (r, forwarded) = _h.Send(FilterTests.Udp(V4Proxies[1], 53, GatewayHarness.ClientV4));
        Assert.Equal(NetworkInputStatus.Packet, r.Status);
        Assert.Equal(V4Proxies[1], Parse(forwarded!).Destination); // upstream would still send it to R1
    }

    [Fact]
    public void Refresh_translation_with_the_same_set_of_ips_changes_nothing()
    {
        Setup("a.example.com", R1, R2);
        var before = Peer.Translations.ToDictionary();
        Assert.Equal(DnsNatError.None, _h.Gateway.RefreshTranslation(GatewayHarness.ClientId, Dns, "a.example.com", [R2, R1], _h.Now + TimeSpan.FromSeconds(5)));
        foreach (var (proxy, state) in before)
        {
            Assert.Same(state, Peer.Translations[proxy]);
        }
    }

    [Fact]
    public void Refresh_translation_with_new_ips_sets_up_nat_again_over_the_names_proxy_ips()
    {
        Setup("a.example.com", R1);
        Assert.Equal(DnsNatError.None, _h.Gateway.RefreshTranslation(GatewayHarness.ClientId, Dns, "a.example.com", [R2, R3], _h.Now));
        Assert.Equal([R2, R3, R2, R3], V4Proxies.Select(RealOf));
        Assert.Equal([R2, R3, R2, R3], V6Proxies.Select(RealOf)); // NAT64 now: the new set has no IPv6
    }

    [Fact]
    public void Refresh_translation_is_only_for_dns_resources_and_known_clients()
    {
        _h.Allow(new GatewayCidrResource(Cidr, IPNetwork.Parse("198.19.0.0/16"), "c", []));
        Assert.Equal(DnsNatError.NotADnsResource, _h.Gateway.RefreshTranslation(GatewayHarness.ClientId, Cidr, "a.example.com", [R1], _h.Now));
        Assert.Equal(DnsNatError.UnknownResource, _h.Gateway.RefreshTranslation(GatewayHarness.ClientId, Dns, "a.example.com", [R1], _h.Now));
        Assert.Equal(DnsNatError.UnknownClient, _h.Gateway.RefreshTranslation(new ClientId(Guid.NewGuid()), Dns, "a.example.com", [R1], _h.Now));
    }
}
