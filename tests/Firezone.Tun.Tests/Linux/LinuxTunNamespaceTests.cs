using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Firezone.Tun.Io;
using Firezone.Tun.Linux;
using Firezone.Tun.Netlink;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Linux;

/// <summary>Real /dev/net/tun devices in throw-away network namespaces (root only; skipped with the reason otherwise).</summary>
[Collection("netns")]
public class LinuxTunNamespaceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Device_has_the_default_name_mtu_1280_and_a_close_on_exec_fd()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(configure: false);
        Assert.Equal("tun-firezone", f.Tun.Name);
        Assert.True(f.Tun.InterfaceIndex > 0);
        Assert.Equal(1280, f.Manager.GetLinkState().Mtu);
        Assert.False(f.Manager.GetLinkState().IsUp);
        string fdinfo = File.ReadAllText($"/proc/self/fdinfo/{f.Tun.FileDescriptor}");
        int flags = Convert.ToInt32(fdinfo.Split('\n').First(l => l.StartsWith("flags:", StringComparison.Ordinal)).Split('\t', ' ').Last(), 8);
        Assert.True((flags & 0x80000) != 0, "O_CLOEXEC must be set (upstream leaks the fd to children)");
        Assert.True((flags & 0x800) != 0, "O_NONBLOCK must be set");
        string link = f.Ns.IpIn("-d link show tun-firezone");
        Assert.Contains("tun type tun", link);
        Assert.Contains("pi off", link);
        Assert.Contains("vnet_hdr off", link);
    }

    [Fact]
    public void Manager_sets_addresses_mtu_link_up_routes_and_one_rule_per_family_and_a_repeat_changes_nothing()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(configure: false);
        var first = f.Manager.SetAddresses(TunFixture.TunV4, TunFixture.TunV6);
        Assert.Equal(2, first.AddressesAdded);
        Assert.Equal(2, first.RulesAdded);
        Assert.True(first.LinkBroughtUp);
        Assert.Equal((1280, true), f.Manager.GetLinkState());
        var addresses = f.Manager.GetAddresses();
        Assert.Contains(new InterfaceAddress(TunFixture.TunV4, 32), addresses);
        Assert.Contains(new InterfaceAddress(TunFixture.TunV6, 128), addresses);
        var routes = f.Manager.SetRoutes([TunFixture.RouteV4, TunFixture.RouteV6, IPNetwork.Parse("198.18.5.64/26")]);
        Assert.Equal(3, routes.RoutesAdded);
        Assert.Equal(new[] { "198.18.5.128/25", "198.18.5.64/26", "2001:2:0:6::/64" }, f.Manager.GetRoutes().Select(r => r.ToString()).Order());

        Assert.True(f.Manager.SetAddresses(TunFixture.TunV4, TunFixture.TunV6).IsEmpty);
        Assert.True(f.Manager.SetRoutes([TunFixture.RouteV6, TunFixture.RouteV4, IPNetwork.Parse("198.18.5.64/26")]).IsEmpty);

        // What the kernel shows, independent of our own dump parsing.
        string rules4 = f.Ns.IpIn("-4 rule show");
        Assert.Contains("not from all fwmark 0xfd002021 lookup 539098368", rules4);
        string table = f.Ns.IpIn("-4 route show table 539098368");
        Assert.Contains("198.18.5.128/25 dev tun-firezone", table);
    }

    [Fact]
    public void Repeated_SetAddresses_keeps_one_policy_rule_fixing_upstream_rule_pileup()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(configure: false);
        // What upstream leaves behind after two set_ips calls: two identical priority-less rules.
        f.Ns.IpIn("-4 rule add not fwmark 0xfd002021 lookup 0x2021fd00 proto kernel");
        f.Ns.IpIn("-4 rule add not fwmark 0xfd002021 lookup 0x2021fd00 proto kernel");
        Assert.Equal(2, f.Manager.CountPolicyRules(AddressFamily.InterNetwork));
        var change = f.Manager.SetAddresses(TunFixture.TunV4, TunFixture.TunV6);
        Assert.Equal(1, change.RulesRemoved);
        for (int i = 0; i < 5; i++) f.Manager.SetAddresses(TunFixture.TunV4, TunFixture.TunV6);
        Assert.Equal(1, f.Manager.CountPolicyRules(AddressFamily.InterNetwork));
        Assert.Equal(1, f.Manager.CountPolicyRules(AddressFamily.InterNetworkV6));
        Assert.Single(f.Ns.IpIn("-6 rule show").Split('\n'), l => l.Contains("fwmark 0xfd002021", StringComparison.Ordinal));
    }

    [Fact]
    public void Changing_the_ipv4_address_keeps_ipv4_routes_fixing_upstream_route_flush()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        var change = f.Manager.SetAddresses(IPAddress.Parse("198.18.5.2"), TunFixture.TunV6);
        Assert.Equal(1, change.AddressesAdded);
        Assert.Equal(1, change.AddressesRemoved);
        // No SetRoutes call in between: upstream would have lost 198.18.5.128/25 here.
        Assert.Contains(TunFixture.RouteV4, f.Manager.GetRoutes());
        Assert.Contains("198.18.5.128/25", f.Ns.IpIn("-4 route show table 539098368"));
        Assert.DoesNotContain(new InterfaceAddress(TunFixture.TunV4, 32), f.Manager.GetAddresses());
    }

    [Fact]
    public void SetRoutes_changes_only_the_difference()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(configure: false);
        f.Manager.SetAddresses(TunFixture.TunV4, TunFixture.TunV6);
        var a = IPNetwork.Parse("198.18.5.16/28");
        var b = IPNetwork.Parse("198.18.5.32/28");
        var c = IPNetwork.Parse("2001:2:0:7::/64");
        var d = IPNetwork.Parse("0.0.0.0/0");
        Assert.Equal(3, f.Manager.SetRoutes([a, b, c]).RoutesAdded);
        var change = f.Manager.SetRoutes([b, c, d]);
        Assert.Equal((1, 1), (change.RoutesAdded, change.RoutesRemoved));
        Assert.Equal(new[] { b, c, d }.Select(r => r.ToString()).Order(), f.Manager.GetRoutes().Select(r => r.ToString()).Order());
        Assert.Equal(3, f.Manager.SetRoutes([]).RoutesRemoved);
        Assert.Empty(f.Manager.GetRoutes());
    }

    [Fact]
    public void Dispose_of_the_manager_removes_the_policy_rules()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        using (var other = f.Ns.Run(() => new TunDeviceManager()))
            Assert.Equal(1, other.CountPolicyRules(AddressFamily.InterNetwork));
        using var check = f.Ns.Run(() => new TunDeviceManager());
        Assert.Equal(0, check.CountPolicyRules(AddressFamily.InterNetwork));
        Assert.Equal(0, check.CountPolicyRules(AddressFamily.InterNetworkV6));
    }

    [Fact]
    public void Writing_while_the_link_is_down_is_a_counted_drop_not_an_exception()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(configure: false);
        byte[] packet = new byte[1336];
        int n = PacketBuilder.Udp(packet, TunFixture.RemoteV4, TunFixture.TunV4, 1, 2, "x"u8);
        Assert.False(f.Tun.TryWrite(packet.AsSpan(0, n))); // the kernel answers EIO while the link is down
        Assert.Equal(1, f.Tun.WriteDrops);
        f.Manager.SetAddresses(TunFixture.TunV4, null);
        Assert.True(f.Tun.TryWrite(packet.AsSpan(0, n)));
        Assert.Equal(1, f.Tun.WriteDrops);
    }

    [Fact]
    public void Missing_interface_is_reported()
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        using var m = ns.Run(() => new TunDeviceManager("tun-missing"));
        var e = Assert.Throws<TunDeviceException>(() => m.SetAddresses(TunFixture.TunV4, null));
        Assert.Contains("Interface 'tun-missing' does not exist", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ping_goes_through_the_kernel_into_the_device_and_the_reply_written_back_reaches_ping(bool ipv6)
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        IPAddress remote = ipv6 ? TunFixture.RemoteV6 : TunFixture.RemoteV4;
        IPAddress local = ipv6 ? TunFixture.TunV6 : TunFixture.TunV4;
        byte[] data = "firezone-ping"u8.ToArray();
        var ping = f.Ns.Start(() =>
        {
            using var p = new Ping();
            return p.Send(remote, 5000, data);
        });
        byte[] request = await f.ReadMatchingAsync(b => IpPacket.TryParse(b, out var p) == IpParseError.None && p.TryGetIcmp(out var i)
            && i.Type == (ipv6 ? IcmpMessage.V6EchoRequest : IcmpMessage.V4EchoRequest));
        IpPacket.TryParse(request, out var req);
        Assert.Equal(local, req.Source);
        Assert.Equal(remote, req.Destination);
        Assert.True(req.ChecksumsValid());
        req.TryGetIcmp(out var icmp);
        byte[] reply = new byte[1336];
        int n = PacketBuilder.EchoReply(reply, remote, local, icmp.Identifier, icmp.Sequence, icmp.Body);
        Assert.True(f.Tun.TryWrite(reply.AsSpan(0, n)));
        var result = await ping.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(IPStatus.Success, result.Status);
        Assert.Equal(data, result.Buffer);
    }

    [Theory]
    [InlineData(false, TunReadMode.ReaderThread)]
    [InlineData(true, TunReadMode.ReaderThread)]
    [InlineData(false, TunReadMode.Epoll)]
    [InlineData(true, TunReadMode.Epoll)]
    public async Task Udp_sent_by_a_kernel_socket_is_read_from_the_device(bool ipv6, TunReadMode mode)
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(mode: mode);
        Assert.Equal(mode, f.Tun.ReadMode);
        IPAddress remote = ipv6 ? TunFixture.RemoteV6 : TunFixture.RemoteV4;
        using var socket = f.Ns.Run(() => new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
        byte[] payload = "hello through the tun"u8.ToArray();
        f.Ns.Run(() => socket.SendTo(payload, new IPEndPoint(remote, 5353)));
        byte[] packet = await f.ReadMatchingAsync(b => IpPacket.TryParse(b, out var p) == IpParseError.None && p.TryGetUdp(out var u) && u.DestinationPort == 5353);
        IpPacket.TryParse(packet, out var ip);
        Assert.Equal(ipv6 ? TunFixture.TunV6 : TunFixture.TunV4, ip.Source);
        Assert.Equal(remote, ip.Destination);
        Assert.True(ip.ChecksumsValid());
        ip.TryGetUdp(out var udp);
        Assert.Equal(((IPEndPoint)socket.LocalEndPoint!).Port, udp.SourcePort);
        Assert.Equal(payload, udp.Payload.ToArray());
    }

    [Theory]
    [InlineData(TunReadMode.ReaderThread)]
    [InlineData(TunReadMode.Epoll)]
    public async Task A_device_with_mtu_1500_delivers_whole_1500_byte_packets_in_either_read_mode_fixing_the_reader_thread_cut_at_1280(TunReadMode mode)
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        using var tun = ns.Run(() => LinuxTun.Create("fzbig0", 1500, mode));
        ns.IpIn("addr add 198.18.6.1/24 dev fzbig0");
        ns.IpIn("link set fzbig0 up");
        using var socket = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        byte[] payload = new byte[1500 - 28];
        Random.Shared.NextBytes(payload);
        ns.Run(() => socket.SendTo(payload, new IPEndPoint(IPAddress.Parse("198.18.6.2"), 5354)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[65536];
        while (true)
        {
            if (tun.TryRead(buffer, out int n) == TunReadStatus.Packet)
            {
                // By hand: IpPacket refuses packets over 1,280 bytes (the tunnel's MTU). IPv4, UDP, destination port 5354.
                if (n >= 28 && buffer[0] >> 4 == 4 && buffer[9] == 17 && (buffer[22] << 8 | buffer[23]) == 5354)
                {
                    Assert.Equal(1500, n);
                    Assert.Equal(payload, buffer.AsSpan(28, n - 28).ToArray());
                    return;
                }

                continue;
            }

            await tun.WaitReadableAsync(cts.Token);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Udp_written_into_the_device_is_received_by_a_kernel_socket(bool ipv6)
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        IPAddress local = ipv6 ? TunFixture.TunV6 : TunFixture.TunV4;
        IPAddress remote = ipv6 ? TunFixture.RemoteV6 : TunFixture.RemoteV4;
        using var socket = f.Ns.Run(() =>
        {
            var s = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(local, 0));
            return s;
        });
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        byte[] packet = new byte[1336];
        int n = PacketBuilder.Udp(packet, remote, local, 7000, (ushort)port, "from the tunnel"u8);
        Assert.True(f.Tun.TryWrite(packet.AsSpan(0, n)));
        byte[] received = new byte[1500];
        SocketReceiveFromResult r;
        try
        {
            r = await socket.ReceiveFromAsync(received, new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, 0), Ct)
                .AsTask().WaitAsync(TimeSpan.FromSeconds(5), Ct);
        }
        catch (TimeoutException)
        {
            string stats = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", $"netns exec {f.Ns.Name} cat /proc/net/snmp6 /proc/net/snmp") { RedirectStandardOutput = true })!.StandardOutput.ReadToEnd();
            throw new TimeoutException($"not received; {Convert.ToHexString(packet, 0, n)}\n{stats}\n{f.Ns.IpIn("-6 addr")}\n{f.Ns.IpIn("-6 route show table all")}");
        }
        Assert.Equal("from the tunnel"u8.ToArray(), received.AsSpan(0, r.ReceivedBytes).ToArray());
        Assert.Equal(new IPEndPoint(remote, 7000), r.RemoteEndPoint);
    }

    [Fact]
    public void A_socket_with_the_firezone_mark_bypasses_the_firezone_table()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create();
        var error = f.Ns.Run(() =>
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.SetRawSocketOption(1, 36 /* SO_MARK */, BitConverter.GetBytes(TunDeviceManager.FirezoneFwmark));
            try { s.SendTo("x"u8.ToArray(), new IPEndPoint(TunFixture.RemoteV4, 9)); return SocketError.Success; }
            catch (SocketException e) { return e.SocketErrorCode; }
        });
        Assert.Equal(SocketError.NetworkUnreachable, error);
    }

    [Theory]
    [InlineData(TunReadMode.ReaderThread)]
    [InlineData(TunReadMode.Epoll)]
    public async Task Readiness_waits_for_a_packet_and_honours_cancellation(TunReadMode mode)
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(mode: mode);
        byte[] buffer = new byte[1280];
        while (f.Tun.TryRead(buffer, out _) == TunReadStatus.Packet) { } // drain kernel chatter
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            // Kernel IPv6 chatter (router solicitations) may legitimately wake us; drain and wait again until cancelled.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                while (true)
                {
                    await f.Tun.WaitReadableAsync(cts.Token);
                    while (f.Tun.TryRead(buffer, out _) == TunReadStatus.Packet) { }
                }
            });
        }
        using var socket = f.Ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        var wait = f.Tun.WaitReadableAsync(Ct).AsTask();
        f.Ns.Run(() => socket.SendTo("wake"u8.ToArray(), new IPEndPoint(TunFixture.RemoteV4, 9)));
        await wait.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(TunReadStatus.Packet, f.Tun.TryRead(buffer, out int n));
        Assert.True(n > 0);
    }

    [Theory]
    [InlineData(TunReadMode.ReaderThread)]
    [InlineData(TunReadMode.Epoll)]
    public async Task Deleting_the_interface_makes_reads_report_closed_and_disposing_the_device_removes_it(TunReadMode mode)
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        var tun = ns.Run(() => LinuxTun.Create(readMode: mode));
        using var manager = ns.Run(() => new TunDeviceManager());
        manager.SetAddresses(TunFixture.TunV4, null);
        tun.Dispose();
        Assert.Throws<TunDeviceException>(() => manager.GetLinkState());
        Assert.Equal(TunReadStatus.Closed, tun.TryRead(new byte[1280], out _));
        Assert.Throws<ObjectDisposedException>(() => tun.TryWrite(new byte[20]));

        using var second = ns.Run(() => LinuxTun.Create("tun-fz2", readMode: mode));
        ns.IpIn("link del tun-fz2");
        // The device reports closed (read length 0) instead of hanging; the reader thread notices asynchronously.
        Assert.Equal(0, await second.ReadAsync(new byte[1280], Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), Ct));
        Assert.Equal(TunReadStatus.Closed, second.TryRead(new byte[1280], out _));
    }

    [Fact]
    public async Task Multi_queue_device_delivers_through_every_queue()
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        var queues = ns.Run(() => LinuxTun.CreateMultiQueue("tun-fzmq", 2));
        try
        {
            using var manager = ns.Run(() => new TunDeviceManager("tun-fzmq"));
            manager.SetAddresses(TunFixture.TunV4, null);
            Assert.Contains("multi_queue", ns.IpIn("-d link show tun-fzmq"));
            using var socket = ns.Run(() =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(TunFixture.TunV4, 0));
                return s;
            });
            int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            byte[] packet = new byte[1336];
            byte[] received = new byte[1500];
            foreach (var (q, i) in queues.Select((q, i) => (q, i)))
            {
                int n = PacketBuilder.Udp(packet, TunFixture.RemoteV4, TunFixture.TunV4, 7000, (ushort)port, [(byte)i]);
                Assert.True(q.TryWrite(packet.AsSpan(0, n)));
                var r = await socket.ReceiveFromAsync(received, new IPEndPoint(IPAddress.Any, 0), Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), Ct);
                Assert.Equal(i, received[0]);
            }
        }
        finally
        {
            foreach (var q in queues) q.Dispose();
        }
    }
}
