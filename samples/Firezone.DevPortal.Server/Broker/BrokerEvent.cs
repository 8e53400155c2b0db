namespace Firezone.DevPortal.Broker;

/// <summary>What a <see cref="BrokerEvent"/> reports.</summary>
public enum BrokerEventKind
{
    /// <summary>A client joined (<see cref="BrokerEvent.Peer"/> is its id).</summary>
    ClientJoined,

    /// <summary>A gateway joined.</summary>
    GatewayJoined,

    /// <summary>A relay joined (with a stamp secret and, if <see cref="BrokerEvent.Detail"/> names them, addresses).</summary>
    RelayJoined,

    /// <summary>A client's socket ended.</summary>
    ClientLeft,

    /// <summary>A gateway's socket ended.</summary>
    GatewayLeft,

    /// <summary>A relay's socket ended.</summary>
    RelayLeft,

    /// <summary>prepare_connection answered with a gateway (<see cref="BrokerEvent.Other"/>) for <see cref="BrokerEvent.Resource"/>.</summary>
    ConnectionPrepared,

    /// <summary>request_connection forwarded to the gateway.</summary>
    ConnectionRequested,

    /// <summary>The gateway's connection_ready reached the client.</summary>
    ConnectionReady,

    /// <summary>reuse_connection forwarded as allow_access.</summary>
    AccessAllowed,

    /// <summary>A request failed with <c>offline</c>: the gateway did not answer in time or left.</summary>
    ConnectionFailed,
}

/// <summary>
/// Something the broker did, for hosts that show it (the demo prints joins and connections). Polled with
/// <see cref="DevPortalBroker.PollEvent"/>; at most <see cref="DevPortalBroker.MaxQueuedEvents"/> wait (older ones are dropped).
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="Peer">The client, gateway or relay id it is about.</param>
/// <param name="Name">Its name (the login query's <c>name</c>).</param>
/// <param name="Other">The other side (the gateway of a client's connection, the client of a gateway's answer), if any.</param>
/// <param name="Resource">The resource, if any.</param>
/// <param name="Detail">A human-readable detail (addresses, reasons).</param>
public sealed record BrokerEvent(BrokerEventKind Kind, Guid Peer, string Name, Guid? Other = null, Guid? Resource = null, string Detail = "");
