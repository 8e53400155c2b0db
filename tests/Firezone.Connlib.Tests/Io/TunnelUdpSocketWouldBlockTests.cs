using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Io;

namespace Firezone.Connlib.Tests.Io;

/// <summary>
/// The would-block rule (hosts-and-tun spec §4.2): a send that finds the socket buffer full parks the datagrams and
/// sends them first, in order, once the socket is writable. Loopback never holds a datagram, so the test shapes the
/// loopback of a scratch namespace (tbf at 2 Mbit/s, or netem with 200 ms delay) and gives the sender the smallest send buffer: queued
/// packets then keep the buffer full for a while.
/// </summary>
public sealed class TunnelUdpSocketWouldBlockTests
{
    [Fact]
    public void A_full_socket_buffer_parks_the_datagrams_and_they_are_sent_first_in_order_once_writable()
    {
        var missing = ScratchNamespace.MissingPrerequisite();
        Assert.SkipWhen(missing is not null, missing ?? "");
        using var ns = ScratchNamespace.Create();
        bool shaped = ns.Exec("tc", "qdisc add dev lo root tbf rate 2mbit burst 1600 limit 1000000", check: false) == 0
            || ns.Exec("tc", "qdisc add dev lo root netem delay 200ms limit 10000", check: false) == 0;
        Assert.SkipUnless(shaped, "neither the tbf nor the netem qdisc exists in this kernel");
        var counters = new TunnelCounters();
        var (sender, receiver) = ns.Create(() => (TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 0, counters),
            TunnelUdpSocket.Bind(IPAddress.Loopback, 0, 16 * 1024 * 1024, new TunnelCounters())));
        using var senderLease = sender;
        using var receiverLease = receiver;
        sender.Socket.SendBufferSize = 4096; // the kernel's minimum (doubled): a few datagrams fill it
        var to = new IPEndPoint(IPAddress.Loopback, receiver.Port);

        const int count = 100;
        bool blocked = false;
        int sent = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (sent < count && DateTime.UtcNow < deadline)
        {
            if (sender.IsBlocked)
            {
                blocked = true;
                sender.Socket.Poll(100_000, SelectMode.SelectWrite);
                sender.Flush();
                continue;
            }

            var payload = new byte[1200];
            BitConverter.TryWriteBytes(payload, sent);
            Assert.True(sender.Enqueue(null, to, payload));
            sent++;
        }

        while (!sender.Flush() && DateTime.UtcNow < deadline)
        {
            sender.Socket.Poll(100_000, SelectMode.SelectWrite);
        }

        Assert.True(blocked, "the socket never reported a full buffer");
        Assert.True(counters.SendWouldBlock > 0);
        var got = new List<int>();
        while (got.Count < count && DateTime.UtcNow < deadline + TimeSpan.FromSeconds(5))
        {
            receiver.Socket.Poll(100_000, SelectMode.SelectRead);
            receiver.Receive();
            while (receiver.TryNextDatagram(out var datagram, out _, out _))
            {
                got.Add(BitConverter.ToInt32(datagram));
            }
        }

        Assert.Equal(Enumerable.Range(0, count), got); // nothing lost, nothing reordered
        Assert.Equal(0, counters.Drops(TunnelDropReason.SendFailed));
    }
}
