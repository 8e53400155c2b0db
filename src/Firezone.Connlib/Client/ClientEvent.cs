using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Client;

/// <summary>Something the <see cref="ClientState"/> asks its host to do or to show; drained with <see cref="ClientState.PollEvent"/>.</summary>
public abstract record ClientEvent
{
    private protected ClientEvent()
    {
    }
}

/// <summary>The resource list or a status changed: every resource with its status, in view order (coalesced: only the latest is queued).</summary>
/// <param name="Resources">The views, sorted.</param>
public sealed record ResourcesChanged(IReadOnlyList<ResourceView> Resources) : ClientEvent;

/// <summary>Apply this configuration to the TUN device (coalesced: only the latest is queued).</summary>
/// <param name="Config">Addresses, DNS sentinels and routes.</param>
public sealed record TunInterfaceUpdated(TunConfig Config) : ClientEvent;

/// <summary>
/// Traffic for a resource without a gateway: ask the portal for one (<c>prepare_connection</c>). At most one per
/// resource per 2 s.
/// </summary>
/// <param name="Resource">The resource.</param>
/// <param name="ConnectedGatewayIds">Gateways this client used recently (ascending, as upstream sends a sorted set).</param>
public sealed record ConnectionIntent(ResourceId Resource, IReadOnlyList<GatewayId> ConnectedGatewayIds) : ClientEvent;

/// <summary>
/// Ask the gateway (through the portal, <c>reuse_connection</c>) for access to a resource over the existing
/// connection; for a DNS resource with the name and proxy IPs the client handed out.
/// </summary>
/// <param name="Resource">The resource.</param>
/// <param name="Gateway">The gateway that serves it.</param>
/// <param name="Domain">For DNS resources: the name and its proxy IPs.</param>
public sealed record RequestAccess(ResourceId Resource, GatewayId Gateway, ResolveRequest? Domain) : ClientEvent;

/// <summary>
/// Open a connection to a gateway (through the portal, <c>request_connection</c>): send the offer's ICE credentials
/// and the preshared key; the answer comes back as the reply and goes to <see cref="ClientState.AcceptAnswer"/>.
/// </summary>
/// <param name="Gateway">The gateway.</param>
/// <param name="Offer">ICE credentials and the 32-byte preshared key (<see cref="Offer.SessionKey"/>).</param>
/// <param name="Resource">The resource the connection is for.</param>
/// <param name="Domain">For DNS resources: the name and its proxy IPs.</param>
public sealed record RequestConnection(GatewayId Gateway, Offer Offer, ResourceId Resource, ResolveRequest? Domain) : ClientEvent;

/// <summary>Signal these new local ICE candidates to the gateway (<c>broadcast_ice_candidates</c>).</summary>
/// <param name="Gateway">The gateway.</param>
/// <param name="Candidates">SDP candidate strings, sorted and unique.</param>
public sealed record AddedIceCandidates(GatewayId Gateway, IReadOnlyList<string> Candidates) : ClientEvent;

/// <summary>Signal that these local ICE candidates no longer work (<c>broadcast_invalidated_ice_candidates</c>).</summary>
/// <param name="Gateway">The gateway.</param>
/// <param name="Candidates">SDP candidate strings, sorted and unique.</param>
public sealed record RemovedIceCandidates(GatewayId Gateway, IReadOnlyList<string> Candidates) : ClientEvent;
