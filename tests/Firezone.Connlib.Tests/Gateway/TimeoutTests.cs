using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Connlib.P2pControl;
using Firezone.Snownet;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// Tunnel spec §5.6 (timeouts, expiry, events: the 1 s check, expiry by the wall clock, translation liveness and
/// <see cref="RefreshDns"/>, NAT housekeeping, removal of peers without resources, event order) and §11 items 20–21.
/// </summary>
public sealed class TimeoutTests
{
    private static readonly ResourceId Cidr = new(Guid.Parse("00000000-0000-0000-0000-0000000000c1"));
    private static readonly ResourceId Dns = new(Guid.Parse("00000000-0000-0000-0000-0000000000d1"));
    private static readonly ClientId Client = new(Guid.Parse("00000000-0000-0000-0000-0000000000b1"));
    private static readonly IPAddress V4 = IPAddress.Parse("100.64.0.1");
    private static readonly IPAddress V6 = IPAddress.Parse("fd00:2021:1111::1");
    private static readonly DateTimeOffset U = new(2024, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress P1 = IPAddress.Parse("100.96.0.1");
    private static readonly IPAddress P2 = IPAddress.Parse("100.96.0.2");
    private static readonly IPAddress R1 = IPAddress.Parse("198.18.7.1");
    private static readonly IPAddress R2 = IPAddress.Parse("198.18.7.2");

    private static GatewayState NewGateway()
    {
        var seed = new byte[32];
        seed[0] = 9;
        return new GatewayState(seed, TimeSpan.Zero, U);
    }

    private static GatewayCidrResource CidrResource() => new(Cidr, IPNetwork.Parse("198.18.0.0/16"), "cidr", []);

    private static GatewayDnsResource DnsResource() => new(Dns, "*.example.com", "dns", []);

    private static void Grant(GatewayState g, DateTimeOffset? expiresAt, TimeSpan now) =>
        g.AllowAccess(Client, V4, V6, expiresAt, CidrResource(), null, now);

    [Fact]
    public void First_handle_timeout_only_schedules_the_expiry_check_1s_later()
    {
        using var g = NewGateway();
        var now = TimeSpan.FromSeconds(10);
        Grant(g, U - TimeSpan.FromSeconds(5), now); // already expired
        g.HandleTimeout(now, U);
        Assert.Equal(1, g.ClientCount); // the first call checks nothing
        Assert.True(g.PollTimeout() <= now + TimeSpan.FromSeconds(1));
        g.HandleTimeout(now + TimeSpan.FromMilliseconds(999), U);
        Assert.Equal(1, g.ClientCount); // not due yet
        g.HandleTimeout(now + TimeSpan.FromSeconds(1), U);
        Assert.Equal(0, g.ClientCount);
    }

    [Fact]
    public void Expiry_check_runs_every_1s_and_not_more_often()
    {
        using var g = NewGateway();
        var now = TimeSpan.FromSeconds(10);
        g.HandleTimeout(now, U);
        g.HandleTimeout(now + TimeSpan.FromSeconds(1), U); // a check: next one due at 12 s
        Grant(g, U + TimeSpan.FromSeconds(1), now);
        g.HandleTimeout(now + TimeSpan.FromSeconds(1.5), U + TimeSpan.FromSeconds(60));
        Assert.Equal(1, g.ClientCount);
        Assert.True(g.PollTimeout() <= now + TimeSpan.FromSeconds(2));
        g.HandleTimeout(now + TimeSpan.FromSeconds(2), U + TimeSpan.FromSeconds(60));
        Assert.Equal(0, g.ClientCount);
    }

    [Fact]
    public void Access_expires_by_the_wall_clock_at_expires_at_and_not_by_the_monotonic_clock()
    {
        using var g = NewGateway();
        var now = TimeSpan.FromSeconds(1);
        Grant(g, U + TimeSpan.FromSeconds(30), now);
        g.HandleTimeout(now, U);
        for (int s = 1; s <= 100; s++)
        {
            g.HandleTimeout(now + TimeSpan.FromSeconds(s), U + TimeSpan.FromSeconds(29)); // the wall clock stands still
        }

        Assert.Equal(1, g.ClientCount);
        g.HandleTimeout(now + TimeSpan.FromSeconds(101), U + TimeSpan.FromSeconds(30)); // expires_at <= utcNow
        Assert.Equal(0, g.ClientCount);
    }

    [Fact]
    public void Only_the_expired_resource_is_dropped_and_the_filters_are_recomputed()
    {
        using var g = NewGateway();
        g.HandleTimeout(TimeSpan.Zero, U);
        Grant(g, U + TimeSpan.FromSeconds(1), TimeSpan.Zero);
        g.AllowAccess(Client, V4, V6, null, new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("198.19.0.0/16"), "other", []), null, TimeSpan.Zero);
        g.HandleTimeout(TimeSpan.FromSeconds(1), U + TimeSpan.FromSeconds(1));
        var peer = g.PeerOf(Client)!;
        Assert.False(FilterTests.Allowed(peer, FilterTests.Udp(IPAddress.Parse("198.18.1.1"), 53, V4)));
        Assert.True(FilterTests.Allowed(peer, FilterTests.Udp(IPAddress.Parse("198.19.1.1"), 53, V4)));
    }

    [Fact]
    public void Peers_without_resources_are_removed_at_the_check_and_their_connections_are_left_alone()
    {
        using var h = GatewayHarness.Connect(seed: 61);
        h.Allow(CidrResource(), expiresAt: h.UtcNow + TimeSpan.FromSeconds(2));
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(IPAddress.Parse("198.18.1.1"), 53)).Result.Status);
        h.AdvanceInSteps(TimeSpan.FromSeconds(3));
        Assert.Null(h.Gateway.PeerOf(GatewayHarness.ClientId));
        Assert.Equal(GatewayPacketError.UnknownClient, h.Send(FilterTests.Udp(IPAddress.Parse("198.18.1.1"), 53)).Result.Error);
        Assert.True(h.Gateway.InnerNode.TryGetConnectionId(h.Client.PublicKey.Span, out _));
        h.Allow(CidrResource());
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(IPAddress.Parse("198.18.1.1"), 53)).Result.Status);
    }

    [Fact]
    public void A_failed_connection_removes_the_peer()
    {
        using var h = GatewayHarness.Connect(seed: 62);
        h.Allow(CidrResource());
        h.Send(FilterTests.Udp(IPAddress.Parse("198.18.1.1"), 53));
        // The client vanishes: only the gateway's clock moves, nothing it sends is answered.
        var now = h.Now;
        var utc = h.UtcNow;
        var end = now + TimeSpan.FromMinutes(10);
        while (now < end && h.Gateway.PeerOf(GatewayHarness.ClientId) is not null)
        {
            var next = h.Gateway.PollTimeout() ?? now + TimeSpan.FromSeconds(1);
            var step = next > now ? next - now : TimeSpan.FromMilliseconds(1);
            if (step > TimeSpan.FromSeconds(1))
            {
                step = TimeSpan.FromSeconds(1);
            }

            now += step;
            utc += step;
            h.Gateway.HandleTimeout(now, utc);
            while (h.Gateway.PollTransmit() is not null)
            {
            }

            while (h.Gateway.PollEvent() is not null)
            {
            }
        }

        Assert.Null(h.Gateway.PeerOf(GatewayHarness.ClientId));
        Assert.False(h.Gateway.InnerNode.TryGetConnectionId(h.Client.PublicKey.Span, out _));
    }

    [Fact]
    public void Nat_housekeeping_runs_in_the_check_and_removes_sessions_idle_for_60s()
    {
        using var h = GatewayHarness.Connect(seed: 63);
        h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.com", [P1], [R1]));
        h.Send(FilterTests.Udp(P1, 53, GatewayHarness.ClientV4));
        var nat = h.Gateway.PeerOf(GatewayHarness.ClientId)!.Nat;
        Assert.Equal(1, nat.Count);
        h.AdvanceInSteps(TimeSpan.FromSeconds(59));
        Assert.Equal(1, nat.Count);
        h.AdvanceInSteps(TimeSpan.FromSeconds(2));
        Assert.Equal(0, nat.Count);
    }

    [Fact]
    public void Nat_sessions_stay_while_only_replies_arrive_fix_of_upstream_outgoing_only_refresh()
    {
        using var h = GatewayHarness.Connect(seed: 64);
        h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.com", [P1], [R1]));
        h.Send(FilterTests.Udp(P1, 53, GatewayHarness.ClientV4));
        var reply = FilterTests.Udp(GatewayHarness.ClientV4, 1, R1);
        for (int i = 0; i < 6; i++)
        {
            h.AdvanceInSteps(TimeSpan.FromSeconds(30));
            var (r, atClient) = h.Reply(reply);
            Assert.Equal(TunInputStatus.Send, r.Status);
            IpPacket.TryParse(atClient!, out var p);
            Assert.Equal(P1, p.Source); // still un-NATed 180 s after the only outgoing packet
        }
    }

    private static List<RefreshDns> Refreshes(GatewayHarness h) => h.TakeEvents().OfType<RefreshDns>().ToList();

    [Fact]
    public void Refresh_dns_fires_when_every_translation_of_the_name_is_silent_for_120s_after_outgoing_traffic_and_repeats_every_second()
    {
        using var h = GatewayHarness.Connect(seed: 65);
        h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.com", [P1, P2], [R1, R2]));
        h.AdvanceInSteps(TimeSpan.FromSeconds(115));
        h.Send(FilterTests.Udp(P1, 53, GatewayHarness.ClientV4)); // starts the grace period (115 + 10 >= 120)
        h.Send(FilterTests.Udp(P2, 53, GatewayHarness.ClientV4));
        h.AdvanceInSteps(TimeSpan.FromSeconds(4));
        Assert.Empty(Refreshes(h)); // 119 s: not 120 s silent yet
        h.AdvanceInSteps(TimeSpan.FromSeconds(1));
        var e = Assert.Single(Refreshes(h)); // both translations expired: one event per (name, resource) and run
        Assert.Equal(new RefreshDns("a.example.com", GatewayHarness.ClientId, Dns), e);
        h.AdvanceInSteps(TimeSpan.FromSeconds(3));
        Assert.Equal(3, Refreshes(h).Count); // re-emitted every run while the condition holds
    }

    [Fact]
    public void Refresh_dns_is_not_emitted_while_a_sibling_translation_of_the_name_has_incoming_traffic()
    {
        using var h = GatewayHarness.Connect(seed: 66);
        h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.com", [P1, P2], [R1, R2]));
        h.AdvanceInSteps(TimeSpan.FromSeconds(100));
        h.Send(FilterTests.Udp(P2, 53, GatewayHarness.ClientV4));
        h.Reply(FilterTests.Udp(GatewayHarness.ClientV4, 1, R2));
        h.AdvanceInSteps(TimeSpan.FromSeconds(15));
        h.Send(FilterTests.Udp(P1, 53, GatewayHarness.ClientV4)); // P1 expires at 120 s, P2 is not silent
        h.AdvanceInSteps(TimeSpan.FromSeconds(10));
        Assert.True(h.Gateway.PeerOf(GatewayHarness.ClientId)!.Translations[IpKey.From(P1)].IsExpired(h.Now));
        Assert.Empty(Refreshes(h));
    }

    [Fact]
    public void Refreshing_with_identical_ips_resets_nothing_and_refresh_dns_keeps_coming()
    {
        using var h = GatewayHarness.Connect(seed: 67);
        h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.com", [P1], [R1]));
        h.AdvanceInSteps(TimeSpan.FromSeconds(115));
        h.Send(FilterTests.Udp(P1, 53, GatewayHarness.ClientV4));
        h.AdvanceInSteps(TimeSpan.FromSeconds(6));
        Assert.NotEmpty(Refreshes(h));
        Assert.Equal(DnsNatError.None, h.Gateway.RefreshTranslation(GatewayHarness.ClientId, Dns, "a.example.com", [R1], h.Now));
        h.AdvanceInSteps(TimeSpan.FromSeconds(1));
        Assert.Single(Refreshes(h));

        Assert.Equal(DnsNatError.None, h.Gateway.RefreshTranslation(GatewayHarness.ClientId, Dns, "a.example.com", [R2], h.Now));
        h.AdvanceInSteps(TimeSpan.FromSeconds(3));
        Assert.Empty(Refreshes(h)); // a new, never-used translation never expires
    }

    [Fact]
    public void Poll_event_returns_state_level_events_before_per_peer_refresh_dns()
    {
        using var h = GatewayHarness.Connect(seed: 68);
        h.Allow(DnsResource(), nat: new DnsResourceNatEntry("a.example.com", [P1], [R1]));
        h.AdvanceInSteps(TimeSpan.FromSeconds(115));
        h.Send(FilterTests.Udp(P1, 53, GatewayHarness.ClientV4));
        h.AdvanceInSteps(TimeSpan.FromSeconds(5));
        h.TakeEvents();

        // Without the harness's pumping: a due check queues RefreshDns, then an AssignedIps queues ResolveDns.
        var now = h.Now + TimeSpan.FromSeconds(1);
        h.Gateway.HandleTimeout(now, h.UtcNow + TimeSpan.FromSeconds(1));
        var wire = new byte[Node.BufferSize];
        var plain = new byte[Node.BufferSize];
        var packet = new byte[1280];
        IPAddress[] proxies = [P1, P2, IPAddress.Parse("100.96.0.3"), IPAddress.Parse("100.96.0.4"),
            IPAddress.Parse("fd00:2021:1111:8000::"), IPAddress.Parse("fd00:2021:1111:8000::1"), IPAddress.Parse("fd00:2021:1111:8000::2"), IPAddress.Parse("fd00:2021:1111:8000::3")];
        int n = DnsResourceNatMessages.WriteAssignedIpsPacket(packet, Dns, "b.example.com", proxies);
        var e = h.Client.Encapsulate(GatewayHarness.GatewayConnection, packet.AsSpan(0, n), wire, h.Now);
        h.Gateway.HandleNetworkInput(wire.AsSpan(e.Offset, e.Length), GatewayHarness.ClientHost, GatewayHarness.GatewayHost, plain, now);

        var events = new List<GatewayEvent>();
        while (h.Gateway.PollEvent() is { } ev)
        {
            if (ev is not (AddedIceCandidates or RemovedIceCandidates))
            {
                events.Add(ev);
            }
        }

        Assert.Collection(events, x => Assert.IsType<ResolveDns>(x), x => Assert.IsType<RefreshDns>(x));
    }
}
