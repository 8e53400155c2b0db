using System.Diagnostics.Metrics;
using System.Net;
using Firezone.Tun;

namespace Firezone.Connlib.Sessions;

/// <summary>Configuration of a <see cref="GatewaySession"/>.</summary>
public sealed class GatewaySessionOptions
{
    /// <summary>The portal's API URL.</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The gateway's token (never logged).</summary>
    public required string Token { get; init; }

    /// <summary>The gateway id (<c>FIREZONE_ID</c> or the id file); the portal sees its SHA-256 as <c>external_id</c>.</summary>
    public required string FirezoneId { get; init; }

    /// <summary>The gateway's name (null: the host name).</summary>
    public string? Name { get; init; }

    /// <summary>The TUN device; null: none yet (<see cref="GatewaySession.SetTun"/>).</summary>
    public ITun? Tun { get; init; }

    /// <summary>Time (default: the system's).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Creates the meter <c>Firezone.Connlib.Gateway</c>; null: the session's own meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Where the IPv4 UDP socket binds (default <c>0.0.0.0</c>).</summary>
    public IPAddress? IPv4BindAddress { get; init; }

    /// <summary>Where the IPv6 UDP socket binds (default <c>::</c>).</summary>
    public IPAddress? IPv6BindAddress { get; init; }

    /// <summary>Receive and send buffer requested per UDP socket (default 4 MiB; 0: the system's).</summary>
    public int SocketBufferSize { get; init; } = Io.TunnelSockets.DefaultBufferSize;

    /// <summary>
    /// Resolves a DNS resource's name to its addresses (A and AAAA). Null: the system resolver
    /// (<see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/>). Failures and timeouts count as
    /// no addresses.
    /// </summary>
    public Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>>? ResolveName { get; init; }

    /// <summary>Timeout of one name resolution (upstream: 10 s).</summary>
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The connlib version in the User-Agent (default 1.4.2 as upstream's gateway).</summary>
    public string Version { get; init; } = "1.4.2";

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
}
