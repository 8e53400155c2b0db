using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Turn;

/// <summary>
/// The relay's ChannelData data path, usable from many receive threads at once without a lock. It holds the
/// forwarding tables the single-threaded control plane (<see cref="TurnServer"/>) publishes: for every <em>bound</em>
/// channel, (client address, channel number) → peer and (allocation port, peer address) → client. Cooling-down channels,
/// allocations and everything else stay on the control plane; of the permissions only their existence is published
/// (<see cref="IsPermitted"/>), so the data path can drop unpermitted peer traffic itself.
/// </summary>
/// <remarks>
/// Every method may be called concurrently from any number of threads and concurrently with any call on the owning
/// <see cref="TurnServer"/>. Lookups are lock-free reads of <see cref="ConcurrentDictionary{TKey, TValue}"/>; each
/// binding is one immutable route object created by the control plane when the channel is created, so forwarding a
/// packet allocates nothing. A lookup racing a change sees the binding either before or after it. The
/// <see cref="IPEndPoint"/> and <see cref="SocketAddress"/> instances handed out are shared by all threads: read them,
/// never modify them. The forwarder does not count bytes (a host counts per thread). RFC 8656 Data indications for peers
/// with a permission but no channel are not forwarded here: they go through <see cref="TurnServer.HandlePeerTraffic(ReadOnlySpan{byte}, SocketAddress, int, TimeSpan)"/>.
/// Size: two entries per bound channel and one per permission, so at most 2 × <see cref="TurnServerOptions.MaxChannels"/>
/// + <see cref="TurnServerOptions.MaxPermissions"/>.
/// </remarks>
public sealed class RelayForwarder
{
    private readonly ConcurrentDictionary<ClientChannel, ChannelRoute> _toPeer = new();
    private readonly ConcurrentDictionary<PortPeer, ChannelRoute> _toClient = new();
    private readonly ConcurrentDictionary<PortPeer, byte> _permitted = new();

    internal RelayForwarder()
    {
    }

    /// <summary>Number of (client, channel) → peer routes, i.e. of bound channels (a snapshot).</summary>
    internal int PeerRouteCount => _toPeer.Count;

    /// <summary>Number of (port, peer) → client routes (a snapshot; equals <see cref="PeerRouteCount"/> when quiet).</summary>
    internal int ClientRouteCount => _toClient.Count;

    /// <summary>
    /// A ChannelData frame (first byte 0x40–0x7F) received on the listening port from <paramref name="client"/>:
    /// true when it is well-formed (<see cref="ChannelData"/> rules) and its channel is bound for that client; then
    /// <paramref name="relay"/> says which payload bytes of <paramref name="datagram"/> to send to which peer from
    /// which allocation port.
    /// </summary>
    public bool TryRelayToPeer(ReadOnlySpan<byte> datagram, SocketAddress client, out RelayToPeer relay)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!AddressKey.TryFrom(client, out var key))
        {
            relay = default;
            return false;
        }

        return TryRelayToPeer(datagram, key, out relay);
    }

    internal bool TryRelayToPeer(ReadOnlySpan<byte> datagram, AddressKey client, out RelayToPeer relay)
    {
        if (!ChannelData.TryParse(datagram, out var frame) || !_toPeer.TryGetValue(new ClientChannel(client, frame.Channel), out var route))
        {
            relay = default;
            return false;
        }

        relay = new RelayToPeer(route.AllocationPort, route.Peer, route.PeerSocketAddress, ChannelData.HeaderLength, frame.Payload.Length);
        return true;
    }

    /// <summary>
    /// A datagram of <paramref name="length"/> bytes received on allocation port <paramref name="allocationPort"/> from
    /// <paramref name="peer"/>: true when that client bound a channel to exactly that peer address (IP and port) on
    /// that allocation; then <paramref name="relay"/> names the client and the channel to frame it with. Datagrams
    /// longer than 65,535 bytes cannot be framed and give false.
    /// </summary>
    public bool TryRelayToClient(int length, SocketAddress peer, int allocationPort, out RelayToClient relay)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (!AddressKey.TryFrom(peer, out var key))
        {
            relay = default;
            return false;
        }

        return TryRelayToClient(length, key, allocationPort, out relay);
    }

    internal bool TryRelayToClient(int length, AddressKey peer, int allocationPort, out RelayToClient relay)
    {
        if ((uint)length > ushort.MaxValue || !_toClient.TryGetValue(new PortPeer(allocationPort, peer), out var route))
        {
            relay = default;
            return false;
        }

        relay = new RelayToClient(route.Client, route.ClientSocketAddress, route.Channel);
        return true;
    }

    /// <summary>
    /// True when the client of allocation port <paramref name="allocationPort"/> holds an RFC 8656 permission (from
    /// CreatePermission) for <paramref name="peer"/>'s IP: a datagram from it without a bound channel is worth handing
    /// to the control plane (<see cref="TurnServer.HandlePeerTraffic(ReadOnlySpan{byte}, SocketAddress, int, TimeSpan)"/>),
    /// which sends it as a Data indication. Anything else from an unknown peer can be dropped on the data path, so a
    /// flood of forged peer traffic never reaches the control plane.
    /// </summary>
    public bool IsPermitted(SocketAddress peer, int allocationPort)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return !_permitted.IsEmpty && AddressKey.TryFrom(peer, out var key) && _permitted.ContainsKey(new PortPeer(allocationPort, key.IpOnly));
    }

    /// <summary>Number of published permissions (a snapshot).</summary>
    internal int PermissionCount => _permitted.Count;

    /// <summary>Publishes a permission for a peer IP (port 0 key) on an allocation port (control plane only).</summary>
    internal void Permit(int allocationPort, AddressKey peerIp) => _permitted[new PortPeer(allocationPort, peerIp)] = 0;

    /// <summary>Withdraws a permission (control plane only).</summary>
    internal void Unpermit(int allocationPort, AddressKey peerIp) => _permitted.TryRemove(new PortPeer(allocationPort, peerIp), out _);

    /// <summary>Publishes a bound channel (control plane only).</summary>
    internal void Publish(ChannelRoute route)
    {
        _toPeer[new ClientChannel(route.ClientKey, route.Channel)] = route;
        _toClient[new PortPeer(route.AllocationPort, route.PeerKey)] = route;
    }

    /// <summary>Withdraws a channel that is no longer bound (control plane only).</summary>
    internal void Withdraw(ChannelRoute route)
    {
        _toPeer.TryRemove(new KeyValuePair<ClientChannel, ChannelRoute>(new ClientChannel(route.ClientKey, route.Channel), route));
        _toClient.TryRemove(new KeyValuePair<PortPeer, ChannelRoute>(new PortPeer(route.AllocationPort, route.PeerKey), route));
    }

    private readonly record struct ClientChannel(AddressKey Client, ushort Channel);

    private readonly record struct PortPeer(int Port, AddressKey Peer);
}

/// <summary>One bound channel as the data path sees it: immutable, created once per binding by the control plane.</summary>
internal sealed class ChannelRoute
{
    public ChannelRoute(AddressKey clientKey, IPEndPoint client, SocketAddress clientSocketAddress, ushort channel, int allocationPort, AddressKey peerKey, IPEndPoint peer, SocketAddress peerSocketAddress)
    {
        ClientKey = clientKey;
        Client = client;
        ClientSocketAddress = clientSocketAddress;
        Channel = channel;
        AllocationPort = allocationPort;
        PeerKey = peerKey;
        Peer = peer;
        PeerSocketAddress = peerSocketAddress;
    }

    public AddressKey ClientKey { get; }

    public IPEndPoint Client { get; }

    public SocketAddress ClientSocketAddress { get; }

    public ushort Channel { get; }

    public int AllocationPort { get; }

    public AddressKey PeerKey { get; }

    public IPEndPoint Peer { get; }

    public SocketAddress PeerSocketAddress { get; }
}
