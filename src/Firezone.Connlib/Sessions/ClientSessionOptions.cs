using System.Diagnostics.Metrics;
using System.Net;
using Firezone.Connlib.Model;
using Firezone.PhoenixChannel;
using Firezone.Tun;

namespace Firezone.Connlib.Sessions;

/// <summary>Configuration of a <see cref="ClientSession"/>.</summary>
public sealed class ClientSessionOptions
{
    /// <summary>The portal's API URL (e.g. <c>wss://api.firezone.dev</c>; <c>ws://127.0.0.1:8081</c> for a dev portal).</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The client's token (sent only in the login URL; never logged).</summary>
    public required string Token { get; init; }

    /// <summary>The device id (<c>--firezone-id</c>); the portal sees its SHA-256 as <c>external_id</c>.</summary>
    public required string FirezoneId { get; init; }

    /// <summary>The device name (null: the host name).</summary>
    public string? DeviceName { get; init; }

    /// <summary>Device details sent at login (serial, UUID...); null: none.</summary>
    public DeviceInfo? DeviceInfo { get; init; }

    /// <summary>The TUN device (Linux or in-memory); null: none yet (set one later with <see cref="ClientSession.SetTun"/>).</summary>
    public ITun? Tun { get; init; }

    /// <summary>Time: the monotonic clock of the tunnel and the wall clock (default: the system's).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Creates the meter <c>Firezone.Connlib.Client</c>; null: the session's own meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Where the IPv4 UDP socket binds (default <c>0.0.0.0</c>; port 0 always).</summary>
    public IPAddress? IPv4BindAddress { get; init; }

    /// <summary>Where the IPv6 UDP socket binds (default <c>::</c>).</summary>
    public IPAddress? IPv6BindAddress { get; init; }

    /// <summary>Receive and send buffer requested per UDP socket (default 4 MiB; 0: the system's).</summary>
    public int SocketBufferSize { get; init; } = Io.TunnelSockets.DefaultBufferSize;

    /// <summary>The system's DNS servers (used when the portal configures none; see <see cref="ClientSession.SetDns"/>).</summary>
    public IReadOnlyList<IPAddress> SystemDnsServers { get; init; } = [];

    /// <summary>How long the portal may be unreachable before the session gives up (<c>--max-partition-time</c>); null: never.</summary>
    public TimeSpan? MaxPartitionTime { get; init; }

    /// <summary>Resources the user disabled (see <see cref="ClientSession.SetDisabledResources"/>).</summary>
    public IReadOnlyCollection<ResourceId> DisabledResources { get; init; } = [];

    /// <summary>Names answered before any resource (a static hosts file); null: none.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? KnownHosts { get; init; }

    /// <summary>The connlib version in the User-Agent (the portal gates features on it; default 1.3.8 as upstream's headless client).</summary>
    public string Version { get; init; } = "1.3.8";

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
