using System.Net;
using System.Net.Sockets;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Io;

namespace Firezone.Tun.Tests.Io;

/// <summary>recvmmsg/sendmmsg batches, packet info, source addresses, GSO and GRO over loopback.</summary>
public class UdpBatchTests
{
    private static Socket Bound(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = false;
        }

        socket.Bind(new IPEndPoint(address, 0));
        socket.ReceiveTimeout = 2000;
        return socket;
    }

    private static IPEndPoint EndPoint(Socket socket) => (IPEndPoint)socket.LocalEndPoint!;

    private static byte[] Pinned(int length, byte seed)
    {
        var array = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        for (int i = 0; i < length; i++)
        {
            array[i] = (byte)(seed + i);
        }

        return array;
    }

    /// <summary>Receives until <paramref name="count"/> datagrams (GRO segments counted one by one) or the timeout.</summary>
    private static List<(byte[] Bytes, IPEndPoint From, IPAddress? Local, int Segment)> ReceiveAll(Socket socket, UdpReceiveBatch batch, int count)
    {
        var result = new List<(byte[], IPEndPoint, IPAddress?, int)>();
        int datagrams = 0;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (datagrams < count && DateTime.UtcNow < deadline)
        {
            int n = batch.Receive(socket, wait: true);
            for (int i = 0; i < n; i++)
            {
                var from = (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(batch.Source(i));
                result.Add((batch.Datagram(i).ToArray(), from, batch.GetLocalAddress(i), batch.SegmentSize(i)));
                int segment = batch.SegmentSize(i);
                datagrams += segment == 0 ? 1 : (batch.Length(i) + segment - 1) / segment;
            }
        }

        return result;
    }

    [Fact]
    public void A_batch_receives_many_datagrams_with_their_senders_and_bytes()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Loopback);
        using var sender = Bound(IPAddress.Loopback);
        using var batch = new UdpReceiveBatch(32, 2048, headroom: 4);
        for (int i = 0; i < 20; i++)
        {
            sender.SendTo(Pinned(100 + i, (byte)i), EndPoint(receiver));
        }

        var got = ReceiveAll(receiver, batch, 20);
        Assert.Equal(20, got.Count);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(Pinned(100 + i, (byte)i), got[i].Bytes);
            Assert.Equal(EndPoint(sender), got[i].From);
            Assert.Null(got[i].Local); // packet info not requested
        }

        Assert.Equal(4, batch.Headroom);
    }

    [Fact]
    public void Packet_info_reports_each_datagrams_destination_address()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Any);
        Assert.True(UdpSocketOptions.EnablePacketInfo(receiver));
        using var sender = Bound(IPAddress.Loopback);
        int port = EndPoint(receiver).Port;
        sender.SendTo(new byte[] { 1 }, new IPEndPoint(IPAddress.Parse("127.0.0.1"), port));
        sender.SendTo(new byte[] { 2 }, new IPEndPoint(IPAddress.Parse("127.0.0.2"), port));
        using var batch = new UdpReceiveBatch(8, 1500);
        var got = ReceiveAll(receiver, batch, 2);
        Assert.Equal(IPAddress.Parse("127.0.0.1"), got.Single(g => g.Bytes[0] == 1).Local);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), got.Single(g => g.Bytes[0] == 2).Local);
    }

    [Fact]
    public void Packet_info_works_for_ipv6()
    {
        Skip.IfNotLinux();
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Skip("IPv6 is not available on this machine");
        }

        using var receiver = Bound(IPAddress.IPv6Any);
        Assert.True(UdpSocketOptions.EnablePacketInfo(receiver));
        using var sender = Bound(IPAddress.IPv6Loopback);
        sender.SendTo(new byte[] { 9 }, new IPEndPoint(IPAddress.IPv6Loopback, EndPoint(receiver).Port));
        using var batch = new UdpReceiveBatch(8, 1500);
        var got = ReceiveAll(receiver, batch, 1);
        Assert.Equal(IPAddress.IPv6Loopback, Assert.Single(got).Local);
        Assert.Equal(16, batch.LocalAddress(0).Length);
    }

    [Fact]
    public void An_explicit_source_address_is_used_for_the_send()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Loopback);
        using var sender = Bound(IPAddress.Any);
        using var send = new UdpSendBatch();
        var destination = EndPoint(receiver).Serialize();
        send.BeginMessage(destination, source: IPAddress.Parse("127.0.0.3").GetAddressBytes());
        send.Append(Pinned(10, 0), 0, 10);
        send.BeginMessage(destination, source: IPAddress.Parse("127.0.0.4").GetAddressBytes());
        send.Append(Pinned(10, 1), 0, 10);
        var result = send.Flush(sender);
        Assert.Equal(new UdpSendResult(2, 0, 0, false), result);
        using var batch = new UdpReceiveBatch(8, 1500);
        var got = ReceiveAll(receiver, batch, 2);
        Assert.Equal([IPAddress.Parse("127.0.0.3"), IPAddress.Parse("127.0.0.4")], got.Select(g => g.From.Address).ToArray());
        Assert.All(got, g => Assert.Equal(EndPoint(sender).Port, g.From.Port));
    }

    [Fact]
    public void A_gso_message_of_several_spans_arrives_as_separate_datagrams()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Loopback);
        using var sender = Bound(IPAddress.Loopback);
        Assert.True(UdpSocketOptions.SupportsGso(sender), "this kernel has no UDP_SEGMENT");
        var bytes = Pinned(2300, 5);
        using var send = new UdpSendBatch();
        send.BeginMessage(EndPoint(receiver).Serialize(), segmentSize: 500);
        send.Append(bytes, 0, 1000);
        send.Append(bytes, 1000, 1000);
        send.Append(bytes, 2000, 300);
        Assert.Equal(1, send.Flush(sender).Sent);
        using var batch = new UdpReceiveBatch(8, 1500);
        var got = ReceiveAll(receiver, batch, 5);
        Assert.Equal([500, 500, 500, 500, 300], got.Select(g => g.Bytes.Length).ToArray());
        Assert.Equal(bytes, got.SelectMany(g => g.Bytes).ToArray());
    }

    [Fact]
    public void Gro_delivers_a_gso_train_as_one_buffer_with_its_segment_size()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Loopback);
        if (!UdpSocketOptions.TryEnableGro(receiver))
        {
            Assert.Skip("this kernel has no UDP_GRO");
        }

        using var sender = Bound(IPAddress.Loopback);
        var bytes = Pinned(10_000, 3);
        using var send = new UdpSendBatch();
        send.BeginMessage(EndPoint(receiver).Serialize(), segmentSize: 1000);
        send.Append(bytes, 0, bytes.Length);
        Assert.Equal(1, send.Flush(sender).Sent);
        using var batch = new UdpReceiveBatch(4, 65536);
        var got = ReceiveAll(receiver, batch, 10);
        Assert.Equal(bytes, got.SelectMany(g => g.Bytes).ToArray());
        Assert.Contains(got, g => g.Segment == 1000 && g.Bytes.Length > 1000);
    }

    [Fact]
    public void A_send_on_a_disposed_socket_counts_as_failed_without_throwing()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Loopback);
        var sender = Bound(IPAddress.Loopback);
        sender.Dispose();
        using var send = new UdpSendBatch();
        send.BeginMessage(EndPoint(receiver).Serialize());
        send.Append(Pinned(4, 0), 0, 4);
        var result = send.Flush(sender);
        Assert.Equal(0, result.Sent);
        Assert.Equal(1, result.Failed);
        Assert.Equal(0, send.MessageCount);
    }

    [Fact]
    public void Receive_without_waiting_returns_zero_when_nothing_is_queued()
    {
        Skip.IfNotLinux();
        using var receiver = Bound(IPAddress.Loopback);
        using var batch = new UdpReceiveBatch(4, 1500);
        Assert.Equal(0, batch.Receive(receiver, wait: false));
    }

    /// <summary>One message: bytes cut into spans of whole segments (the last span may end short).</summary>
    public sealed record MessageSpec(int SegmentSize, int[] Spans);

    private static readonly Arbitrary<MessageSpec[]> Messages = Gen.Sized(_ =>
        from count in Gen.Choose(1, 12)
        from messages in Gen.ArrayOf(
            from gso in Gen.Elements(0, 0, 100, 700)
            from spanCount in Gen.Choose(1, gso == 0 ? 1 : 4)
            from wholeSegments in Gen.ArrayOf(Gen.Choose(1, 3), spanCount)
            from tail in Gen.Choose(gso == 0 ? 0 : 1, gso == 0 ? 1400 : gso)
            select gso == 0
                ? new MessageSpec(0, [tail])
                : new MessageSpec(gso, [.. wholeSegments.Take(spanCount - 1).Select(w => w * gso), tail]),
            count)
        select messages).ToArbitrary();

    [Property(MaxTest = 25)]
    public Property What_arrives_is_each_message_cut_at_its_segment_size() => Prop.ForAll(Messages, messages =>
    {
        if (!LibC.IsSupported)
        {
            return;
        }

        using var receiver = Bound(IPAddress.Loopback);
        receiver.ReceiveBufferSize = 1 << 20;
        using var sender = Bound(IPAddress.Loopback);
        using var send = new UdpSendBatch();
        var expected = new List<byte[]>();
        byte seed = 0;
        foreach (var message in messages)
        {
            send.BeginMessage(EndPoint(receiver).Serialize(), message.SegmentSize);
            var whole = new List<byte>();
            foreach (int length in message.Spans)
            {
                var span = Pinned(length, seed++);
                send.Append(span, 0, length);
                whole.AddRange(span);
            }

            int step = message.SegmentSize == 0 ? Math.Max(1, whole.Count) : message.SegmentSize;
            for (int at = 0; at < whole.Count || (at == 0 && whole.Count == 0); at += step)
            {
                expected.Add(whole.Skip(at).Take(step).ToArray());
                if (whole.Count == 0)
                {
                    break;
                }
            }
        }

        var result = send.Flush(sender);
        Assert.Equal(messages.Length, result.Sent);
        using var batch = new UdpReceiveBatch(32, 2048);
        var got = ReceiveAll(receiver, batch, expected.Count);
        Assert.Equal(expected.Count, got.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], got[i].Bytes);
        }
    });
}
