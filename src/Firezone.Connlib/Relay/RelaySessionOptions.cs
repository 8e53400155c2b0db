using System.Net;
using Firezone.Snownet.Turn;

namespace Firezone.Connlib.Relay;

/// <summary>Configuration of a <see cref="RelaySession"/>.</summary>
public sealed class RelaySessionOptions
{
    /// <summary>The TURN server configuration (public addresses, ports, secret, RNG).</summary>
    public required TurnServerOptions Server { get; init; }

    /// <summary>
    /// Address the listening and allocation sockets bind to. Null: the wildcard of each served family (as upstream).
    /// A concrete address restricts the relay to that address's family (e.g. 127.0.0.1 for loopback tests).
    /// </summary>
    public IPAddress? ListenAddress { get; init; }

    /// <summary>Clock for lifetimes and username expiry.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Interval of the "Allocations = … Channels = … Throughput = …" log line (default 10 s).</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Socket buffer size requested for every UDP socket (0 = system default).</summary>
    public int SocketBufferSize { get; init; } = 4 * 1024 * 1024;
}
