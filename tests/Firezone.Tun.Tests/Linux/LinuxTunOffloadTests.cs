using System.Net;
using System.Net.Sockets;
using Firezone.Tun.Io;
using Firezone.Tun.Linux;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Linux;

/// <summary>
/// A TUN opened with <c>IFF_VNET_HDR</c> and TSO (a deliberate difference from upstream, which opens it without) against
/// the real kernel in a throw-away namespace: a TCP connection of the namespace to an address routed into the TUN, whose
/// far end this test plays with hand-built packets.
/// </summary>
[Collection("netns")]
public class LinuxTunOffloadTests
{
    private const byte Syn = 0x02;
    private const byte Ack = 0x10;
    private const byte Psh = 0x08;

    [Fact]
    public async Task Offloaded_device_splits_a_TCP_upload_into_valid_MTU_packets_and_delivers_merged_segments_the_kernel_accepts_deliberately_unlike_upstream()
    {
        NetNamespace.SkipUnlessAvailable();
        using var f = TunFixture.Create(offload: true);
        Assert.Contains("vnet_hdr on", f.Ns.IpIn("-d link show tun-firezone"));
        using var socket = f.Ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        socket.NoDelay = false;
        var connect = socket.ConnectAsync(new IPEndPoint(TunFixture.RemoteV4, 80), TestContext.Current.CancellationToken);

        byte[] local = TunFixture.TunV4.GetAddressBytes(), remote = TunFixture.RemoteV4.GetAddressBytes();
        var syn = await f.ReadMatchingAsync(p => Tcp(p, out var t) && (t.Flags & Syn) != 0);
        Assert.True(IpPacket.TryParse(syn, out var synPacket) == IpParseError.None && synPacket.ChecksumsValid()); // partial checksum completed
        Tcp(syn, out var synTcp);
        ushort port = synTcp.SourcePort;
        uint clientSeq = synTcp.SequenceNumber + 1, serverSeq = 1_000_000;
        Write(f.Tun, remote, local, port, serverSeq, clientSeq, Syn | Ack, 1240, []);
        serverSeq++;
        await connect;

        // Upload: 200 kB from the namespace; read what the kernel sends (TSO super-packets cut by the device), ACK it all.
        var upload = new byte[200_000];
        Random.Shared.NextBytes(upload);
        var send = Task.Run(() => socket.Send(upload));
        var received = new MemoryStream();
        while (received.Length < upload.Length)
        {
            var packet = await f.ReadMatchingAsync(p => Tcp(p, out var t) && t.Payload.Length > 0, TimeSpan.FromSeconds(10));
            Assert.True(packet.Length <= IpConstants.MaxPacketSize);
            Assert.True(IpPacket.TryParse(packet, out var ip) == IpParseError.None && ip.ChecksumsValid());
            Tcp(packet, out var t);
            if (t.SequenceNumber == clientSeq)
            {
                received.Write(t.Payload);
                clientSeq += (uint)t.Payload.Length;
            }

            Write(f.Tun, remote, local, port, serverSeq, clientSeq, Ack, 0, []);
        }

        await send;
        Assert.Equal(upload, received.ToArray());
        Assert.True(f.Tun.SegmentsSplit > 0, "the kernel handed out no TCP super-packet");

        // Download: 40 full segments written through the coalescer: merged, accepted by the kernel's TCP, in order.
        var download = new byte[40 * 1200];
        Random.Shared.NextBytes(download);
        var coalescing = (ICoalescingTun)f.Tun;
        for (int i = 0; i < 40; i++)
        {
            byte[] segment = Build(remote, local, port, serverSeq + (uint)(i * 1200), clientSeq, i == 39 ? Ack | Psh : Ack, 0, download.AsSpan(i * 1200, 1200));
            Assert.True(coalescing.Enqueue(segment));
        }

        Assert.True(coalescing.FlushQueued());
        Assert.True(f.Tun.SegmentsCoalesced >= 38);
        var got = new byte[download.Length];
        socket.ReceiveTimeout = 5000;
        int n = 0;
        while (n < got.Length)
        {
            int r = socket.Receive(got, n, got.Length - n, SocketFlags.None);
            Assert.True(r > 0);
            n += r;
        }

        Assert.Equal(download, got);
    }

    private static bool Tcp(byte[] packet, out TcpSegment tcp)
    {
        tcp = default;
        return IpPacket.TryParse(packet, out var p) == IpParseError.None && p.IsIpv4 && p.TryGetTcp(out tcp);
    }

    private static byte[] Build(byte[] src, byte[] dst, ushort dstPort, uint seq, uint ack, int flags, ushort mss, ReadOnlySpan<byte> payload)
    {
        var buffer = new byte[IpConstants.BufferSize];
        int n = PacketBuilder.TcpFromAddressBytes(buffer, src, dst, 80, dstPort, seq, ack, (byte)flags, 65535, mss, payload);
        return buffer[..n];
    }

    private static void Write(LinuxTun tun, byte[] src, byte[] dst, ushort dstPort, uint seq, uint ack, int flags, ushort mss, ReadOnlySpan<byte> payload) =>
        Assert.True(tun.TryWrite(Build(src, dst, dstPort, seq, ack, flags, mss, payload)));
}
