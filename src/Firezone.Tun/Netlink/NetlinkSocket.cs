using System.Runtime.InteropServices;
using Firezone.Tun.Io;

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
    private int _offset;
    private int _filled;

    public NetlinkSocket()
    {
        int fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) throw TunDeviceException.FromErrno("socket(AF_NETLINK)", LibC.LastError);
        _fd = new FdHandle(fd);
        byte* addr = stackalloc byte[12];
        new Span<byte>(addr, 12).Clear();
        *(ushort*)addr = LibC.AF_NETLINK;
        if (LibC.Bind(_fd, addr, 12) < 0)
        {
            int errno = LibC.LastError;
            _fd.Dispose();
            throw TunDeviceException.FromErrno("bind(AF_NETLINK)", errno);
        }
        long* timeout = stackalloc long[2];
        timeout[0] = 5;
        timeout[1] = 0;
        LibC.SetSockOpt(_fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, timeout, 16);
        int size = 1 << 20;
        LibC.SetSockOpt(_fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, 4);
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
                nint n = LibC.SendTo(_fd, m, message.Length, 0, kernel, 12);
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
                nint n = LibC.Recv(_fd, b, _receive.Length, 0);
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
        uint seq = Send(request);
        while (true)
        {
            var reply = NextReply(seq, out ushort type);
            if (type == RtNetlink.NLMSG_ERROR) return ErrnoOf(reply);
        }
    }

    /// <summary>Sends a dump request and collects every reply message until NLMSG_DONE.</summary>
    public List<NetlinkMessage> Dump(NetlinkMessageWriter request)
    {
        uint seq = Send(request);
        var result = new List<NetlinkMessage>();
        while (true)
        {
            var reply = NextReply(seq, out ushort type);
            if (type == RtNetlink.NLMSG_DONE) return result;
            if (type == RtNetlink.NLMSG_ERROR)
            {
                int errno = ErrnoOf(reply);
                if (errno == 0) return result;
                throw TunDeviceException.FromErrno("netlink dump", errno);
            }
            result.Add(new NetlinkMessage(type, reply[RtNetlink.HeaderLength..].ToArray()));
        }
    }

    /// <summary>Sends a non-dump query (no ACK flag) and returns the reply, or null with the kernel's errno.</summary>
    public NetlinkMessage? Query(NetlinkMessageWriter request, out int errno)
    {
        uint seq = Send(request);
        var reply = NextReply(seq, out ushort type);
        errno = type == RtNetlink.NLMSG_ERROR ? ErrnoOf(reply) : 0;
        return type == RtNetlink.NLMSG_ERROR ? null : new NetlinkMessage(type, reply[RtNetlink.HeaderLength..].ToArray());
    }

    /// <summary>Sends a request; whatever was left of earlier replies is discarded. Returns its sequence number.</summary>
    private uint Send(NetlinkMessageWriter request)
    {
        _offset = _filled = 0;
        Send(request.Finish());
        return request.Sequence;
    }

    /// <summary>
    /// The next message (header included) with sequence <paramref name="seq"/>, receiving datagrams as needed.
    /// Messages of other sequences are skipped; a malformed length drops the rest of its datagram.
    /// </summary>
    private ReadOnlySpan<byte> NextReply(uint seq, out ushort type)
    {
        while (true)
        {
            if (_offset + RtNetlink.HeaderLength > _filled)
            {
                _filled = Receive();
                _offset = 0;
                continue;
            }
            ReadOnlySpan<byte> h = _receive.AsSpan(_offset, _filled - _offset);
            uint len = MemoryMarshal.Read<uint>(h);
            if (len < RtNetlink.HeaderLength || len > h.Length)
            {
                _filled = 0;
                continue;
            }
            _offset += RtNetlink.Align((int)len);
            if (MemoryMarshal.Read<uint>(h[8..]) != seq) continue;
            type = MemoryMarshal.Read<ushort>(h[4..]);
            return h[..(int)len];
        }
    }

    private static int ErrnoOf(ReadOnlySpan<byte> errorMessage) => -MemoryMarshal.Read<int>(errorMessage[16..]);

    public void Dispose() => _fd.Dispose();
}
