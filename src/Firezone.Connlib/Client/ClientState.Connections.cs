using System.Net;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>Connection intents and setup (tunnel spec §4.5), node events, relays and reset (§4.8).</summary>
public sealed partial class ClientState
{
    /// <summary>
    /// The portal's connection details for an intent (reply to <c>prepare_connection</c>): route the resource through
    /// <paramref name="gateway"/>. Ignored (<see cref="RoutingResult.Ok"/>) while an offer to that gateway is
    /// outstanding — the intent stays, so simultaneous intents for one gateway collapse into one connection. With a
    /// connection to the gateway it emits <see cref="RequestAccess"/>, otherwise <see cref="RequestConnection"/>.
    /// </summary>
    public RoutingResult OnRoutingDetails(ResourceId resource, GatewayId gateway, SiteId site, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_resources.TryGetValue(resource, out var description))
        {
            return RoutingResult.UnknownResource;
        }

        if (_node.IsExpectingAnswer(Connection(gateway)))
        {
            return RoutingResult.Ok;
        }

        if (!_awaiting.Remove(resource, out var awaiting))
        {
            return RoutingResult.NoPendingIntent;
        }

        List<IPNetwork> networks;
        switch (description)
        {
            case DnsResource:
                if (awaiting.Domain is not { } domain)
                {
                    return RoutingResult.NoProxyIps;
                }

                networks = domain.ProxyIps.Select(HostNetwork).ToList();
                break;
            case CidrResource cidr:
                networks = [cidr.Address];
                break;
            default:
                networks = [new IPNetwork(IPAddress.Any, 0), new IPNetwork(IPAddress.IPv6Any, 0)];
                break;
        }

        if (_resourcesGateways.TryGetValue(resource, out var previous) && previous != gateway && _peers.ContainsKey(previous))
        {
            // Upstream panics: a resource is routed through one gateway at a time. We refuse instead.
            LogRoutedElsewhere(_logger, resource, previous, gateway);
            return RoutingResult.RoutedElsewhere;
        }

        _resourcesGateways[resource] = gateway;
        _gatewaysSite[gateway] = site;
        _recentGateways.Touch(gateway);

        if (_peers.TryGetValue(gateway, out var peer))
        {
            foreach (var network in networks)
            {
                peer.Allow(network, resource);
            }

            Emit(new RequestAccess(resource, gateway, awaiting.Domain));
            return RoutingResult.Ok;
        }

        Offer offer;
        try
        {
            offer = _node.NewConnection(Connection(gateway), awaiting.LastIntentSentAt, now);
        }
        catch (NoTurnServersException)
        {
            return RoutingResult.NoTurnServers;
        }

        peer = new GatewayOnClient(gateway);
        foreach (var network in networks)
        {
            peer.Allow(network, resource);
        }

        _peers[gateway] = peer;
        Emit(new RequestConnection(gateway, offer, resource, awaiting.Domain));
        DrainNodeEvents();
        return RoutingResult.Ok;
    }

    /// <summary>
    /// The gateway's answer to a <see cref="RequestConnection"/> (the portal's <c>Connect</c> reply with
    /// <c>ConnectionAccepted</c>): completes the handshake; ICE runs from here. False when the resource has no gateway or
    /// the key is not a valid X25519 public key (logged).
    /// </summary>
    public bool AcceptAnswer(ResourceId resource, ReadOnlySpan<byte> gatewayPublicKey, Answer answer, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_resourcesGateways.TryGetValue(resource, out var gateway))
        {
            return false;
        }

        try
        {
            _node.AcceptAnswer(Connection(gateway), gatewayPublicKey, answer, now);
        }
        catch (ArgumentException e)
        {
            // A key of the wrong length or a low-order point: refuse, never crash on portal input.
            LogBadGatewayKey(_logger, gateway, e.Message);
            return false;
        }

        _node.HandleTimeout(now);
        DrainNodeEvents();
        return true;
    }

    /// <summary>A remote ICE candidate of a gateway (portal <c>ice_candidates</c>).</summary>
    public void AddIceCandidate(GatewayId gateway, string candidate, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _node.AddRemoteCandidate(Connection(gateway), candidate, now);
        _node.HandleTimeout(now);
        DrainNodeEvents();
    }

    /// <summary>A remote ICE candidate of a gateway that no longer works (portal <c>invalidate_ice_candidates</c>).</summary>
    public void RemoveIceCandidate(GatewayId gateway, string candidate, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _node.RemoveRemoteCandidate(Connection(gateway), candidate, now);
        _node.HandleTimeout(now);
        DrainNodeEvents();
    }

    /// <summary>
    /// Adds a local host candidate by hand (the node also learns one from the local address of every received datagram);
    /// false when the address cannot be a candidate.
    /// </summary>
    public bool AddLocalHostCandidate(IPEndPoint address)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        bool added = _node.AddLocalHostCandidate(address);
        DrainNodeEvents();
        return added;
    }

    /// <summary>Relays from the portal (<c>init</c>, <c>relays_presence</c>), passed to the node.</summary>
    public void UpdateRelays(IEnumerable<RelayId> toRemove, IEnumerable<TurnRelay> toAdd, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _node.UpdateRelays(toRemove, toAdd, now);
        _node.HandleTimeout(now);
        DrainNodeEvents();
    }

    /// <summary>
    /// A network change (roaming): the node drops every allocation and connection and gets a new key; recently used
    /// gateways are forgotten. The host rebinds its UDP sockets and reconnects to the portal with the new public key.
    /// </summary>
    public void Reset(TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _node.Reset(now);
        _recentGateways.Clear();
        DrainNodeEvents();
        ResetTcpDns(now);
        LogReset(_logger);
    }

    /// <summary>
    /// Traffic for a resource without a connected gateway (§4.5): suppressed while an offer to its gateway is
    /// outstanding; otherwise at most one <see cref="ConnectionIntent"/> per resource per <see cref="IntentDebounce"/>.
    /// </summary>
    private void OnNotConnectedResource(ResourceId resource, ReadOnlySpan<byte> destination, TimeSpan now)
    {
        if (_resourcesGateways.TryGetValue(resource, out var gateway) && _node.IsExpectingAnswer(Connection(gateway)))
        {
            return;
        }

        if (_awaiting.TryGetValue(resource, out var awaiting))
        {
            if (now - awaiting.LastIntentSentAt < IntentDebounce)
            {
                return;
            }

            awaiting.LastIntentSentAt = now;
        }
        else
        {
            _awaiting[resource] = new AwaitingDetails(now, _dns.ResolveRequestFor(destination));
        }

        Emit(new ConnectionIntent(resource, _recentGateways.Sorted()));
    }

    /// <summary>Applies the node's events (§4.8): statuses, peers, candidates aggregated per gateway.</summary>
    private void DrainNodeEvents()
    {
        bool connectionEvent = false;
        SortedDictionary<GatewayId, SortedSet<string>>? added = null, removed = null;
        while (_node.PollEvent() is { } e)
        {
            var gateway = Gateway(e.Connection);
            switch (e)
            {
                case ConnectionFailed or ConnectionClosed:
                    connectionEvent = true;
                    RemovePeer(gateway);
                    break;
                case ConnectionEstablished:
                    connectionEvent = true;
                    ConnectionsEstablished++;
                    if (_gatewaysSite.TryGetValue(gateway, out var site))
                    {
                        _sitesStatus[site] = ResourceStatus.Online;
                    }

                    break;
                case NewIceCandidate c:
                    Add(ref added, gateway, c.Candidate);
                    break;
                case InvalidateIceCandidate c:
                    Add(ref removed, gateway, c.Candidate);
                    break;
            }
        }

        if (connectionEvent)
        {
            EmitResourcesChanged();
        }

        foreach (var (gateway, candidates) in added ?? [])
        {
            Emit(new AddedIceCandidates(gateway, candidates.ToList()));
        }

        foreach (var (gateway, candidates) in removed ?? [])
        {
            Emit(new RemovedIceCandidates(gateway, candidates.ToList()));
        }

        static void Add(ref SortedDictionary<GatewayId, SortedSet<string>>? map, GatewayId gateway, string candidate)
        {
            map ??= new SortedDictionary<GatewayId, SortedSet<string>>();
            if (!map.TryGetValue(gateway, out var set))
            {
                map[gateway] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(candidate);
        }
    }

    private void RemovePeer(GatewayId gateway)
    {
        _peers.Remove(gateway);
        if (_gatewaysSite.TryGetValue(gateway, out var site))
        {
            _sitesStatus[site] = ResourceStatus.Unknown;
        }

        foreach (var resource in _resourcesGateways.Where(kv => kv.Value == gateway).Select(kv => kv.Key).ToList())
        {
            _resourcesGateways.Remove(resource);
        }
    }

    private static IPNetwork HostNetwork(IPAddress address) =>
        new(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);

    [LoggerMessage(Level = LogLevel.Error, Message = "Resource {Resource} is routed through gateway {Previous}, which is still connected; refusing {Gateway}")]
    private static partial void LogRoutedElsewhere(ILogger logger, ResourceId resource, GatewayId previous, GatewayId gateway);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gateway {Gateway} sent an unusable public key: {Reason}")]
    private static partial void LogBadGatewayKey(ILogger logger, GatewayId gateway, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client reset: new key, connections and allocations dropped")]
    private static partial void LogReset(ILogger logger);
}
