using System.Net.Sockets;

namespace Firezone.Tun.Io;

/// <summary>
/// Socket options of the IO layer, set through .NET's raw option API (no native call of our own): packet info,
/// UDP GRO, a GSO probe, <c>SO_REUSEPORT</c> and buffer sizes. Each returns whether the kernel accepted it, so callers
/// can degrade (log once, go on without) instead of failing.
/// </summary>
internal static class UdpSocketOptions
{
    /// <summary>Asks for each datagram's destination address (<c>IP_PKTINFO</c> / <c>IPV6_RECVPKTINFO</c>).</summary>
    public static bool EnablePacketInfo(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return socket.AddressFamily == AddressFamily.InterNetworkV6
            ? TrySet(socket, LibC.SOL_IPV6, LibC.IPV6_RECVPKTINFO, 1)
            : TrySet(socket, LibC.SOL_IP, LibC.IP_PKTINFO, 1);
    }

    /// <summary>Lets the kernel coalesce datagrams of one sender (<c>UDP_GRO</c>, Linux ≥ 5.0).</summary>
    public static bool TryEnableGro(Socket socket) => TrySet(socket, LibC.SOL_UDP, LibC.UDP_GRO, 1);

    /// <summary>
    /// True when the kernel knows <c>UDP_SEGMENT</c> (Linux ≥ 4.18): probed by setting the socket's default segment
    /// size and clearing it again. Sends may still fail with EIO on a route without checksum offload; see
    /// <see cref="UdpSendResult.GsoUnsupported"/>.
    /// </summary>
    public static bool SupportsGso(Socket socket) =>
        LibC.IsSupported && TrySet(socket, LibC.SOL_UDP, LibC.UDP_SEGMENT, 1200) && TrySet(socket, LibC.SOL_UDP, LibC.UDP_SEGMENT, 0);

    /// <summary>
    /// Marks the socket's packets (<c>SO_MARK</c>, Linux; needs CAP_NET_ADMIN) so policy routing can tell them apart:
    /// Firezone's rule <c>not fwmark 0xfd002021 lookup 0x2021fd00</c> lets marked traffic bypass the tunnel's routes.
    /// Works for any socket type. False when not permitted or not Linux.
    /// </summary>
    public static bool TrySetMark(Socket socket, uint mark) => LibC.IsSupported && TrySet(socket, LibC.SOL_SOCKET, LibC.SO_MARK, unchecked((int)mark));

    /// <summary>Lets several sockets bind the same address and port (<c>SO_REUSEPORT</c>).</summary>
    public static bool TryEnableReusePort(Socket socket) => TrySet(socket, LibC.SOL_SOCKET, LibC.SO_REUSEPORT, 1);

    /// <summary>
    /// Requests <paramref name="bytes"/> of receive and send buffer; with CAP_NET_ADMIN beyond the system's
    /// <c>rmem_max</c>/<c>wmem_max</c> (the <c>FORCE</c> variants), otherwise capped by them.
    /// </summary>
    public static void SetBufferSizes(Socket socket, int bytes)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!TrySet(socket, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, bytes))
        {
            socket.ReceiveBufferSize = bytes;
        }

        if (!TrySet(socket, LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, bytes))
        {
            socket.SendBufferSize = bytes;
        }
    }

    private static bool TrySet(Socket socket, int level, int name, int value)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption(level, name, BitConverter.GetBytes(value));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
