using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Io;

namespace Firezone.Connlib.Tests.Io;

/// <summary>The tunnel's UDP sockets over loopback (hosts-and-tun spec §4.2).</summary>
public sealed class TunnelUdpSocketTests
{
    private static bool HasLoopback(AddressFamily family)
    {
        try
        {
            using var s = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static List<(byte[] Bytes, IPEndPoint From, IPEndPoint Local)> ReceiveAll(TunnelUdpSocket socket, int expected, TimeSpan timeout)
    {
        var got = new List<(byte[], IPEndPoint, IPEndPoint)>();
        var deadline = DateTime.UtcNow + timeout;
        while (got.Count < expected && DateTime.UtcNow < deadline)
        {
            socket.Socket.Poll(50_000, SelectMode.SelectRead);
            socket.Receive();
            while (socket.TryNextDatagram(out var datagram, out var from, out var local))
            {
                got.Add((datagram.ToArray(), from, local));
            }
        }

        return got;
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public void A_socket_bound_to_the_wildcard_reports_each_datagrams_destination_ip_and_its_port_as_local(AddressFamily family)
    {
        Assert.SkipUnless(HasLoopback(family), $"no {family} loopback here");
        var loopback = family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        var counters = new TunnelCounters();
        using var socket = TunnelUdpSocket.Bind(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0, 0, counters);
        using var sender = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(loopback, 0));

        sender.SendTo([1, 2, 3], new IPEndPoint(loopback, socket.Port));
        var got = Assert.Single(ReceiveAll(socket, 1, TimeSpan.FromSeconds(5)));

        Assert.Equal(new IPEndPoint(loopback, socket.Port), got.Local); // not the wildcard: pktinfo
        Assert.Equal(sender.LocalEndPoint, got.From);
        Assert.Equal([1, 2, 3], got.Bytes);
    }

    [Fact]
    public void An_explicit_source_ip_is_honoured_and_without_one_the_kernel_chooses()
    {
        var counters = new TunnelCounters();
        using var socket = TunnelUdpSocket.Bind(IPAddress.Any, 0, 0, counters);
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiver.ReceiveTimeout = 5000;
        var destination = (IPEndPoint)receiver.LocalEndPoint!;

        Assert.True(socket.Enqueue(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), destination, [7]));
        Assert.True(socket.Enqueue(null, destination, [8]));
        Assert.True(socket.Flush());

        var buffer = new byte[16];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        receiver.ReceiveFrom(buffer, ref from);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("127.0.0.2"), socket.Port), from);
        Assert.Equal(7, buffer[0]);
        from = new IPEndPoint(IPAddress.Any, 0);
        receiver.ReceiveFrom(buffer, ref from);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, socket.Port), from);
        Assert.Equal(8, buffer[0]);
        Assert.Equal(2, counters.DatagramsSent);
    }

    [Fact]
    public void Datagrams_longer_than_1336_bytes_are_dropped_before_the_tunnel_sees_them()
    {
        var counters = new TunnelCounters();
        using var socket = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 0, counters);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var to = new IPEndPoint(IPAddress.Loopback, socket.Port);

        sender.SendTo(new byte[1337], to);
        sender.SendTo(new byte[1336], to);
        sender.SendTo(new byte[1], to);
        var got = ReceiveAll(socket, 2, TimeSpan.FromSeconds(5));

        Assert.Equal([1336, 1], got.Select(g => g.Bytes.Length));
        Assert.Equal(1, counters.Drops(TunnelDropReason.OversizeDatagram));
    }

    [Fact]
    public void A_gro_buffer_is_cut_into_stride_sized_datagrams_the_last_one_shorter()
    {
        var counters = new TunnelCounters();
        using var socket = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 0, counters);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(100)); // SOL_UDP, UDP_SEGMENT: the kernel cuts 100-byte datagrams
        }
        catch (SocketException)
        {
            Assert.Skip("no UDP GSO in this kernel");
        }

        var payload = Enumerable.Range(0, 250).Select(i => (byte)i).ToArray();
        sender.SendTo(payload, new IPEndPoint(IPAddress.Loopback, socket.Port));
        var got = ReceiveAll(socket, 3, TimeSpan.FromSeconds(5));

        Assert.Equal([100, 100, 50], got.Select(g => g.Bytes.Length));
        Assert.Equal(payload, got.SelectMany(g => g.Bytes));
        Assert.All(got, g => Assert.Equal(socket.Port, g.Local.Port));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sends_are_batched_and_arrive_in_order(bool gso)
    {
        var counters = new TunnelCounters();
        using var socket = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 0, counters, gso);
        using var receiver = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 8 * 1024 * 1024, new TunnelCounters());
        var to = new IPEndPoint(IPAddress.Loopback, receiver.Port);

        for (int i = 0; i < 100; i++)
        {
            Assert.True(socket.Enqueue(null, to, [(byte)i, 0, 0, 0]));
        }

        // A full batch (64) went out at once; the rest waits for Flush.
        Assert.Equal(36, socket.Pending);
        Assert.True(socket.Flush());
        var got = ReceiveAll(receiver, 100, TimeSpan.FromSeconds(5));

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (byte)i), got.Select(g => g.Bytes[0]));
        Assert.Equal(100, counters.DatagramsSent);
    }

    [Fact]
    public void Gso_runs_keep_every_datagram_its_length_destination_and_order()
    {
        var counters = new TunnelCounters();
        using var socket = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 0, counters, gso: true);
        Assert.SkipUnless(socket.Gso, "no UDP GSO in this kernel");
        using var a = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 8 * 1024 * 1024, new TunnelCounters());
        using var b = TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 8 * 1024 * 1024, new TunnelCounters());
        var random = new Random(7);
        var sent = new List<(int Port, byte[] Bytes)>();
        for (int i = 0; i < 500; i++)
        {
            // Runs of equal sizes to one destination, broken by shorter datagrams and by the other destination.
            var to = random.Next(8) == 0 ? b : a;
            int size = random.Next(4) == 0 ? random.Next(4, 1300) : 1200;
            var payload = new byte[size];
            random.NextBytes(payload);
            BitConverter.TryWriteBytes(payload, i);
            sent.Add((to.Port, payload));
            Assert.True(socket.Enqueue(null, new IPEndPoint(IPAddress.Loopback, to.Port), payload));
        }

        Assert.True(socket.Flush());
        var atA = ReceiveAll(a, sent.Count(s => s.Port == a.Port), TimeSpan.FromSeconds(5));
        var atB = ReceiveAll(b, sent.Count(s => s.Port == b.Port), TimeSpan.FromSeconds(5));

        Assert.Equal(sent.Where(s => s.Port == a.Port).Select(s => Convert.ToHexString(s.Bytes)), atA.Select(g => Convert.ToHexString(g.Bytes)));
        Assert.Equal(sent.Where(s => s.Port == b.Port).Select(s => Convert.ToHexString(s.Bytes)), atB.Select(g => Convert.ToHexString(g.Bytes)));
        Assert.Equal(500, counters.DatagramsSent);
    }
}
