using System.Net;
using System.Net.Sockets;
using Firezone.Tun.Io;

namespace Firezone.Connlib.Relay;

/// <summary>
/// One of the relay's UDP sockets (a listening socket or an allocation socket) with what the data path needs to know
/// about it. Used synchronously only (never with .NET async operations), so .NET never puts it in its own epoll set.
/// </summary>
internal sealed class RelayUdpSocket : IDisposable
{
    private volatile bool _gso;

    private RelayUdpSocket(Socket socket, int port, AddressFamily family, bool gso)
    {
        Socket = socket;
        Port = port;
        Family = family;
        _gso = gso;
    }

    public Socket Socket { get; }

    public int Port { get; }

    public AddressFamily Family { get; }

    /// <summary>The kernel segments UDP GSO messages for this socket (turned off after a send reports EIO).</summary>
    public bool Gso => _gso;

    /// <summary>The epoll token of an allocation socket: its port, with bit 16 set for IPv6 (as upstream).</summary>
    public ulong Token => (uint)Port | (Family == AddressFamily.InterNetworkV6 ? 1UL << 16 : 0UL);

    public void DisableGso() => _gso = false;

    /// <summary>
    /// Opens a blocking UDP socket bound to <paramref name="address"/>:<paramref name="port"/> (IPv6 sockets are
    /// IPv6-only, so both families can share a port number). <paramref name="bufferSize"/> &gt; 0 requests that much
    /// receive and send buffer (<paramref name="force"/>: beyond the system maximum where privileged).
    /// </summary>
    /// <exception cref="SocketException">The bind failed (e.g. <see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public static RelayUdpSocket Open(IPAddress address, int port, int bufferSize, bool force, bool reusePort = false, bool gro = false)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            if (reusePort && !UdpSocketOptions.TryEnableReusePort(socket))
            {
                throw new SocketException((int)SocketError.OperationNotSupported);
            }

            if (bufferSize > 0)
            {
                if (force)
                {
                    UdpSocketOptions.SetBufferSizes(socket, bufferSize);
                }
                else
                {
                    socket.ReceiveBufferSize = bufferSize;
                    socket.SendBufferSize = bufferSize;
                }
            }

            socket.Bind(new IPEndPoint(address, port));
            if (gro)
            {
                UdpSocketOptions.TryEnableGro(socket);
            }

            return new RelayUdpSocket(socket, ((IPEndPoint)socket.LocalEndPoint!).Port, address.AddressFamily, UdpSocketOptions.SupportsGso(socket));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Socket.Dispose();
}
