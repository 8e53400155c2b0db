using System.Net;
using Firezone.Connlib.Io;
using Firezone.Connlib.Tunnel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Tests.Io;

/// <summary>The pair of tunnel sockets (hosts-and-tun spec §4.2): a family that cannot bind is absent.</summary>
public sealed class TunnelSocketsTests
{
    // Addresses of no local interface: the bind fails with EADDRNOTAVAIL and nothing is ever sent.
    private static readonly IPAddress NotLocalV4 = IPAddress.Parse("198.18.250.1");
    private static readonly IPAddress NotLocalV6 = IPAddress.Parse("2001:2:0:fa::1");

    [Fact]
    public void A_family_whose_bind_fails_is_absent_and_its_datagrams_are_dropped_as_no_socket()
    {
        var counters = new TunnelCounters();
        using var sockets = new TunnelSockets(IPAddress.Loopback, NotLocalV6, 0, counters, NullLogger.Instance);

        Assert.NotNull(sockets.V4);
        Assert.Null(sockets.V6);
        Assert.True(sockets.HasAny);
        Assert.False(sockets.Enqueue(null, new IPEndPoint(IPAddress.IPv6Loopback, 9), [1]));
        Assert.Equal(1, counters.Drops(TunnelDropReason.NoSocket));
    }

    [Fact]
    public void Without_any_socket_the_tunnel_has_none_and_a_rebind_binds_new_sockets()
    {
        using var none = new TunnelSockets(NotLocalV4, NotLocalV6, 0, new TunnelCounters(), NullLogger.Instance);
        Assert.False(none.HasAny);

        using var sockets = new TunnelSockets(IPAddress.Loopback, IPAddress.IPv6Loopback, 0, new TunnelCounters(), NullLogger.Instance);
        var old = sockets.V4!;
        sockets.Rebind();
        Assert.NotSame(old, sockets.V4);
        Assert.Throws<ObjectDisposedException>(() => old.Socket.Send([1])); // the old one is closed
        Assert.NotNull(sockets.V6);
    }

    [Fact]
    public void A_loop_without_sockets_suspends_instead_of_spinning()
    {
        using var loop = new IdleLoop();
        loop.Start();
        Thread.Sleep(300);
        Assert.Equal(0, loop.Polls); // suspended at step 1: the role is never polled
        Assert.True(loop.Post(() => { }));
    }

    private sealed class IdleLoop() : TunnelLoop("idle", new TunnelIoOptions(null, NotLocalV4, NotLocalV6, 0), TimeProvider.System, NullLogger.Instance)
    {
        public int Polls;

        protected override bool PollEvent()
        {
            Interlocked.Increment(ref Polls);
            return false;
        }

        protected override bool PollPacket() => false;

        protected override bool PollTransmit() => false;

        protected override TimeSpan? PollTimeout() => null;

        protected override void HandleTimeout(TimeSpan now)
        {
        }

        protected override void HandleTunPacket(byte[] slot, int offset, int length, TimeSpan now)
        {
        }

        protected override void HandleDatagram(Span<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now)
        {
        }

        protected override bool HandleFinishedQuery(TimeSpan now) => false;
    }
}
