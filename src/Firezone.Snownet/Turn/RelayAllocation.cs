using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>Server-side state of one allocation (one client transport address, one port, one or two families).</summary>
internal sealed class RelayAllocation
{
    public RelayAllocation(AddressKey clientKey, IPEndPoint client, int port, bool ipv4, bool ipv6, DateTimeOffset expiry)
    {
        ClientKey = clientKey;
        Client = client;
        ClientSocketAddress = client.Serialize();
        Port = port;
        HasIPv4 = ipv4;
        HasIPv6 = ipv6;
        Expiry = expiry;
    }

    public AddressKey ClientKey { get; }

    public IPEndPoint Client { get; }

    public System.Net.SocketAddress ClientSocketAddress { get; }

    public int Port { get; }

    public bool HasIPv4 { get; }

    public bool HasIPv6 { get; }

    public DateTimeOffset Expiry { get; set; }

    /// <summary>Channels by number (bound or cooling down).</summary>
    public Dictionary<ushort, RelayChannel> ChannelsByNumber { get; } = new();

    /// <summary>Channel numbers by peer transport address (bound or cooling down).</summary>
    public Dictionary<AddressKey, ushort> ChannelsByPeer { get; } = new();

    /// <summary>RFC 8656 permissions from CreatePermission: peer IP (port 0) → expiry. An extension beyond upstream.</summary>
    public Dictionary<AddressKey, DateTimeOffset> Permissions { get; } = new();

    public bool Serves(bool ipv6) => ipv6 ? HasIPv6 : HasIPv4;
}

/// <summary>A channel binding: number ↔ peer for one allocation.</summary>
internal sealed class RelayChannel
{
    public RelayChannel(ushort number, IPEndPoint peer, AddressKey peerKey, RelayAllocation allocation, DateTimeOffset expiry)
    {
        Number = number;
        Peer = peer;
        PeerKey = peerKey;
        PeerSocketAddress = peer.Serialize();
        Allocation = allocation;
        Expiry = expiry;
        Bound = true;
    }

    public ushort Number { get; }

    public IPEndPoint Peer { get; }

    public AddressKey PeerKey { get; }

    public System.Net.SocketAddress PeerSocketAddress { get; }

    public RelayAllocation Allocation { get; }

    public DateTimeOffset Expiry { get; set; }

    public bool Bound { get; set; }
}
