using System.Net;
using System.Net.Sockets;
using Firezone.Tun.Io;
using Firezone.Tun.Tests.Linux;

namespace Firezone.Tun.Tests.Io;

/// <summary>
/// <see cref="UdpSendBatch.Flush(Socket, bool)"/> on a non-blocking socket whose send buffer fills up: loopback in a
/// scratch namespace is rate-limited (tbf, 2 Mbit/s) so queued datagrams hold the smallest send buffer.
/// </summary>
public sealed class UdpSendBatchWouldBlockTests
{
    private static (NetNamespace Ns, Socket Sender, Socket Receiver) Shaped()
    {
        NetNamespace.SkipUnlessAvailable();
        var ns = NetNamespace.Create();
        try
        {
            NetNamespace.Ip($"netns exec {ns.Name} tc qdisc add dev lo root tbf rate 2mbit burst 1600 limit 1000000");
        }
        catch (InvalidOperationException e)
        {
            ns.Dispose();
            Assert.Skip($"no tbf qdisc: {e.Message}");
        }

        var (sender, receiver) = ns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Blocking = false;
            s.SendBufferSize = 4096;
            var r = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            r.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return (s, r);
        });
        return (ns, sender, receiver);
    }

    private static UdpSendBatch Fill(Socket receiver, byte[] payload, int count)
    {
        var batch = new UdpSendBatch(count, count);
        var to = new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)receiver.LocalEndPoint!).Port).Serialize();
        for (int i = 0; i < count; i++)
        {
            batch.BeginMessage(to);
            batch.Append(payload, 0, payload.Length);
        }

        return batch;
    }

    [Fact]
    public void Stop_on_would_block_reports_the_unsent_tail_instead_of_failing_it()
    {
        var (ns, sender, receiver) = Shaped();
        using var nsLease = ns;
        using var senderLease = sender;
        using var receiverLease = receiver;
        var payload = GC.AllocateUninitializedArray<byte>(1200, pinned: true);
        using var batch = Fill(receiver, payload, 64);

        var result = batch.Flush(sender, stopOnWouldBlock: true);

        Assert.True(result.Unsent > 0, "the send buffer never filled");
        Assert.Equal(0, result.Failed);
        Assert.Equal(64, result.Sent + result.Unsent);
        Assert.Equal(0, batch.MessageCount); // emptied: the caller queues the tail again
    }

    [Fact]
    public void Without_stop_on_would_block_the_refused_messages_count_as_failed()
    {
        var (ns, sender, receiver) = Shaped();
        using var nsLease = ns;
        using var senderLease = sender;
        using var receiverLease = receiver;
        var payload = GC.AllocateUninitializedArray<byte>(1200, pinned: true);
        using var batch = Fill(receiver, payload, 64);

        var result = batch.Flush(sender);

        Assert.Equal(0, result.Unsent);
        Assert.True(result.Failed > 0);
        Assert.Equal(64, result.Sent + result.Failed);
    }
}
