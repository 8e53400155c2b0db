namespace Firezone.Connlib.Client;

/// <summary>What <see cref="ClientState.HandleNetworkInput"/> made of a received datagram.</summary>
public enum ClientPacketStatus
{
    /// <summary>Nothing for the TUN device (control traffic, or a dropped packet: see <see cref="ClientPacketResult.Drop"/>). Call <see cref="ClientState.HandleTimeout"/>.</summary>
    None,

    /// <summary>An IP packet for the TUN device at <see cref="ClientPacketResult.Offset"/> in the caller's buffer.</summary>
    Packet,
}

/// <summary>Why a packet was dropped (counted by hosts; nothing is logged per packet above Trace).</summary>
public enum ClientDropReason
{
    /// <summary>Not dropped.</summary>
    None,

    /// <summary>Snownet consumed the datagram (STUN, TURN, WireGuard control) or could not decapsulate it.</summary>
    NotAPacket,

    /// <summary>A decrypted packet from a gateway the client has no peer state for.</summary>
    UnknownGateway,

    /// <summary>The packet's source is not inside any network that gateway serves for us.</summary>
    SourceNotAllowed,

    /// <summary>Not an IP packet the tunnel can carry.</summary>
    Malformed,

    /// <summary>No resource matches the destination.</summary>
    NoResource,

    /// <summary>The resource has no connected gateway yet (an intent may have been sent).</summary>
    NotConnected,

    /// <summary>Access to this DNS-resource address was just requested from the gateway.</summary>
    AccessRequested,

    /// <summary>Link-local multicast the tunnel never carries (IGMP 224.0.0.22, all-routers ff02::2).</summary>
    Multicast,

    /// <summary>A DNS query to a sentinel that could not be handled (not UDP/53, unparsable).</summary>
    BadDnsQuery,

    /// <summary>Consumed by connlib itself (a DNS query answered or forwarded, a TCP DNS segment).</summary>
    Consumed,
}

/// <summary>The outcome of <see cref="ClientState.HandleNetworkInput"/>: a packet in the caller's buffer, or why there is none.</summary>
/// <param name="Status">Packet or none.</param>
/// <param name="Offset">Where the packet starts in the buffer.</param>
/// <param name="Length">Its length.</param>
/// <param name="Drop">Why there is no packet.</param>
public readonly record struct ClientPacketResult(ClientPacketStatus Status, int Offset, int Length, ClientDropReason Drop)
{
    internal static ClientPacketResult Dropped(ClientDropReason reason) => new(ClientPacketStatus.None, 0, 0, reason);
}

/// <summary>Why <see cref="ClientState.OnRoutingDetails"/> did not set up routing.</summary>
public enum RoutingResult
{
    /// <summary>Routing set up (or ignored because an offer to that gateway is outstanding).</summary>
    Ok,

    /// <summary>The resource is unknown.</summary>
    UnknownResource,

    /// <summary>No connection intent is waiting for these details.</summary>
    NoPendingIntent,

    /// <summary>A DNS resource's intent carried no proxy IPs (the packet was not to a proxy IP).</summary>
    NoProxyIps,

    /// <summary>The resource is already routed through another gateway that still has a connection (upstream panics here).</summary>
    RoutedElsewhere,

    /// <summary>No TURN relay is known: reconnect to the portal to get fresh relays.</summary>
    NoTurnServers,
}
