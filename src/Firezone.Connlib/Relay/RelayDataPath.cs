using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Turn;

namespace Firezone.Connlib.Relay;

/// <summary>
/// What the relay's data-path threads share, all safe to use from any thread without a lock: the TURN server's
/// forwarding tables, the allocation sockets, the listening sockets, the per-thread counters and the control queues.
/// </summary>
internal sealed class RelayDataPath
{
    public RelayDataPath(RelayForwarder forwarder, RelayCounters counters, ControlQueue clientControl, ControlQueue peerControl)
    {
        Forwarder = forwarder;
        Counters = counters;
        ClientControl = clientControl;
        PeerControl = peerControl;
    }

    public RelayForwarder Forwarder { get; }

    public AllocationSocketTable AllocationSockets { get; } = new();

    public RelayCounters Counters { get; }

    /// <summary>STUN from clients (answered first).</summary>
    public ControlQueue ClientControl { get; }

    /// <summary>Peer datagrams without a bound channel (RFC 8656 Data indications; lower priority).</summary>
    public ControlQueue PeerControl { get; }

    /// <summary>Listening sockets by family: index 0 IPv4, 1 IPv6; several per family with SO_REUSEPORT.</summary>
    public RelayUdpSocket[][] Listeners { get; set; } = [[], []];

    /// <summary>The listening socket of <paramref name="family"/> that data-path thread <paramref name="thread"/> sends from.</summary>
    public RelayUdpSocket? ListenerFor(AddressFamily family, int thread)
    {
        var sockets = Listeners[family == AddressFamily.InterNetworkV6 ? 1 : 0];
        return sockets.Length == 0 ? null : sockets[thread % sockets.Length];
    }
}
