using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tests.Gateway.FilterTests;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>Tunnel spec §5.4 (packet paths) and the deliberate fix (a), driven with real encrypted traffic.</summary>
public sealed class PacketPathTests : IDisposable
{
    private static readonly ResourceId Cidr = new(Guid.Parse("00000000-0000-0000-0000-000000000c1d"));
    private static readonly IPAddress Host4 = IPAddress.Parse("198.18.5.7");
    private static readonly IPAddress Host6 = IPAddress.Parse("2001:2::7");
    private readonly GatewayHarness _h = GatewayHarness.Connect(seed: 11);

    public void Dispose() => _h.Dispose();

    private void AllowCidr(params Filter[] filters)
    {
        _h.Allow(new GatewayCidrResource(Cidr, IPNetwork.Parse("198.18.0.0/16"), "v4", filters));
        _h.Allow(new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("2001:2::/48"), "v6", filters));
    }

    [Fact]
    public void Allowed_packet_is_decrypted_and_written_to_the_tun_unchanged()
    {
        AllowCidr();
        var packet = Udp(Host4, 53);
        var (r, forwarded) = _h.Send(packet);
        Assert.Equal(NetworkInputStatus.Packet, r.Status);
        Assert.Equal(GatewayHarness.ClientId, r.Client);
        Assert.Equal(20, r.Offset);
        Assert.Equal(packet, forwarded);
    }

    [Theory]
    [InlineData("100.64.0.2")] // another client's tunnel address
    [InlineData("198.18.9.9")]
    [InlineData("fd00:2021:1111::2")]
    [InlineData("2001:2::99")]
    public void Source_must_be_exactly_the_clients_tunnel_ip_and_spoofed_sources_are_never_answered(string source)
    {
        AllowCidr(Filter.Tcp(22, 22)); // the UDP packet would also be refused by the filters
        var src = IPAddress.Parse(source);
        var packet = Udp(src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? Host4 : Host6, 53, src);
        var (r, forwarded) = _h.Send(packet);
        Assert.Equal(NetworkInputStatus.Error, r.Status);
        Assert.Equal(GatewayPacketError.SourceNotAllowed, r.Error);
        Assert.Null(forwarded);
        Assert.Empty(_h.ReceivedByClient);
    }

    [Fact]
    public void Packet_of_a_connected_client_without_access_is_an_unknown_client_error()
    {
        var (r, _) = _h.Send(Udp(Host4, 53));
        Assert.Equal(GatewayPacketError.UnknownClient, r.Error);
        Assert.Empty(_h.ReceivedByClient); // without peer state the source cannot be checked: no answer
    }

    [Fact]
    public void Destination_not_allowed_is_answered_with_icmp_administratively_prohibited_v4_fix_of_upstream_silent_drop()
    {
        AllowCidr(Filter.Tcp(22, 22));
        var packet = Udp(Host4, 53);
        var (r, forwarded) = _h.Send(packet);
        Assert.Equal(GatewayPacketError.DestinationNotAllowed, r.Error);
        Assert.Null(forwarded);
        var answer = Assert.Single(_h.ReceivedByClient);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(answer, out var p));
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((3, 13), (icmp.Type, icmp.Code));
        Assert.Equal(Host4, p.Source);
        Assert.Equal(GatewayHarness.ClientV4, p.Destination);
        Assert.True(p.ChecksumsValid());
        Assert.Equal(packet, icmp.Body.ToArray()); // the offending packet, quoted whole
    }

    [Fact]
    public void Destination_not_allowed_is_answered_with_icmpv6_administratively_prohibited_fix_of_upstream_silent_drop()
    {
        AllowCidr(Filter.Tcp(22, 22));
        var (r, _) = _h.Send(Udp(Host6, 53));
        Assert.Equal(GatewayPacketError.DestinationNotAllowed, r.Error);
        var answer = Assert.Single(_h.ReceivedByClient);
        IpPacket.TryParse(answer, out var p);
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((1, 1), (icmp.Type, icmp.Code));
        Assert.Equal(Host6, p.Source);
        Assert.Equal(GatewayHarness.ClientV6, p.Destination);
        Assert.True(p.ChecksumsValid());
    }

    [Fact]
    public void Icmp_answers_are_rate_limited_per_client_to_a_burst_of_10_then_10_per_second()
    {
        AllowCidr(Filter.Tcp(22, 22));
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(GatewayPacketError.DestinationNotAllowed, _h.Send(Udp(Host4, (ushort)(1000 + i))).Result.Error);
        }

        Assert.Equal(IcmpAnswerBudget.Burst, _h.ReceivedByClient.Count);
        _h.Advance(TimeSpan.FromMilliseconds(350)); // three more tokens
        for (int i = 0; i < 50; i++)
        {
            _h.Send(Udp(Host4, (ushort)(2000 + i)));
        }

        Assert.Equal(IcmpAnswerBudget.Burst + 3, _h.ReceivedByClient.Count);
    }

    [Fact]
    public void An_icmp_error_from_the_client_is_refused_but_never_answered()
    {
        AllowCidr(Filter.Tcp(22, 22));
        var b = new byte[1280];
        int n = PacketBuilder.Icmp(b, GatewayHarness.ClientV4, Host4, 3, 3, [0, 0, 0, 0], Udp(GatewayHarness.ClientV4, 9)[..28]);
        var (r, _) = _h.Send(b.AsSpan(0, n));
        Assert.Equal(GatewayPacketError.DestinationNotAllowed, r.Error);
        Assert.Empty(_h.ReceivedByClient);
    }

    [Fact]
    public void A_p2p_control_packet_never_reaches_the_tun()
    {
        AllowCidr();
        var b = new byte[1280];
        int n = PacketBuilder.FzP2pControl(b, 7, "{}"u8);
        var (r, forwarded) = _h.Send(b.AsSpan(0, n));
        Assert.Equal(NetworkInputStatus.Nothing, r.Status);
        Assert.Null(forwarded);
    }

    [Fact]
    public void Resource_reply_is_encrypted_to_the_client_unchanged()
    {
        AllowCidr();
        var reply = Udp(GatewayHarness.ClientV4, 40000, Host4);
        var (r, atClient) = _h.Reply(reply);
        Assert.Equal(TunInputStatus.Send, r.Status);
        Assert.Equal(GatewayHarness.ClientId, r.Client);
        Assert.Equal(GatewayHarness.ClientHost, r.Destination);
        Assert.Equal(reply, atClient);
    }

    [Fact]
    public void Icmp_errors_and_other_protocols_from_a_cidr_resource_reach_the_client_fix_of_upstream_drop()
    {
        AllowCidr();
        var b = new byte[1280];
        int n = PacketBuilder.Icmp(b, Host4, GatewayHarness.ClientV4, 3, 3, [0, 0, 0, 0], Udp(Host4, 53, GatewayHarness.ClientV4)[..28]);
        var (r, atClient) = _h.Reply(b[..n]);
        Assert.Equal(TunInputStatus.Send, r.Status);
        Assert.Equal(b[..n], atClient);
        var gre = Raw(GatewayHarness.ClientV6, 47);
        IpPacket.TryParse(gre, out var p);
        p.SetSource(Host6.GetAddressBytes());
        Assert.Equal(TunInputStatus.Send, _h.Reply(gre).Result.Status);
    }

    [Theory]
    [InlineData("198.18.5.7")]
    [InlineData("ff02::16")] // MLDv2 routers: not a client address (upstream gateway.rs test)
    [InlineData("100.96.0.1")]
    [InlineData("fd00:2021:1111:8000::1")]
    public void Tun_packet_not_destined_for_a_client_range_is_an_error(string destination)
    {
        AllowCidr();
        var (r, _) = _h.Reply(Udp(IPAddress.Parse(destination), 9));
        Assert.Equal(GatewayPacketError.NotForAClient, r.Error);
    }

    [Fact]
    public void Tun_packet_for_an_address_no_client_owns_is_an_error()
    {
        AllowCidr();
        var (r, _) = _h.Reply(Udp(IPAddress.Parse("100.64.0.9"), 9, Host4));
        Assert.Equal(GatewayPacketError.UnknownClient, r.Error);
    }

    [Fact]
    public void Garbage_from_the_tun_and_short_buffers_are_error_values()
    {
        Assert.Equal(GatewayPacketError.InvalidPacket, _h.Gateway.HandleTunInput(new byte[] { 0x45, 1, 2 }, new byte[Node.BufferSize], _h.Now).Error);
        Assert.Equal(GatewayPacketError.BufferTooSmall, _h.Gateway.HandleTunInput(Udp(Host4, 1), new byte[100], _h.Now).Error);
        Assert.Equal(GatewayPacketError.BufferTooSmall, _h.Gateway.HandleNetworkInput(new byte[10], GatewayHarness.ClientHost, GatewayHarness.GatewayHost, new byte[100], _h.Now).Error);
        var r = _h.Gateway.HandleNetworkInput(new byte[] { 4, 0, 0, 0, 1, 2, 3 }, GatewayHarness.ClientHost, GatewayHarness.GatewayHost, new byte[Node.BufferSize], _h.Now);
        Assert.Equal((NetworkInputStatus.Error, GatewayPacketError.Node), (r.Status, r.Error));
    }

    [Fact]
    public void Cleanup_connection_stops_traffic_both_ways_and_a_later_grant_works_over_the_same_connection()
    {
        AllowCidr();
        Assert.Equal(NetworkInputStatus.Packet, _h.Send(Udp(Host4, 53)).Result.Status);
        _h.Gateway.CleanupConnection(GatewayHarness.ClientId);
        Assert.Equal(GatewayPacketError.UnknownClient, _h.Send(Udp(Host4, 53)).Result.Error);
        Assert.Equal(GatewayPacketError.UnknownClient, _h.Reply(Udp(GatewayHarness.ClientV4, 1, Host4)).Result.Error);
        AllowCidr();
        Assert.Equal(NetworkInputStatus.Packet, _h.Send(Udp(Host4, 53)).Result.Status);
    }
}
