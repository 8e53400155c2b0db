using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>
/// A channel binding: number ↔ peer for one allocation. Bound until <see cref="ExpiryTicks"/>, then cooling down for
/// <see cref="TurnServer.ChannelCooldown"/>; its one deadline in the <see cref="DeadlineQueue"/> is whichever comes next.
/// </summary>
internal sealed class RelayChannel : DeadlineEntry
{
    public RelayChannel(ushort number, IPEndPoint peer, AddressKey peerKey, RelayAllocation allocation)
    {
        Number = number;
        Peer = peer;
        PeerKey = peerKey;
        PeerSocketAddress = peer.Serialize();
        Allocation = allocation;
        Route = NewRoute();
    }

    public ushort Number { get; }

    public IPEndPoint Peer { get; }

    public AddressKey PeerKey { get; }

    public System.Net.SocketAddress PeerSocketAddress { get; }

    public RelayAllocation Allocation { get; }

    /// <summary>End of the binding (UTC ticks): now + 600 s at each successful ChannelBind.</summary>
    public long ExpiryTicks { get; set; }

    /// <summary>True while bound (then <see cref="Route"/> is published in the forwarder).</summary>
    public bool Bound { get; set; }

    /// <summary>What the data path needs, for the allocation's current port.</summary>
    public ChannelRoute Route { get; private set; }

    /// <summary>Rebuilds <see cref="Route"/> after the allocation moved to another port (before its success left).</summary>
    public void RebuildRoute() => Route = NewRoute();

    private ChannelRoute NewRoute() =>
        new(Allocation.ClientKey, Allocation.Client, Allocation.ClientSocketAddress, Number, Allocation.Port, PeerKey, Peer, PeerSocketAddress);
}
