using System.Runtime.InteropServices;
using Firezone.Tun.Linux;

namespace Firezone.Tun.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket (close-on-exec, 5 s receive timeout) bound in the network namespace of the creating thread.
/// Requests are sent one at a time and their acknowledgement or dump is read back by sequence number.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    private const int NETLINK_ROUTE = 0;
    private readonly FdHandle _fd;
    private readonly byte[] _receive = new byte[1 << 16];
    private uint _sequence = (uint)Environment.TickCount;

    public NetlinkSocket()
    {
        int fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) throw TunDeviceException.FromErrno("socket(AF_NETLINK)", LibC.LastError);
        _fd = new FdHandle(fd);
        byte* addr = stackalloc byte[12];
        new Span<byte>(addr, 12).Clear();
        *(ushort*)addr = LibC.AF_NETLINK;
        if (LibC.Bind(fd, addr, 12) < 0)
        {
            int errno = LibC.LastError;
            _fd.Dispose();
            throw TunDeviceException.FromErrno("bind(AF_NETLINK)", errno);
        }
        long* timeout = stackalloc long[2];
        timeout[0] = 5;
        timeout[1] = 0;
        LibC.SetSockOpt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, timeout, 16);
        int size = 1 << 20;
        LibC.SetSockOpt(fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, 4);
    }

    public uint NextSequence() => ++_sequence;

    private void Send(ReadOnlySpan<byte> message)
    {
        byte* kernel = stackalloc byte[12];
        new Span<byte>(kernel, 12).Clear();
        *(ushort*)kernel = LibC.AF_NETLINK;
        fixed (byte* m = message)
        {
            while (true)
            {
                nint n = LibC.SendTo(_fd.Fd, m, message.Length, 0, kernel, 12);
                if (n == message.Length) return;
                int errno = LibC.LastError;
                if (n < 0 && errno == LibC.EINTR) continue;
                throw TunDeviceException.FromErrno("netlink send", errno);
            }
        }
    }

    private int Receive()
    {
        fixed (byte* b = _receive)
        {
            while (true)
            {
                nint n = LibC.Recv(_fd.Fd, b, _receive.Length, 0);
                if (n >= 0) return (int)n;
                int errno = LibC.LastError;
                if (errno == LibC.EINTR) continue;
                throw TunDeviceException.FromErrno("netlink receive", errno);
            }
        }
    }

    /// <summary>Sends a request with NLM_F_ACK and returns 0 or the (positive) errno from the kernel.</summary>
    public int Execute(NetlinkMessageWriter request)
    {
        uint seq = request.Sequence;
        Send(request.Finish());
        while (true)
        {
            int n = Receive();
            int offset = 0;
            while (offset + RtNetlink.HeaderLength <= n)
            {
                Span<byte> h = _receive.AsSpan(offset, n - offset);
                uint len = MemoryMarshal.Read<uint>(h);
                ushort type = MemoryMarshal.Read<ushort>(h[4..]);
                uint mseq = MemoryMarshal.Read<uint>(h[8..]);
                if (len < RtNetlink.HeaderLength || len > h.Length) break;
                if (mseq == seq && type == RtNetlink.NLMSG_ERROR) return -MemoryMarshal.Read<int>(h[16..]);
                offset += RtNetlink.Align((int)len);
            }
        }
    }

    /// <summary>Sends a dump request and collects every reply message until NLMSG_DONE.</summary>
    public List<NetlinkMessage> Dump(NetlinkMessageWriter request)
    {
        uint seq = request.Sequence;
        Send(request.Finish());
        var result = new List<NetlinkMessage>();
        while (true)
        {
            int n = Receive();
            int offset = 0;
            while (offset + RtNetlink.HeaderLength <= n)
            {
                Span<byte> h = _receive.AsSpan(offset, n - offset);
                uint len = MemoryMarshal.Read<uint>(h);
                ushort type = MemoryMarshal.Read<ushort>(h[4..]);
                uint mseq = MemoryMarshal.Read<uint>(h[8..]);
                if (len < RtNetlink.HeaderLength || len > h.Length) break;
                offset += RtNetlink.Align((int)len);
                if (mseq != seq) continue;
                if (type == RtNetlink.NLMSG_DONE) return result;
                if (type == RtNetlink.NLMSG_ERROR)
                {
                    int errno = -MemoryMarshal.Read<int>(h[16..]);
                    if (errno == 0) return result;
                    throw TunDeviceException.FromErrno("netlink dump", errno);
                }
                result.Add(new NetlinkMessage(type, h[RtNetlink.HeaderLength..(int)len].ToArray()));
            }
        }
    }

    /// <summary>Sends a non-dump query (no ACK flag) and returns the reply, or null with the kernel's errno.</summary>
    public NetlinkMessage? Query(NetlinkMessageWriter request, out int errno)
    {
        uint seq = request.Sequence;
        Send(request.Finish());
        while (true)
        {
            int n = Receive();
            int offset = 0;
            while (offset + RtNetlink.HeaderLength <= n)
            {
                Span<byte> h = _receive.AsSpan(offset, n - offset);
                uint len = MemoryMarshal.Read<uint>(h);
                ushort type = MemoryMarshal.Read<ushort>(h[4..]);
                uint mseq = MemoryMarshal.Read<uint>(h[8..]);
                if (len < RtNetlink.HeaderLength || len > h.Length) break;
                offset += RtNetlink.Align((int)len);
                if (mseq != seq) continue;
                if (type == RtNetlink.NLMSG_ERROR)
                {
                    errno = -MemoryMarshal.Read<int>(h[16..]);
                    return null;
                }
                errno = 0;
                return new NetlinkMessage(type, h[RtNetlink.HeaderLength..(int)len].ToArray());
            }
        }
    }

    public void Dispose() => _fd.Dispose();
}
