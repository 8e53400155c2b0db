using System.Diagnostics.Metrics;
using System.Net;
using Firezone.Connlib.Tunnel;
using Firezone.Tun;

namespace Firezone.Connlib.Sessions;

/// <summary>What a <see cref="ClientSessionOptions"/> and a <see cref="GatewaySessionOptions"/> have in common: the portal login, the TUN device, time, meters and the UDP sockets.</summary>
public abstract class SessionOptions
{
    private protected SessionOptions()
    {
    }

    /// <summary>The portal's API URL (e.g. <c>wss://api.firezone.dev</c>; <c>ws://127.0.0.1:8081</c> for a dev portal).</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The token (sent only in the login URL; never logged).</summary>
    public required string Token { get; init; }

    /// <summary>The device or gateway id (<c>--firezone-id</c> or the id file); the portal sees its SHA-256 as <c>external_id</c>.</summary>
    public required string FirezoneId { get; init; }

    /// <summary>The TUN device (Linux or in-memory); null: none yet (set one later with the session's <c>SetTun</c>).</summary>
    public ITun? Tun { get; init; }

    /// <summary>Time: the monotonic clock of the tunnel and the wall clock (default: the system's).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Creates the session's meter (<c>Firezone.Connlib.Client</c> or <c>.Gateway</c>); null: the session's own meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Where the IPv4 UDP socket binds (default <c>0.0.0.0</c>; port 0 always).</summary>
    public IPAddress? IPv4BindAddress { get; init; }

    /// <summary>Where the IPv6 UDP socket binds (default <c>::</c>).</summary>
    public IPAddress? IPv6BindAddress { get; init; }

    /// <summary>Receive and send buffer requested per UDP socket (default 4 MiB; 0: the system's).</summary>
    public int SocketBufferSize { get; init; } = Io.TunnelSockets.DefaultBufferSize;

    /// <summary>
    /// <c>SO_MARK</c> for every socket of the session — the tunnel's UDP sockets, the portal's WebSocket and recursive
    /// DNS (null: none; Linux with CAP_NET_ADMIN). Hosts on Linux set Firezone's mark
    /// (<see cref="Firezone.Tun.Netlink.TunDeviceManager.FirezoneFwmark"/>) so the tunnel's own traffic bypasses the routes
    /// of Firezone's table; without it an internet resource routes the portal and relay connections into the TUN itself.
    /// A mark the kernel refuses fails the socket (the portal connection is retried, a UDP family is absent).
    /// </summary>
    public uint? SocketMark { get; init; }

    /// <summary>
    /// Fault injection for tests and demos (null: none): every outgoing UDP datagram whose destination this returns true
    /// for is dropped before it is sent, as a firewall would drop it, e.g. <c>d =&gt; !d.Equals(relay)</c> leaves only the
    /// relayed path. Called on the tunnel thread for every datagram: keep it cheap and thread-safe (read a volatile
    /// flag to switch it at run time); never set it in production.
    /// </summary>
    public Func<IPEndPoint, bool>? DropOutbound { get; init; }

    /// <summary>The tunnel's IO settings.</summary>
    internal TunnelIoOptions IoOptions => new(Tun, IPv4BindAddress, IPv6BindAddress, SocketBufferSize, DropOutbound, SocketMark);

    /// <summary>What the portal connection does with each of its TCP sockets (the mark, if any).</summary>
    internal Action<System.Net.Sockets.Socket>? ConfigurePortalSocket => SocketMark is { } mark ? socket => Io.SocketMark.Apply(socket, mark) : null;
}
