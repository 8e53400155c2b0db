using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Io;

/// <summary>
/// A tunnel's two UDP sockets (hosts-and-tun spec §4.2): one IPv4 and one IPv6, by default bound to
/// <c>0.0.0.0:0</c> and <c>[::]:0</c> (independent ephemeral ports). A family whose bind fails is absent (an info
/// log); <see cref="HasAny"/> false means the tunnel suspends until <see cref="Rebind"/>. A datagram goes out of the
/// socket of its destination's family (none: dropped, counted as <see cref="TunnelDropReason.NoSocket"/>).
/// </summary>
internal sealed partial class TunnelSockets : IDisposable
{
    /// <summary>Receive and send buffer requested per socket by default: 4 MiB (upstream leaves the system default).</summary>
    public const int DefaultBufferSize = 4 * 1024 * 1024;

    private readonly IPAddress _v4Address;
    private readonly IPAddress _v6Address;
    private readonly int _bufferSize;
    private readonly TunnelCounters _counters;
    private readonly ILogger _logger;
    private bool _warnedNone;

    /// <summary>Binds both sockets (see <see cref="Rebind"/>).</summary>
    public TunnelSockets(IPAddress? v4Address, IPAddress? v6Address, int bufferSize, TunnelCounters counters, ILogger logger)
    {
        _v4Address = v4Address ?? IPAddress.Any;
        _v6Address = v6Address ?? IPAddress.IPv6Any;
        if (_v4Address.AddressFamily != AddressFamily.InterNetwork || _v6Address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("The IPv4 bind address must be IPv4 and the IPv6 one IPv6.");
        }

        _bufferSize = bufferSize;
        _counters = counters;
        _logger = logger;
        Rebind();
    }

    /// <summary>SO_MARK of both sockets (null: none).</summary>
    public uint? SocketMark { get; init; }

    /// <summary>Test hook: datagrams to destinations for which this returns true are dropped (not counted).</summary>
    public Func<IPEndPoint, bool>? DropOutbound { get; init; }

    /// <summary>The IPv4 socket, or null.</summary>
    public TunnelUdpSocket? V4 { get; private set; }

    /// <summary>The IPv6 socket, or null.</summary>
    public TunnelUdpSocket? V6 { get; private set; }

    /// <summary>True when at least one family has a socket.</summary>
    public bool HasAny => V4 is not null || V6 is not null;

    /// <summary>True when a socket has parked datagrams (wait until it is writable).</summary>
    public bool IsBlocked => (V4?.IsBlocked ?? false) || (V6?.IsBlocked ?? false);

    /// <summary>
    /// Closes both sockets and binds new ones (new ports; tunnel spec §4.8 reset). Parked datagrams are dropped.
    /// Logs "No available UDP sockets" (error) once when neither family could bind.
    /// </summary>
    public void Rebind()
    {
        V4?.Dispose();
        V6?.Dispose();
        V4 = TryBind(_v4Address, "IPv4");
        V6 = TryBind(_v6Address, "IPv6");
        if (HasAny)
        {
            _warnedNone = false;
            LogBound(_logger, V4?.LocalEndPoint, V6?.LocalEndPoint, (V4 ?? V6)!.BufferSizes.Receive, (V4 ?? V6)!.BufferSizes.Send);
        }
        else if (!_warnedNone)
        {
            _warnedNone = true;
            LogNoSockets(_logger);
        }
    }

    private TunnelUdpSocket? TryBind(IPAddress address, string family)
    {
        try
        {
            return TunnelUdpSocket.Bind(address, 0, _bufferSize, _counters, mark: SocketMark);
        }
        catch (SocketException e)
        {
            LogBindFailed(_logger, family, address, e.SocketErrorCode);
            return null;
        }
    }

    /// <summary>Queues a datagram on the socket of <paramref name="destination"/>'s family.</summary>
    public bool Enqueue(IPEndPoint? source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        if (DropOutbound?.Invoke(destination) == true)
        {
            return false;
        }

        var socket = destination.AddressFamily == AddressFamily.InterNetworkV6 ? V6 : V4;
        if (socket is null)
        {
            _counters.Drop(TunnelDropReason.NoSocket);
            return false;
        }

        return socket.Enqueue(source, destination, payload);
    }

    /// <summary>Flushes both sockets; false when one is blocked (its datagrams stay parked).</summary>
    public bool Flush()
    {
        bool v4 = V4?.Flush() ?? true;
        bool v6 = V6?.Flush() ?? true;
        return v4 && v6;
    }

    /// <summary>Closes both sockets.</summary>
    public void Dispose()
    {
        V4?.Dispose();
        V6?.Dispose();
        V4 = null;
        V6 = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Failed to bind {Family} socket on {Address}: {Error}")]
    private static partial void LogBindFailed(ILogger logger, string family, IPAddress address, SocketError error);

    [LoggerMessage(Level = LogLevel.Error, Message = "No available UDP sockets")]
    private static partial void LogNoSockets(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Tunnel sockets bound: IPv4 {V4}, IPv6 {V6} (buffers: receive {Receive} B, send {Send} B)")]
    private static partial void LogBound(ILogger logger, IPEndPoint? v4, IPEndPoint? v6, int receive, int send);
}
