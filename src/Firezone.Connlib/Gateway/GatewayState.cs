using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Model;
using Firezone.Connlib.P2pControl;
using Firezone.Connlib.Routing;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// The Firezone gateway's sans-IO core (tunnel spec §5, upstream <c>GatewayState</c>): a Snownet
/// <see cref="ServerNode"/> for the WireGuard connections to clients (connection id = <see cref="ClientId"/>), and the
/// zero-trust policy around it: which client may reach which resource, through which filters, until when, and the
/// DNS-resource NAT between the proxy IPs clients hand out and the resources' real IPs.
/// </summary>
/// <remarks>
/// <para>Contract: feed it received datagrams (<see cref="HandleNetworkInput"/>: an IP packet for the TUN device, or
/// nothing, or an error value), packets read from the TUN device (<see cref="HandleTunInput"/>: an encrypted datagram
/// to send, or nothing, or an error value), portal commands and time (<see cref="HandleTimeout"/> with the monotonic
/// <c>now</c> and the wall clock <c>utcNow</c> for access expiry); drain <see cref="PollTransmit"/>,
/// <see cref="PollEvent"/> and <see cref="PollTimeout"/> after every call. Single-threaded; no socket, clock or thread
/// inside. Both packet paths allocate nothing per packet in steady state (also with DNS-resource NAT and NAT46/64)
/// and log at most at Trace.</para>
/// <para>Deliberate differences from upstream (Connlib README, "Gateway"): refused client packets are answered with
/// ICMP "administratively prohibited" (rate-limited per client); NAT sessions are kept alive by incoming traffic too;
/// only traffic from a NAT session's real IP is un-NATed, so other replies need no port; caps on every table a client
/// can grow.</para>
/// </remarks>
public sealed partial class GatewayState : IDisposable
{
    /// <summary>Interval of the access-expiry and NAT housekeeping check.</summary>
    public static readonly TimeSpan ExpiryCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary><see cref="ResolveDns"/> events one client may have waiting for the host at most (more are dropped).</summary>
    public const int MaxPendingResolvesPerClient = 64;

    private readonly ServerNode _node;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly PeerStore<ClientId, ClientOnGateway> _peers = new();
    private readonly Queue<GatewayEvent> _events = new();
    private readonly PooledTransmitQueue _transmits = new();
    private readonly byte[] _scratch = new byte[Node.BufferSize];
    private TimeSpan? _nextExpiryCheck;
    private int _pendingPeerEvents;

    /// <summary>Creates the gateway state and its node from a secret 32-byte seed (see <see cref="ServerNode"/>).</summary>
    public GatewayState(ReadOnlySpan<byte> seed, TimeSpan now, DateTimeOffset utcNow, ILoggerFactory? loggerFactory = null)
    {
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Firezone.Connlib.Gateway");
        _node = new ServerNode(seed, now, utcNow, _loggerFactory);
    }

    /// <summary>The node's static WireGuard public key (what the portal announces to clients).</summary>
    public ReadOnlyMemory<byte> PublicKey => _node.PublicKey;

    /// <summary>Clients with peer state (at least one resource).</summary>
    public int ClientCount => _peers.Count;

    /// <summary>Datagrams of the gateway's own (p2p control replies, ICMP answers) dropped because its queue was full.</summary>
    public long DroppedTransmits => _transmits.Dropped;

    /// <summary>The node (tests and diagnostics).</summary>
    internal ServerNode InnerNode => _node;

    /// <summary>Connections established so far (the session's handshake metric).</summary>
    internal long ConnectionsEstablished { get; private set; }

    /// <summary>Adds a local host candidate (an address of a socket the host listens on; see <see cref="Node.AddLocalHostCandidate"/>).</summary>
    public bool AddLocalHostCandidate(IPEndPoint address) => _node.AddLocalHostCandidate(address);

    /// <summary>
    /// Deprecated offer/answer flow (portal <c>request_connection</c>): accepts the client's offer and returns the answer
    /// for <c>connection_ready</c>. The host then calls <see cref="AllowAccess"/> with the NAT entry of the request's
    /// domain, and <see cref="CleanupConnection"/> if that fails.
    /// </summary>
    /// <exception cref="NoTurnServersException">No relay: reconnect to the portal for a fresh <c>init</c>.</exception>
    public Answer Accept(ClientId client, Offer offer, ReadOnlySpan<byte> clientPublicKey, TimeSpan now) =>
        _node.AcceptConnection(ToConnection(client), offer, clientPublicKey, now);

    /// <summary>
    /// Portal <c>authorize_flow</c>: upserts the connection with the portal's ICE credentials (a no-op when an identical
    /// one exists), then <see cref="AllowAccess"/> without NAT. The host replies <c>flow_authorized</c>.
    /// </summary>
    /// <exception cref="NoTurnServersException">No relay: reconnect to the portal for a fresh <c>init</c>.</exception>
    public void AuthorizeFlow(ClientId client, ReadOnlySpan<byte> clientPublicKey, ReadOnlySpan<byte> presharedKey, Credentials clientIce,
        Credentials gatewayIce, IPAddress ipv4, IPAddress ipv6, DateTimeOffset? expiresAt, GatewayResource resource, TimeSpan now)
    {
        _node.UpsertConnection(ToConnection(client), clientPublicKey, presharedKey, gatewayIce, clientIce, now);
        AllowAccess(client, ipv4, ipv6, expiresAt, resource, null, now);
    }

    /// <summary>
    /// Grants <paramref name="client"/> access to <paramref name="resource"/> (tunnel spec §5.2): creates the peer if
    /// missing (with these tunnel addresses), adds the resource or takes its new filters, sets up DNS NAT when
    /// <paramref name="dnsNat"/> is given, and indexes the client's /32 and /128. A NAT failure is returned (the resource
    /// stays granted, the addresses are then not indexed, as upstream).
    /// </summary>
    public DnsNatError AllowAccess(ClientId client, IPAddress ipv4, IPAddress ipv6, DateTimeOffset? expiresAt, GatewayResource resource,
        DnsResourceNatEntry? dnsNat, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(ipv4);
        ArgumentNullException.ThrowIfNull(ipv6);
        ArgumentNullException.ThrowIfNull(resource);
        if (!_peers.TryGet(client, out var peer))
        {
            peer = new ClientOnGateway(client, ipv4, ipv6, _logger);
            _peers.Insert(client, peer, []);
        }

        peer.AddResource(resource, expiresAt);
        if (dnsNat is not null)
        {
            var error = peer.SetupNat(dnsNat.Domain, resource.Id, dnsNat.ResolvedIps, dnsNat.ProxyIps, now);
            if (error != DnsNatError.None)
            {
                LogNatFailed(_logger, client, resource.Id, dnsNat.Domain, error);
                return error;
            }
        }

        _peers.AddPrefix(client, new IPNetwork(ipv4, 32));
        _peers.AddPrefix(client, new IPNetwork(ipv6, 128));
        return DnsNatError.None;
    }

    /// <summary>Portal <c>reject_access</c>: removes the resource; the peer goes when it has none left (the connection stays).</summary>
    public void RemoveAccess(ClientId client, ResourceId resource)
    {
        if (!_peers.TryGet(client, out var peer))
        {
            return;
        }

        peer.RemoveResource(resource);
        if (peer.IsEmpty)
        {
            RemovePeer(client);
        }

        LogAccessRemoved(_logger, client, resource);
    }

    /// <summary>
    /// Portal <c>resource_updated</c>: every client holding the resource takes its new filters (addresses never change;
    /// a kind change is logged as an error and ignored).
    /// </summary>
    public void UpdateResource(GatewayResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        foreach (var id in _peers.Ids)
        {
            _peers.TryGet(id, out var peer);
            peer.UpdateResource(resource);
        }
    }

    /// <summary>Forgets the client's peer state (its resources, translations and NAT sessions).</summary>
    public void CleanupConnection(ClientId client) => RemovePeer(client);

    /// <summary>
    /// The host's resolution of a <see cref="ResolveDns"/> request: sets up NAT and sends the client a p2p control
    /// <c>DomainStatus</c> (Active on success, Inactive otherwise). <see cref="DnsNatError.UnknownClient"/> (nothing sent)
    /// when the client has no peer state.
    /// </summary>
    public DnsNatError HandleDomainResolved(ResolveDns request, IReadOnlyList<IPAddress> addresses, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(addresses);
        if (!_peers.TryGet(request.Client, out var peer))
        {
            return DnsNatError.UnknownClient;
        }

        var error = peer.SetupNat(request.Domain, request.Resource, addresses, request.ProxyIps, now);
        if (error != DnsNatError.None)
        {
            LogNatFailed(_logger, request.Client, request.Resource, request.Domain, error);
        }

        SendDomainStatus(request.Client, request.Resource, request.Domain, error == DnsNatError.None ? NatStatus.Active : NatStatus.Inactive, now);
        return error;
    }

    /// <summary>
    /// The host's resolution of a <see cref="RefreshDns"/> request: nothing changes when the name still maps to the same
    /// set of real IPs, otherwise NAT is set up again over the name's proxy IPs. Failures are logged and returned.
    /// </summary>
    public DnsNatError RefreshTranslation(ClientId client, ResourceId resource, string name, IReadOnlyList<IPAddress> resolvedIps, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(resolvedIps);
        if (!_peers.TryGet(client, out var peer))
        {
            return DnsNatError.UnknownClient;
        }

        var error = peer.RefreshTranslation(name, resource, resolvedIps, now);
        if (error != DnsNatError.None)
        {
            LogRefreshFailed(_logger, client, resource, name, error);
        }

        return error;
    }

    /// <summary>A client's ICE candidate (portal <c>ice_candidates</c>).</summary>
    public void AddIceCandidate(ClientId client, string candidate, TimeSpan now)
    {
        _node.AddRemoteCandidate(ToConnection(client), candidate, now);
        _node.HandleTimeout(now);
        DrainNodeEvents();
    }

    /// <summary>A client's withdrawn ICE candidate (portal <c>invalidate_ice_candidates</c>).</summary>
    public void RemoveIceCandidate(ClientId client, string candidate, TimeSpan now)
    {
        _node.RemoveRemoteCandidate(ToConnection(client), candidate, now);
        _node.HandleTimeout(now);
        DrainNodeEvents();
    }

    /// <summary>Relays to drop and to add (portal <c>init</c> and <c>relays_presence</c>).</summary>
    public void UpdateRelays(IEnumerable<RelayId> toRemove, IEnumerable<TurnRelay> toAdd, TimeSpan now)
    {
        _node.UpdateRelays(toRemove, toAdd, now);
        DrainNodeEvents();
    }

    /// <summary>
    /// Timers (tunnel spec §5.6): the node's, then its events; the first call only schedules the expiry check 1 s later;
    /// every due check drops expired resources (<paramref name="utcNow"/>), runs translation liveness and NAT
    /// housekeeping, removes clients left without resources (their connections stay) and schedules the next check.
    /// </summary>
    public void HandleTimeout(TimeSpan now, DateTimeOffset utcNow)
    {
        _node.HandleTimeout(now);
        DrainNodeEvents();
        if (_nextExpiryCheck is not { } due)
        {
            _nextExpiryCheck = now + ExpiryCheckInterval;
            return;
        }

        if (now < due)
        {
            return;
        }

        foreach (var id in _peers.Ids)
        {
            _peers.TryGet(id, out var peer);
            peer.ExpireResources(utcNow);
            _pendingPeerEvents += peer.HandleTimeout(now);
        }

        _peers.Retain((_, peer) =>
        {
            if (!peer.IsEmpty)
            {
                return true;
            }

            _pendingPeerEvents -= peer.PendingEvents;
            return false;
        });
        _nextExpiryCheck = now + ExpiryCheckInterval;
    }

    /// <summary>The earliest of the next expiry check and the node's next timer; null when nothing is scheduled.</summary>
    public TimeSpan? PollTimeout()
    {
        var node = _node.PollTimeout();
        return (node, _nextExpiryCheck) switch
        {
            ({ } a, { } b) => a < b ? a : b,
            ({ } a, null) => a,
            (null, { } b) => b,
            _ => null,
        };
    }

    /// <summary>The next datagram to send: the gateway's own first, then the node's. The payload is valid until the next call.</summary>
    public Transmit? PollTransmit() => _transmits.Dequeue() ?? _node.PollTransmit();

    /// <summary>The next event: the gateway's own first, then the clients' <see cref="RefreshDns"/> in client-id order.</summary>
    public GatewayEvent? PollEvent()
    {
        if (_events.TryDequeue(out var e))
        {
            if (e is ResolveDns resolve && _peers.TryGet(resolve.Client, out var owner) && owner.PendingResolves > 0)
            {
                owner.PendingResolves--; // > 0: the event may be of an earlier peer of this client (removed and granted again)
            }

            return e;
        }

        if (_pendingPeerEvents == 0)
        {
            return null;
        }

        foreach (var id in _peers.Ids)
        {
            _peers.TryGet(id, out var peer);
            if (peer.PollEvent() is { } refresh)
            {
                _pendingPeerEvents--;
                return refresh;
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public void Dispose() => _node.Dispose();

    /// <summary>The client's peer state (tests and diagnostics).</summary>
    internal ClientOnGateway? PeerOf(ClientId client) => _peers.TryGet(client, out var peer) ? peer : null;

    /// <summary>The peer store (tests and diagnostics).</summary>
    internal PeerStore<ClientId, ClientOnGateway> Peers => _peers;

    private static ConnectionId ToConnection(ClientId client) => new(client.Value);

    private void RemovePeer(ClientId client)
    {
        if (_peers.Remove(client) is { } removed)
        {
            _pendingPeerEvents -= removed.PendingEvents;
        }
    }

    /// <summary>Node events: failures and closes remove the peer; candidates are aggregated per client, in client order.</summary>
    private void DrainNodeEvents()
    {
        SortedDictionary<ClientId, SortedSet<string>>? added = null;
        SortedDictionary<ClientId, SortedSet<string>>? removed = null;
        while (_node.PollEvent() is { } e)
        {
            var client = new ClientId(e.Connection.Value);
            switch (e)
            {
                case ConnectionFailed or ConnectionClosed:
                    RemovePeer(client);
                    break;
                case ConnectionEstablished:
                    ConnectionsEstablished++;
                    break;
                case NewIceCandidate c:
                    Add(ref added, client, c.Candidate);
                    break;
                case InvalidateIceCandidate c:
                    Add(ref removed, client, c.Candidate);
                    break;
            }
        }

        if (added is not null)
        {
            foreach (var (client, candidates) in added)
            {
                _events.Enqueue(new AddedIceCandidates(client, [.. candidates]));
            }
        }

        if (removed is not null)
        {
            foreach (var (client, candidates) in removed)
            {
                _events.Enqueue(new RemovedIceCandidates(client, [.. candidates]));
            }
        }

        static void Add(ref SortedDictionary<ClientId, SortedSet<string>>? sets, ClientId client, string candidate)
        {
            sets ??= new();
            if (!sets.TryGetValue(client, out var set))
            {
                sets[client] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(candidate);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Access of client {Client} to resource {Resource} removed")]
    private static partial void LogAccessRemoved(ILogger logger, ClientId client, ResourceId resource);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to set up DNS resource NAT for client {Client}, resource {Resource}, domain {Domain}: {Error}")]
    private static partial void LogNatFailed(ILogger logger, ClientId client, ResourceId resource, string domain, DnsNatError error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to refresh DNS resource IP translations for client {Client}, resource {Resource}, name {Name}: {Error}")]
    private static partial void LogRefreshFailed(ILogger logger, ClientId client, ResourceId resource, string name, DnsNatError error);
}
