using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Turn;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>Drives an <see cref="Allocation"/> over a real UDP socket on loopback with the real monotonic clock.</summary>
internal static class RealSocketDriver
{
    private static readonly long Origin = Stopwatch.GetTimestamp();

    public static TimeSpan Now => Stopwatch.GetElapsedTime(Origin);

    /// <summary>
    /// Allocates on <paramref name="server"/>, binds a channel to a UDP peer socket on loopback, relays data both ways
    /// and refreshes, asserting every step.
    /// </summary>
    public static void AllocateBindAndRelay(RelaySocket server, string username, string password, string realm, Func<string> serverLog)
    {
        using var client = NewLoopbackSocket();
        using var peer = NewLoopbackSocket();
        var peerAddress = (IPEndPoint)peer.LocalEndPoint!;
        var log = new ListLogger();
        var allocation = new Allocation(
            server, username, password, realm, "snownet; session=TEST", Now, RandomSource.Secure, log);
        var received = new List<(IPEndPoint Peer, IPEndPoint Relayed, byte[] Payload)>();

        Pump(allocation, log, client, received, () => allocation.HasAllocation, serverLog);
        var relayed = allocation.RelayedV4!.Value.Address;
        Assert.Equal(IPAddress.Loopback, relayed.Address);
        Assert.Equal(allocation.ServerReflexiveV4!.Value.Address, client.LocalEndPoint);

        allocation.BindChannel(peerAddress, Now);
        Pump(allocation, log, client, received, () => allocation.EncodeToPeer(peerAddress, ReadOnlySpan<byte>.Empty, Now) is not null, serverLog);

        // Client → relay → peer.
        var ping = Encoding.ASCII.GetBytes("ping through the relay");
        var transmit = allocation.EncodeToPeer(peerAddress, ping, Now)!.Value;
        client.SendTo(transmit.Payload.Span, transmit.Destination);
        var buffer = new byte[2048];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        peer.ReceiveTimeout = 5000;
        var n = peer.ReceiveFrom(buffer, ref from);
        Assert.Equal(ping, buffer[..n]);
        Assert.Equal(relayed, from);

        // Peer → relay → client, as ChannelData decoded by the allocation.
        var pong = Encoding.ASCII.GetBytes("pong from the peer");
        peer.SendTo(pong, relayed);
        Pump(allocation, log, client, received, () => received.Count > 0, serverLog);
        var (fromPeer, to, payload) = Assert.Single(received);
        Assert.Equal(peerAddress, fromPeer);
        Assert.Equal(relayed, to);
        Assert.Equal(pong, payload);

        // A refresh round-trip works as well (signed success; the nonce is reused).
        allocation.Refresh(Now);
        Pump(allocation, log, client, received, () => allocation.InFlightCount == 0, serverLog);
        Assert.True(allocation.HasAllocation);
        Assert.Null(allocation.CanBeFreed());
    }

    public static Socket NewLoopbackSocket()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return s;
    }

    /// <summary>Runs the sans-IO loop over a real socket until <paramref name="done"/> or 10 s.</summary>
    public static void Pump(Allocation allocation, ListLogger log, Socket socket, List<(IPEndPoint Peer, IPEndPoint Relayed, byte[] Payload)> received, Func<bool> done, Func<string> serverLog)
    {
        var local = (IPEndPoint)socket.LocalEndPoint!;
        var buffer = new byte[65535];
        var deadline = Now + TimeSpan.FromSeconds(10);
        while (!done())
        {
            Assert.True(Now < deadline, $"timed out; allocation: active={allocation.ActiveSocket} allocated={allocation.HasAllocation} in flight={allocation.InFlightCount}\nallocation log:\n{log}\nserver log:\n{serverLog()}");
            while (allocation.PollTransmit() is { } t)
            {
                socket.SendTo(t.Payload.Span, t.Destination);
                log.Log(Microsoft.Extensions.Logging.LogLevel.Trace, default, "tx " + Convert.ToHexString(t.Payload.Span), null, (x, _) => x);
            }

            while (allocation.PollEvent() is not null)
            {
            }

            var wait = TimeSpan.FromMilliseconds(50);
            if (allocation.PollTimeout() is { } timeout && timeout - Now < wait)
            {
                wait = timeout - Now;
            }

            if (wait > TimeSpan.Zero && socket.Poll((int)wait.TotalMicroseconds, SelectMode.SelectRead))
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                var n = socket.ReceiveFrom(buffer, ref from);
                var sender = (IPEndPoint)from;
                var datagram = buffer.AsSpan(0, n);
                log.Log(Microsoft.Extensions.Logging.LogLevel.Trace, default, "rx " + Convert.ToHexString(datagram), null, (x, _) => x);
                if (!allocation.HandleInput(datagram, sender, local, Now)
                    && allocation.TryDecapsulate(datagram, sender, Now, out var peer, out var relayed, out var payload))
                {
                    received.Add((peer, relayed, datagram[payload].ToArray()));
                }
            }

            if (allocation.PollTimeout() is { } due && due <= Now)
            {
                allocation.HandleTimeout(Now);
            }
        }
    }

    /// <summary>Like <see cref="Pump"/> over one IPv4 and one IPv6 socket (transmits leave by the destination's family).</summary>
    public static void PumpDual(Allocation allocation, ListLogger log, Socket v4, Socket v6, Func<bool> done, Func<string> serverLog)
    {
        var buffer = new byte[65535];
        var deadline = Now + TimeSpan.FromSeconds(10);
        var sockets = new List<Socket>(2);
        while (!done())
        {
            Assert.True(Now < deadline, $"timed out; allocation: active={allocation.ActiveSocket} allocated={allocation.HasAllocation} in flight={allocation.InFlightCount}\nallocation log:\n{log}\nserver log:\n{serverLog()}");
            while (allocation.PollTransmit() is { } t)
            {
                (t.Destination.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : v4).SendTo(t.Payload.Span, t.Destination);
            }

            while (allocation.PollEvent() is not null)
            {
            }

            sockets.Clear();
            sockets.Add(v4);
            sockets.Add(v6);
            Socket.Select(sockets, null, null, TimeSpan.FromMilliseconds(50));
            foreach (var socket in sockets)
            {
                EndPoint from = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
                var n = socket.ReceiveFrom(buffer, ref from);
                allocation.HandleInput(buffer.AsSpan(0, n), (IPEndPoint)from, (IPEndPoint)socket.LocalEndPoint!, Now);
            }

            if (allocation.PollTimeout() is { } due && due <= Now)
            {
                allocation.HandleTimeout(Now);
            }
        }
    }
}
