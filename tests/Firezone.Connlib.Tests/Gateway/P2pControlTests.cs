using System.Net;
using System.Text;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Connlib.P2pControl;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// Tunnel spec §6 (p2p control protocol inside the tunnel): upstream p2p_control.rs' codec tests (§10) and the gateway's
/// handling of control packets from a real client over the encrypted link.
/// </summary>
public sealed class P2pControlTests : IDisposable
{
    private static readonly ResourceId Dns = new(Guid.Parse("00000000-0000-0000-0000-000000000065"));
    private static readonly ResourceId Other = new(Guid.Parse("00000000-0000-0000-0000-000000000066"));
    private static readonly IPAddress Real = IPAddress.Parse("198.18.7.7");
    private readonly GatewayHarness _h = GatewayHarness.Connect(seed: 21);

    public void Dispose() => _h.Dispose();

    private static IPAddress[] EightProxyIps() =>
        [IPAddress.Loopback, IPAddress.Loopback, IPAddress.Loopback, IPAddress.Loopback,
         IPAddress.IPv6Loopback, IPAddress.IPv6Loopback, IPAddress.IPv6Loopback, IPAddress.IPv6Loopback];

    private static IPAddress[] ClientProxies() =>
    [
        IPAddress.Parse("100.96.0.1"), IPAddress.Parse("100.96.0.2"), IPAddress.Parse("100.96.0.3"), IPAddress.Parse("100.96.0.4"),
        IPAddress.Parse("fd00:2021:1111:8000::"), IPAddress.Parse("fd00:2021:1111:8000::1"), IPAddress.Parse("fd00:2021:1111:8000::2"), IPAddress.Parse("fd00:2021:1111:8000::3"),
    ];

    private static string LongestDomainPossible()
    {
        string label = new('a', 49);
        string domain = $"{label}.{label}.{label}.{label}.{label}.com";
        Assert.Equal(253, domain.Length);
        return domain;
    }

    private static DomainStatus DecodeStatus(byte[] packet)
    {
        Assert.Equal(IpParseError.None, IpPacket.TryParse(packet, out var p));
        Assert.True(DnsResourceNatMessages.TryGetEvent(p, out byte type, out var body));
        Assert.Equal(DnsResourceNatMessages.DomainStatusEvent, type);
        Assert.True(DnsResourceNatMessages.TryDecodeDomainStatus(body, out var status));
        return status;
    }

    private byte[] AssignedIpsPacket(ResourceId resource, string domain, IPAddress[] proxies)
    {
        var b = new byte[1280];
        int n = DnsResourceNatMessages.WriteAssignedIpsPacket(b, resource, domain, proxies);
        Assert.True(n > 0);
        return b[..n];
    }

    // --- codec (upstream p2p_control.rs) ---

    [Fact]
    public void Max_payload_length_of_assigned_ips_is_402_bytes_and_fits_a_packet()
    {
        var json = DnsResourceNatMessages.SerializeAssignedIps(new ResourceId(new Guid("00000000-0000-0000-0000-000000000064")), LongestDomainPossible(), EightProxyIps());
        Assert.Equal(402, json.Length);
        Assert.True(json.Length <= IpConstants.MaxPacketSize);
    }

    [Fact]
    public void Assigned_ips_serde_roundtrip_through_a_p2p_control_packet()
    {
        var packet = AssignedIpsPacket(new ResourceId(new Guid("00000000-0000-0000-0000-000000000065")), "example.com", EightProxyIps());
        IpPacket.TryParse(packet, out var p);
        Assert.True(DnsResourceNatMessages.TryGetEvent(p, out byte type, out var body));
        Assert.Equal(DnsResourceNatMessages.AssignedIpsEvent, type);
        Assert.True(DnsResourceNatMessages.TryDecodeAssignedIps(body, out var decoded));
        Assert.Equal(Dns, decoded.Resource);
        Assert.Equal("example.com", decoded.Domain);
        Assert.Equal(EightProxyIps(), decoded.ProxyIps);
    }

    [Fact]
    public void Domain_status_serde_roundtrip_through_a_p2p_control_packet()
    {
        var b = new byte[1280];
        int n = DnsResourceNatMessages.WriteDomainStatusPacket(b, Dns, "example.com", NatStatus.Active);
        var status = DecodeStatus(b[..n]);
        Assert.Equal(new DomainStatus(Dns, "example.com", NatStatus.Active), status);
        Assert.Equal("""{"resource":"00000000-0000-0000-0000-000000000065","domain":"example.com","status":"Active"}""",
            Encoding.UTF8.GetString(DnsResourceNatMessages.SerializeDomainStatus(Dns, "example.com", NatStatus.Active)));
    }

    [Fact]
    public void Domain_status_decodes_an_unknown_nat_status_as_inactive()
    {
        var body = """{"resource":"00000000-0000-0000-0000-000000000065","domain":"example.com","status":"what_is_this"}"""u8;
        Assert.True(DnsResourceNatMessages.TryDecodeDomainStatus(body, out var status));
        Assert.Equal(new DomainStatus(Dns, "example.com", NatStatus.Inactive), status);
    }

    [Fact]
    public void Assigned_ips_needs_exactly_8_proxy_ips()
    {
        Assert.Throws<ArgumentException>(() => DnsResourceNatMessages.SerializeAssignedIps(Dns, "example.com", EightProxyIps()[..7]));
        var seven = """{"resource":"00000000-0000-0000-0000-000000000065","domain":"example.com","proxy_ips":["127.0.0.1","127.0.0.1","127.0.0.1","127.0.0.1","::1","::1","::1"]}"""u8;
        Assert.False(DnsResourceNatMessages.TryDecodeAssignedIps(seven, out _));
    }

    [Fact]
    public void A_p2p_control_packet_is_recognised_only_with_protocol_0xff_and_source_and_destination_unspecified()
    {
        var good = AssignedIpsPacket(Dns, "example.com", EightProxyIps());
        IpPacket.TryParse(good, out var p);
        Assert.True(p.IsFzP2pControl);
        Assert.Equal((IPAddress.IPv6Any, IPAddress.IPv6Any, 0), (p.Source, p.Destination, (int)good[7])); // hop limit 0

        var wrongSource = (byte[])good.Clone();
        IpPacket.TryParse(wrongSource, out var ws);
        ws.SetSource(IPAddress.IPv6Loopback);
        Assert.False(ws.IsFzP2pControl);
        var wrongProtocol = (byte[])good.Clone();
        wrongProtocol[6] = 17;
        IpPacket.TryParse(wrongProtocol, out var wp);
        Assert.False(DnsResourceNatMessages.TryGetEvent(wp, out _, out _));
    }

    // --- gateway handling (§6) ---

    [Fact]
    public void Assigned_ips_for_an_authorised_resource_becomes_a_resolve_dns_event_and_never_reaches_the_tun()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        var (r, forwarded) = _h.Send(AssignedIpsPacket(Dns, "app.example.com", ClientProxies()));
        Assert.Equal(NetworkInputStatus.Nothing, r.Status);
        Assert.Null(forwarded);
        var e = Assert.IsType<ResolveDns>(Assert.Single(_h.TakeEvents()));
        Assert.Equal(new ResolveDns("app.example.com", GatewayHarness.ClientId, Dns, ClientProxies()), e);
        Assert.Empty(_h.ReceivedByClient);
    }

    [Fact]
    public void Assigned_ips_for_a_resource_not_authorised_is_answered_domain_status_inactive_at_once()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        _h.Send(AssignedIpsPacket(Other, "app.example.com", ClientProxies()));
        Assert.Empty(_h.TakeEvents());
        Assert.Equal(new DomainStatus(Other, "app.example.com", NatStatus.Inactive), DecodeStatus(Assert.Single(_h.ReceivedByClient)));
    }

    [Fact]
    public void Undecodable_assigned_ips_and_unknown_event_types_are_ignored()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        var b = new byte[1280];
        int n = PacketBuilder.FzP2pControl(b, DnsResourceNatMessages.AssignedIpsEvent, "{\"resource\":42}"u8);
        Assert.Equal(NetworkInputStatus.Nothing, _h.Send(b.AsSpan(0, n)).Result.Status);
        n = PacketBuilder.FzP2pControl(b, 7, DnsResourceNatMessages.SerializeAssignedIps(Dns, "app.example.com", ClientProxies()));
        Assert.Equal(NetworkInputStatus.Nothing, _h.Send(b.AsSpan(0, n)).Result.Status);
        Assert.Empty(_h.TakeEvents());
        Assert.Empty(_h.ReceivedByClient);
    }

    [Fact]
    public void Domain_resolved_sets_up_nat_and_replies_domain_status_active()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        _h.Send(AssignedIpsPacket(Dns, "app.example.com", ClientProxies()));
        var request = Assert.IsType<ResolveDns>(Assert.Single(_h.TakeEvents()));
        Assert.Equal(DnsNatError.None, _h.Gateway.HandleDomainResolved(request, [Real], _h.Now));
        _h.Pump();
        Assert.Equal(new DomainStatus(Dns, "app.example.com", NatStatus.Active), DecodeStatus(Assert.Single(_h.ReceivedByClient)));

        var (r, forwarded) = _h.Send(FilterTests.Udp(IPAddress.Parse("100.96.0.3"), 53, GatewayHarness.ClientV4));
        Assert.Equal(NetworkInputStatus.Packet, r.Status);
        IpPacket.TryParse(forwarded!, out var p);
        Assert.Equal(Real, p.Destination);
    }

    [Fact]
    public void Domain_resolved_with_a_failing_nat_setup_replies_domain_status_inactive()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        var request = new ResolveDns("app.other.com", GatewayHarness.ClientId, Dns, ClientProxies());
        Assert.Equal(DnsNatError.DomainMismatch, _h.Gateway.HandleDomainResolved(request, [Real], _h.Now));
        _h.Pump();
        Assert.Equal(NatStatus.Inactive, DecodeStatus(Assert.Single(_h.ReceivedByClient)).Status);
    }

    [Fact]
    public void Domain_resolved_for_an_unknown_client_is_an_error_and_sends_nothing()
    {
        var request = new ResolveDns("app.example.com", new ClientId(Guid.NewGuid()), Dns, ClientProxies());
        Assert.Equal(DnsNatError.UnknownClient, _h.Gateway.HandleDomainResolved(request, [Real], _h.Now));
        _h.Pump();
        Assert.Empty(_h.ReceivedByClient);
    }

    [Fact]
    public void Pending_resolve_dns_events_per_client_are_capped()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        // Without polling events in between (the harness's Send pumps, so drive the gateway directly).
        var wire = new byte[Snownet.Node.BufferSize];
        var plain = new byte[Snownet.Node.BufferSize];
        for (int i = 0; i < GatewayState.MaxPendingResolvesPerClient + 10; i++)
        {
            var packet = AssignedIpsPacket(Dns, $"m{i}.example.com", ClientProxies());
            var e = _h.Client.Encapsulate(GatewayHarness.GatewayConnection, packet, wire, _h.Now);
            _h.Gateway.HandleNetworkInput(wire.AsSpan(e.Offset, e.Length), GatewayHarness.ClientHost, GatewayHarness.GatewayHost, plain, _h.Now);
        }

        int resolves = 0;
        while (_h.Gateway.PollEvent() is { } ev)
        {
            resolves += ev is ResolveDns ? 1 : 0;
        }

        Assert.Equal(GatewayState.MaxPendingResolvesPerClient, resolves);
    }

    [Fact]
    public void The_resolve_cap_holds_when_a_peer_is_removed_and_granted_again_while_its_events_wait()
    {
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        SendAssignedIpsWithoutPolling(10, "old");
        _h.Gateway.CleanupConnection(GatewayHarness.ClientId);
        _h.Allow(new GatewayDnsResource(Dns, "*.example.com", "dns", []));
        Assert.Equal(10, DrainResolves()); // the earlier peer's events are still delivered
        Assert.Equal(0, _h.Gateway.PeerOf(GatewayHarness.ClientId)!.PendingResolves);
        SendAssignedIpsWithoutPolling(GatewayState.MaxPendingResolvesPerClient + 10, "new");
        Assert.Equal(GatewayState.MaxPendingResolvesPerClient, DrainResolves());
    }

    private void SendAssignedIpsWithoutPolling(int count, string prefix)
    {
        var wire = new byte[Snownet.Node.BufferSize];
        var plain = new byte[Snownet.Node.BufferSize];
        for (int i = 0; i < count; i++)
        {
            var packet = AssignedIpsPacket(Dns, $"{prefix}{i}.example.com", ClientProxies());
            var e = _h.Client.Encapsulate(GatewayHarness.GatewayConnection, packet, wire, _h.Now);
            _h.Gateway.HandleNetworkInput(wire.AsSpan(e.Offset, e.Length), GatewayHarness.ClientHost, GatewayHarness.GatewayHost, plain, _h.Now);
        }
    }

    private int DrainResolves()
    {
        int resolves = 0;
        while (_h.Gateway.PollEvent() is { } ev)
        {
            resolves += ev is ResolveDns ? 1 : 0;
        }

        return resolves;
    }
}
