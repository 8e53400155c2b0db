using System.Buffers.Binary;
using System.Text;
using Firezone.Connlib.Hosting;
using Firezone.Tun.Tests.Linux;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>
/// Network-change detection over rtnetlink (RTMGRP_LINK, IPV4/IPV6_IFADDR, IPV4/IPV6_ROUTE), debounced into one event,
/// ignoring the TUN's own changes and Firezone's routing table — in a network namespace created for the test.
/// </summary>
public sealed class NetworkChangeMonitorTests
{
    private static byte[] Message(ushort type, byte[] body)
    {
        var message = new byte[16 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        body.CopyTo(message, 16);
        return message;
    }

    private static byte[] Attribute(ushort type, byte[] payload)
    {
        var attribute = new byte[(4 + payload.Length + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)(4 + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(attribute.AsSpan(2), type);
        payload.CopyTo(attribute, 4);
        return attribute;
    }

    private static byte[] Link(ushort type, int index, string name)
    {
        var body = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), index);
        return Message(type, [.. body, .. Attribute(3, [.. Encoding.ASCII.GetBytes(name), 0])]);
    }

    private static byte[] Address(int index)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), index);
        return Message(NetlinkChangeFilter.RTM_NEWADDR, body);
    }

    private static byte[] Route(int oif, uint table)
    {
        var body = new byte[12];
        body[4] = table > 255 ? (byte)252 : (byte)table;
        var oifBytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(oifBytes, oif);
        var tableBytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tableBytes, table);
        return Message(NetlinkChangeFilter.RTM_NEWROUTE, [.. body, .. Attribute(15, tableBytes), .. Attribute(4, oifBytes)]);
    }

    [Fact]
    public void Filter_reports_links_addresses_and_routes_of_other_interfaces()
    {
        Assert.Equal(NetlinkChangeFilter.RTM_NEWLINK, NetlinkChangeFilter.FirstRelevant(Link(NetlinkChangeFilter.RTM_NEWLINK, 2, "eth0"), 7, "tun-firezone"));
        Assert.Equal(NetlinkChangeFilter.RTM_NEWADDR, NetlinkChangeFilter.FirstRelevant(Address(2), 7, "tun-firezone"));
        Assert.Equal(NetlinkChangeFilter.RTM_NEWROUTE, NetlinkChangeFilter.FirstRelevant(Route(2, 254), 7, "tun-firezone"));
    }

    [Fact]
    public void Filter_ignores_the_tun_and_firezones_routing_table()
    {
        Assert.Equal(0, NetlinkChangeFilter.FirstRelevant(Link(NetlinkChangeFilter.RTM_NEWLINK, 9, "tun-firezone"), 0, "tun-firezone"));
        Assert.Equal(0, NetlinkChangeFilter.FirstRelevant(Address(7), 7, "tun-firezone"));
        Assert.Equal(0, NetlinkChangeFilter.FirstRelevant(Route(7, 255), 7, "tun-firezone"));
        Assert.Equal(0, NetlinkChangeFilter.FirstRelevant(Route(2, 0x2021fd00), 7, "tun-firezone"));
        // One relevant message after ignored ones in the same datagram is found.
        Assert.Equal(NetlinkChangeFilter.RTM_NEWADDR, NetlinkChangeFilter.FirstRelevant([.. Address(7), .. Address(3)], 7, "tun-firezone"));
    }

    [Fact]
    public void Filter_never_throws_on_garbage()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            _ = NetlinkChangeFilter.FirstRelevant(bytes, 7, "tun-firezone");
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public async Task Changes_in_a_namespace_are_debounced_into_one_event_and_the_tuns_own_changes_are_ignored()
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        int events = 0;
        var fired = new SemaphoreSlim(0);
        var monitor = ns.Run(() =>
        {
            var m = new NetworkChangeMonitor(new NetworkChangeMonitorOptions { Debounce = TimeSpan.FromMilliseconds(300), MaxDelay = TimeSpan.FromSeconds(2) });
            m.Changed += (_, _) =>
            {
                Interlocked.Increment(ref events);
                fired.Release();
            };
            m.Start();
            return m;
        });
        using (monitor)
        {
            // The TUN's own interface (a persistent TUN made with ip tuntap here), its addresses and routes, and Firezone's table: no event.
            ns.IpIn("tuntap add dev tun-firezone mode tun");
            ns.IpIn("addr add 198.18.100.1/32 dev tun-firezone");
            ns.IpIn("addr add 2001:2::100/128 dev tun-firezone nodad");
            ns.IpIn("link set tun-firezone up");
            ns.IpIn("route add 198.19.0.0/16 dev tun-firezone table 539098368");
            Assert.False(await fired.WaitAsync(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken), "the TUN's own changes must not be network changes");

            // Another interface coming up with addresses: one debounced event.
            ns.IpIn("tuntap add dev fz0 mode tun");
            ns.IpIn("addr add 198.18.5.1/24 dev fz0");
            ns.IpIn("addr add 2001:2::5/64 dev fz0 nodad");
            ns.IpIn("link set fz0 up");
            Assert.True(await fired.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken), "a new interface with addresses must be reported");
            Assert.False(await fired.WaitAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken), "one burst, one event");
            Assert.Equal(1, Volatile.Read(ref events));

            // An address removed later: a second event.
            ns.IpIn("addr del 198.18.5.1/24 dev fz0");
            Assert.True(await fired.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
            Assert.Equal(2, monitor.ChangesReported);
        }
    }

    [Fact]
    public async Task FireOnStart_reports_once_right_after_start_as_upstreams_notifiers()
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        var fired = new SemaphoreSlim(0);
        using var monitor = ns.Run(() =>
        {
            var m = new NetworkChangeMonitor(new NetworkChangeMonitorOptions { FireOnStart = true });
            m.Changed += (_, _) => fired.Release();
            m.Start();
            return m;
        });
        Assert.True(await fired.WaitAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken));
        Assert.False(await fired.WaitAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
    }
}
