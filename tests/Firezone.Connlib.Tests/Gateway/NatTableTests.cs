using System.Net;
using Firezone.Connlib.Gateway;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// Tunnel spec §5.5 "NAT table" (bijective inside ↔ outside, port/identifier allocation scanning upward and wrapping,
/// 60 s idle TTL), upstream nat_table.rs' proptests (§10), and the deliberate fix (b) of §11 item 18.
/// </summary>
public sealed class NatTableTests
{
    private const int Cases = 1000;
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);
    private static readonly IpKey Proxy = IpKey.From(IPAddress.Parse("100.96.0.1"));
    private static readonly IpKey Real = IpKey.From(IPAddress.Parse("198.18.7.7"));
    private static readonly IpKey Real2 = IpKey.From(IPAddress.Parse("198.18.7.8"));

    private static readonly Gen<NatProtocol> ProtocolGen = Gen.Elements(NatProtocol.Tcp, NatProtocol.Udp, NatProtocol.Icmp);

    private static readonly Gen<IpKey> AddressGen = Gen.OneOf(
        from b in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 4) select IpKey.From(b),
        from b in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 16) select IpKey.From(b));

    private static readonly Gen<ushort> PortGen = Gen.Choose(0, 65535).Select(p => (ushort)p);

    [Fact]
    public void Translates_back_and_forth_and_a_reply_60s_or_more_after_the_last_packet_finds_nothing()
    {
        var gen = from protocol in ProtocolGen
                  from port in PortGen
                  from proxy in AddressGen
                  from real in AddressGen
                  from delay in Gen.Choose(0, 119)
                  select (protocol, port, proxy, real, delay);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var table = new NatTable();
            Assert.True(table.TranslateOutgoing(c.protocol, c.port, c.proxy, c.real, T0, out var outside));
            Assert.Equal((c.protocol, c.real), (outside.Protocol, outside.Address));
            var at = T0 + TimeSpan.FromSeconds(c.delay);
            table.HandleTimeout(at);
            bool found = table.TranslateIncoming(outside.Protocol, outside.Port, outside.Address, at, out var inside);
            if (c.delay >= 60)
            {
                Assert.False(found);
                Assert.False(table.HasOutsideAddress(c.real));
            }
            else
            {
                Assert.True(found);
                Assert.Equal(new NatKey(c.protocol, c.port, c.proxy), inside);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Can_handle_multiple_packets_with_different_source_protocols_independently()
    {
        var gen = from p1 in ProtocolGen
                  from port1 in PortGen
                  from p2 in ProtocolGen
                  from port2 in PortGen
                  from proxy1 in AddressGen
                  from proxy2 in AddressGen
                  from real1 in AddressGen
                  from real2 in Gen.OneOf(Gen.Constant(real1), AddressGen)
                  where (p1, port1, proxy1) != (p2, port2, proxy2)
                  select (new NatKey(p1, port1, proxy1), real1, new NatKey(p2, port2, proxy2), real2);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var table = new NatTable();
            Assert.True(table.TranslateOutgoing(c.Item1.Protocol, c.Item1.Port, c.Item1.Address, c.real1, T0, out var o1));
            Assert.True(table.TranslateOutgoing(c.Item3.Protocol, c.Item3.Port, c.Item3.Address, c.real2, T0, out var o2));
            Assert.NotEqual(o1, o2); // bijective: two inside tuples never share an outside tuple
            Assert.True(table.TranslateIncoming(o1.Protocol, o1.Port, o1.Address, T0, out var i1));
            Assert.True(table.TranslateIncoming(o2.Protocol, o2.Port, o2.Address, T0, out var i2));
            Assert.Equal((c.Item1, c.Item3), (i1, i2));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Nat_table_stays_a_bijection_under_random_outgoing_traffic_and_housekeeping()
    {
        var op = from protocol in Gen.Elements(NatProtocol.Udp, NatProtocol.Tcp)
                 from port in Gen.Choose(65530, 65535).Select(p => (ushort)p) // a crowded corner: forces scanning and wrapping
                 from proxy in Gen.Elements(0, 1, 2)
                 from real in Gen.Elements(0, 1)
                 from advance in Gen.Elements(0, 0, 0, 30, 61)
                 select (protocol, port, proxy, real, advance);
        Prop.ForAll(Gen.ListOf(op).ToArbitrary(), ops =>
        {
            var table = new NatTable();
            var now = T0;
            var model = new Dictionary<NatKey, NatKey>(); // inside → outside, as the table answered
            var proxies = new[] { Proxy, IpKey.From(IPAddress.Parse("100.96.0.2")), IpKey.From(IPAddress.Parse("fd00:2021:1111:8000::1")) };
            var reals = new[] { Real, Real2 };
            foreach (var (protocol, port, proxy, real, advance) in ops)
            {
                now += TimeSpan.FromSeconds(advance);
                table.HandleTimeout(now);
                var inside = new NatKey(protocol, port, proxies[proxy]);
                Assert.True(table.TranslateOutgoing(protocol, port, proxies[proxy], reals[real], now, out var outside));
                Assert.Equal((protocol, reals[real]), (outside.Protocol, outside.Address));
                Assert.True(outside.Port == port || outside.Port != 0, "the wrapped scan starts at 1");
                model[inside] = outside;
            }

            // Every live session maps back to exactly its inside tuple, and no two share an outside tuple.
            var live = new HashSet<NatKey>();
            foreach (var (inside, outside) in model)
            {
                if (table.TranslateIncoming(outside.Protocol, outside.Port, outside.Address, now, out var back) && back == inside)
                {
                    Assert.True(live.Add(outside));
                }
            }

            Assert.Equal(table.Count, live.Count);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Outgoing_keeps_the_packets_own_port_when_its_outside_tuple_is_free()
    {
        var table = new NatTable();
        Assert.True(table.TranslateOutgoing(NatProtocol.Udp, 5000, Proxy, Real, T0, out var outside));
        Assert.Equal(new NatKey(NatProtocol.Udp, 5000, Real), outside);
    }

    [Fact]
    public void Outgoing_reuses_the_session_while_its_outside_ip_is_the_current_real_ip()
    {
        var table = new NatTable();
        var otherProxy = IpKey.From(IPAddress.Parse("100.96.0.2"));
        table.TranslateOutgoing(NatProtocol.Udp, 5000, Proxy, Real, T0, out var first);
        table.TranslateOutgoing(NatProtocol.Udp, 5000, otherProxy, Real, T0, out var second); // takes 5001
        Assert.True(table.TranslateOutgoing(NatProtocol.Udp, 5000, otherProxy, Real, T0, out var again));
        Assert.Equal(second, again);
        Assert.Equal(2, table.Count);
        Assert.Equal(5000, first.Port);
    }

    [Fact]
    public void Outgoing_to_a_new_real_ip_replaces_the_session()
    {
        var table = new NatTable();
        table.TranslateOutgoing(NatProtocol.Tcp, 5000, Proxy, Real, T0, out var old);
        Assert.True(table.TranslateOutgoing(NatProtocol.Tcp, 5000, Proxy, Real2, T0, out var replaced));
        Assert.Equal(new NatKey(NatProtocol.Tcp, 5000, Real2), replaced);
        Assert.Equal(1, table.Count);
        Assert.False(table.TranslateIncoming(old.Protocol, old.Port, old.Address, T0, out _));
        Assert.False(table.HasOutsideAddress(Real));
    }

    [Fact]
    public void Port_allocation_scans_upward_from_the_packets_own_port()
    {
        var table = new NatTable();
        for (int i = 0; i < 3; i++)
        {
            var proxy = IpKey.From(IPAddress.Parse($"100.96.0.{i + 1}"));
            Assert.True(table.TranslateOutgoing(NatProtocol.Udp, 7000, proxy, Real, T0, out var outside));
            Assert.Equal(7000 + i, outside.Port);
        }
    }

    [Fact]
    public void Port_allocation_wraps_from_65535_to_1()
    {
        var table = new NatTable();
        table.TranslateOutgoing(NatProtocol.Udp, 65535, Proxy, Real, T0, out _);
        table.TranslateOutgoing(NatProtocol.Udp, 1, IpKey.From(IPAddress.Parse("100.96.0.2")), Real, T0, out _);
        Assert.True(table.TranslateOutgoing(NatProtocol.Udp, 65535, IpKey.From(IPAddress.Parse("100.96.0.3")), Real, T0, out var outside));
        Assert.Equal(2, outside.Port); // 65535 taken, 1 taken: next free after wrapping
    }

    [Fact]
    public void Echo_identifiers_are_allocated_like_ports_and_separately_from_them()
    {
        var table = new NatTable();
        table.TranslateOutgoing(NatProtocol.Udp, 9, Proxy, Real, T0, out _);
        Assert.True(table.TranslateOutgoing(NatProtocol.Icmp, 9, IpKey.From(IPAddress.Parse("100.96.0.2")), Real, T0, out var outside));
        Assert.Equal(new NatKey(NatProtocol.Icmp, 9, Real), outside);
    }

    [Fact]
    public void Sessions_idle_for_60s_are_removed_by_housekeeping_and_younger_ones_stay()
    {
        var table = new NatTable();
        table.TranslateOutgoing(NatProtocol.Udp, 1000, Proxy, Real, T0, out _);
        table.TranslateOutgoing(NatProtocol.Udp, 2000, Proxy, Real, T0 + TimeSpan.FromSeconds(1), out _);
        table.HandleTimeout(T0 + TimeSpan.FromSeconds(59.999));
        Assert.Equal(2, table.Count);
        table.HandleTimeout(T0 + TimeSpan.FromSeconds(60));
        Assert.Equal(1, table.Count);
        table.HandleTimeout(T0 + TimeSpan.FromSeconds(61));
        Assert.Equal(0, table.Count);
        Assert.False(table.HasOutsideAddress(Real));
    }

    [Fact]
    public void Nat_sessions_are_refreshed_by_incoming_traffic_too_fix_of_upstream_timestamp_under_the_wrong_key()
    {
        var table = new NatTable();
        table.TranslateOutgoing(NatProtocol.Udp, 1000, Proxy, Real, T0, out var outside);
        for (int s = 30; s <= 300; s += 30)
        {
            var at = T0 + TimeSpan.FromSeconds(s);
            table.HandleTimeout(at);
            Assert.True(table.TranslateIncoming(outside.Protocol, outside.Port, outside.Address, at, out _), $"session gone {s} s after the only outgoing packet");
        }

        table.HandleTimeout(T0 + TimeSpan.FromSeconds(360));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void A_client_cannot_grow_its_nat_table_beyond_the_cap()
    {
        var table = new NatTable();
        for (int i = 0; i < NatTable.MaxSessions; i++)
        {
            Assert.True(table.TranslateOutgoing((NatProtocol)(i & 1), (ushort)(i >> 1), Proxy, Real, T0, out _));
        }

        Assert.False(table.TranslateOutgoing(NatProtocol.Icmp, 1, Proxy, Real, T0, out _));
        Assert.True(table.TranslateOutgoing(NatProtocol.Udp, 0, Proxy, Real, T0, out _)); // existing sessions keep working
        Assert.Equal(NatTable.MaxSessions, table.Count);
    }
}
