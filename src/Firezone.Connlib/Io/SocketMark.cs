using System.Net.Sockets;
using Firezone.Tun.Io;

namespace Firezone.Connlib.Io;

/// <summary>
/// The session's <c>SO_MARK</c> on every socket it opens (hosts-and-tun spec §4.1: tunnel UDP, the portal's WebSocket,
/// recursive DNS): Firezone's policy rule <c>not fwmark 0xfd002021 lookup 0x2021fd00</c> then routes the tunnel's own
/// traffic around the tunnel, which matters as soon as a route of Firezone's table covers the portal, a relay or a peer
/// (the internet resource routes 0.0.0.0/0 and ::/0 into the TUN).
/// </summary>
internal static class SocketMark
{
    /// <summary>Marks <paramref name="socket"/> when <paramref name="mark"/> is set.</summary>
    /// <exception cref="SocketException">The mark is set but the kernel refused it (no CAP_NET_ADMIN, or not Linux).</exception>
    public static void Apply(Socket socket, uint? mark)
    {
        if (mark is { } value && !UdpSocketOptions.TrySetMark(socket, value))
        {
            throw new SocketException((int)SocketError.AccessDenied, $"cannot set SO_MARK 0x{value:x8} (needs Linux and CAP_NET_ADMIN)");
        }
    }
}
