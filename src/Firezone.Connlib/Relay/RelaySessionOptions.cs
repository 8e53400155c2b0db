using System.Diagnostics.Metrics;
using System.Net;
using Firezone.Snownet.Turn;

namespace Firezone.Connlib.Relay;

/// <summary>Configuration of a <see cref="RelaySession"/>.</summary>
public sealed class RelaySessionOptions
{
    /// <summary>The TURN server configuration (public addresses, ports, secret, RNG).</summary>
    public required TurnServerOptions Server { get; init; }

    /// <summary>
    /// Addresses the listening and allocation sockets bind to, at most one per family. Empty (the default): the
    /// wildcard of each family that has a public address (as upstream). When any is given, each family binds only to
    /// its given address, and a family without one has no sockets and hands out no relayed addresses (e.g. only
    /// 127.0.0.1 for loopback tests serves IPv4 only, even with a public IPv6 address configured).
    /// </summary>
    public IReadOnlyList<IPAddress> ListenAddresses { get; init; } = [];

    /// <summary>
    /// Creates the session's <c>relay</c> meter (allocations, responses, relayed bytes, drops). Null: the session
    /// creates and disposes its own meter.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// Time source: its monotonic timestamps (<see cref="TimeProvider.GetElapsedTime(long)"/> since the session was
    /// created) for every lifetime and timer of the server, its wall clock (<see cref="TimeProvider.GetUtcNow"/>) only
    /// for username expiry; also the stats timer and the control plane's waits.
    /// </summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Interval of the "Allocations = … Channels = … Throughput = …" log line (default 10 s).</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Threads (and SO_REUSEPORT sockets) reading the listening port per family; default: the CPU count, at most 4.
    /// Linux only; elsewhere use 1.
    /// </summary>
    public int ListenerThreads { get; init; } = OperatingSystem.IsLinux() ? Math.Clamp(Environment.ProcessorCount, 1, 4) : 1;

    /// <summary>
    /// Threads watching the allocation sockets with epoll (peer → client); 0 (default): half of
    /// <see cref="ListenerThreads"/>, at least one (one thread serving many ready sockets per wake-up batches better
    /// than several threads each waking for few).
    /// </summary>
    public int PeerThreads { get; init; }

    /// <summary>Socket buffer size requested for every UDP socket (0 = system default).</summary>
    public int SocketBufferSize { get; init; } = 4 * 1024 * 1024;
}
