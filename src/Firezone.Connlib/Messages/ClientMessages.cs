using System.Net;
using System.Text.Json;
using Firezone.Connlib.Messages.Wire;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Messages;

// Topic "client" (phoenix-and-portal spec §7): what the portal pushes, what it replies, what a client sends.

/// <summary>
/// <c>init</c> (portal → client): the interface, the full resource set (resources of unknown types are left out, as
/// upstream ignores them) and the relays. <c>resources</c> and <c>relays</c> default to empty.
/// </summary>
/// <param name="Interface">The tunnel interface.</param>
/// <param name="Resources">Every resource the client may use.</param>
/// <param name="Relays">Relays to add or refresh.</param>
public sealed record ClientInit(InterfaceConfig Interface, IReadOnlyList<ClientResource> Resources, IReadOnlyList<RelayEntry> Relays) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "init";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ClientInitWire
        {
            Interface = WireConvert.Interface(Interface),
            Resources = [.. Resources.Select(ClientResourceCodec.Encode)],
            Relays = WireConvert.Relays(Relays),
        },
        WireContext.Default.ClientInitWire);

    internal static ClientInit Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.ClientInitWire, "$");
        return new ClientInit(
            WireConvert.Interface(w.Interface, "$.interface"),
            ClientResourceCodec.DecodeList(w.Resources, "$.resources"),
            WireConvert.Relays(w.Relays, "$.relays"));
    }
}

/// <summary><c>config_changed</c> (portal → client): new interface addresses or upstream DNS servers.</summary>
/// <param name="Interface">The tunnel interface.</param>
public sealed record ConfigChanged(InterfaceConfig Interface) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "config_changed";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ConfigChangedWire { Interface = WireConvert.Interface(Interface) }, WireContext.Default.ConfigChangedWire);

    internal static ConfigChanged Decode(JsonElement payload) =>
        new(WireConvert.Interface(WireConvert.Read(payload, WireContext.Default.ConfigChangedWire, "$").Interface, "$.interface"));
}

/// <summary><c>resource_created_or_updated</c> (portal → client): add or update one resource.</summary>
/// <param name="Resource">The resource.</param>
public sealed record ResourceCreatedOrUpdated(ClientResource Resource) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "resource_created_or_updated";

    internal override JsonElement Encode() => ClientResourceCodec.Encode(Resource);
}

/// <summary>
/// <c>resource_created_or_updated</c> with a resource <c>type</c> this version does not know: accepted (not an error,
/// for forward compatibility) and to be ignored, as upstream does.
/// </summary>
/// <param name="Type">The unknown type.</param>
public sealed record UnknownResourceIgnored(string Type) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "resource_created_or_updated";

    internal override JsonElement Encode() => WireConvert.ToElement(new TagWire { Type = Type }, WireContext.Default.TagWire);
}

/// <summary><c>resource_deleted</c> (portal → client): the payload is the bare id string.</summary>
/// <param name="Id">The removed resource.</param>
public sealed record ResourceDeleted(ResourceId Id) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "resource_deleted";

    internal override JsonElement Encode() => WireConvert.ToElement(WireConvert.Id(Id.Value), WireContext.Default.String);

    internal static ResourceDeleted Decode(JsonElement payload) => payload.ValueKind == JsonValueKind.String
        ? new ResourceDeleted(WireConvert.ResourceId(payload.GetString()!, "$"))
        : throw new WireFormatException($"$: expected a string id, found {payload.ValueKind}");
}

/// <summary>
/// <c>ice_candidates</c> / <c>invalidate_ice_candidates</c> (portal → client): remote candidates of a gateway to add
/// (or, when <paramref name="Invalidated"/>, to remove).
/// </summary>
/// <param name="GatewayId">The gateway.</param>
/// <param name="Candidates">SDP <c>candidate:</c> strings.</param>
/// <param name="Invalidated">True for <c>invalidate_ice_candidates</c>.</param>
public sealed record IceCandidatesFromGateway(GatewayId GatewayId, IReadOnlyList<string> Candidates, bool Invalidated = false) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => Invalidated ? "invalidate_ice_candidates" : "ice_candidates";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new GatewayCandidatesWire { GatewayId = WireConvert.Id(GatewayId.Value), Candidates = [.. Candidates] },
        WireContext.Default.GatewayCandidatesWire);

    internal static IceCandidatesFromGateway Decode(JsonElement payload, bool invalidated)
    {
        var w = WireConvert.Read(payload, WireContext.Default.GatewayCandidatesWire, "$");
        return new(WireConvert.GatewayId(w.GatewayId, "$.gateway_id"), WireConvert.Strings(w.Candidates, "$.candidates"), invalidated);
    }
}

/// <summary>Reply to <see cref="PrepareConnection"/>: which gateway (of which site) serves the resource.</summary>
/// <param name="ResourceId">The resource.</param>
/// <param name="GatewayId">The chosen gateway.</param>
/// <param name="GatewayRemoteIp">The gateway's public IP (unused by upstream).</param>
/// <param name="SiteId">The gateway's site (<c>gateway_group_id</c> on the wire).</param>
public sealed record ConnectionDetails(ResourceId ResourceId, GatewayId GatewayId, IPAddress GatewayRemoteIp, SiteId SiteId) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "phx_reply";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ConnectionDetailsWire
        {
            ResourceId = WireConvert.Id(ResourceId.Value),
            GatewayId = WireConvert.Id(GatewayId.Value),
            GatewayRemoteIp = WireConvert.Text(GatewayRemoteIp),
            GatewayGroupId = WireConvert.Id(SiteId.Value),
        },
        WireContext.Default.ConnectionDetailsWire);

    internal static ConnectionDetails Decode(JsonElement response)
    {
        var w = WireConvert.Read(response, WireContext.Default.ConnectionDetailsWire, "$");
        return new(
            WireConvert.ResourceId(w.ResourceId, "$.resource_id"),
            WireConvert.GatewayId(w.GatewayId, "$.gateway_id"),
            WireConvert.Ip(w.GatewayRemoteIp, "$.gateway_remote_ip"),
            WireConvert.SiteId(w.GatewayGroupId, "$.gateway_group_id"));
    }
}

/// <summary>Reply to <see cref="RequestConnection"/> / <see cref="ReuseConnection"/>: the gateway's answer and key.</summary>
/// <param name="ResourceId">The resource.</param>
/// <param name="GatewayPublicKey">The gateway's WireGuard public key.</param>
/// <param name="GatewayPayload">The gateway's answer (<see cref="ResourceAccepted"/> is ignored by upstream).</param>
/// <param name="PersistentKeepalive">WireGuard persistent keepalive in seconds (the portal sends 25).</param>
public sealed record Connect(ResourceId ResourceId, Key GatewayPublicKey, GatewayResponse GatewayPayload, ulong PersistentKeepalive) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "phx_reply";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ConnectWire
        {
            GatewayPayload = WireConvert.GatewayResponse(GatewayPayload),
            ResourceId = WireConvert.Id(ResourceId.Value),
            GatewayPublicKey = GatewayPublicKey.ToString(),
            PersistentKeepalive = PersistentKeepalive,
        },
        WireContext.Default.ConnectWire);

    internal static Connect Decode(JsonElement response)
    {
        var w = WireConvert.Read(response, WireContext.Default.ConnectWire, "$");
        return new(
            WireConvert.ResourceId(w.ResourceId, "$.resource_id"),
            WireConvert.Key(w.GatewayPublicKey, "$.gateway_public_key"),
            WireConvert.GatewayResponse(w.GatewayPayload, "$.gateway_payload"),
            w.PersistentKeepalive);
    }
}

/// <summary>
/// <c>prepare_connection</c> (client → portal): traffic for a resource without a gateway; which gateways the client is
/// connected to already (sent sorted ascending).
/// </summary>
/// <param name="ResourceId">The resource.</param>
/// <param name="ConnectedGatewayIds">Gateways the client already has connections to.</param>
public sealed record PrepareConnection(ResourceId ResourceId, IReadOnlyList<GatewayId> ConnectedGatewayIds) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "prepare_connection";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new PrepareConnectionWire
        {
            ResourceId = WireConvert.Id(ResourceId.Value),
            ConnectedGatewayIds = [.. ConnectedGatewayIds.Order().Select(g => WireConvert.Id(g.Value))],
        },
        WireContext.Default.PrepareConnectionWire);

    internal static PrepareConnection Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.PrepareConnectionWire, "$");
        return new(WireConvert.ResourceId(w.ResourceId, "$.resource_id"), WireConvert.Each(w.ConnectedGatewayIds, "$.connected_gateway_ids", WireConvert.GatewayId));
    }
}

/// <summary>
/// <c>request_connection</c> (client → portal): open a new connection to a gateway (the offer). <c>client_payload</c>
/// on the wire holds <paramref name="IceParameters"/> and <paramref name="Domain"/>.
/// </summary>
/// <param name="GatewayId">The gateway.</param>
/// <param name="ResourceId">The resource.</param>
/// <param name="ClientPresharedKey">The WireGuard preshared key for the connection (secret; left out of <see cref="ToString"/>).</param>
/// <param name="IceParameters">The client's ICE credentials.</param>
/// <param name="Domain">For a DNS resource, the name and the proxy IPs the client assigned; otherwise null.</param>
public sealed record RequestConnection(GatewayId GatewayId, ResourceId ResourceId, Key ClientPresharedKey, Credentials IceParameters, ResolveRequest? Domain)
    : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "request_connection";

    /// <summary>The request for a Snownet <see cref="Offer"/> (its session key becomes <c>client_preshared_key</c>).</summary>
    /// <exception cref="ArgumentException">The offer's session key is not 32 bytes.</exception>
    public static RequestConnection FromOffer(GatewayId gatewayId, ResourceId resourceId, Offer offer, ResolveRequest? domain)
    {
        ArgumentNullException.ThrowIfNull(offer);
        return new(gatewayId, resourceId, new Key(offer.SessionKey.Span), offer.Credentials, domain);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RequestConnection {{ GatewayId = {GatewayId}, ResourceId = {ResourceId}, Domain = {Domain?.Name} }}";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new RequestConnectionWire
        {
            GatewayId = WireConvert.Id(GatewayId.Value),
            ResourceId = WireConvert.Id(ResourceId.Value),
            ClientPresharedKey = ClientPresharedKey.ToString(),
            ClientPayload = new() { IceParameters = WireConvert.Credentials(IceParameters), Domain = WireConvert.Resolve(Domain) },
        },
        WireContext.Default.RequestConnectionWire);

    internal static RequestConnection Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.RequestConnectionWire, "$");
        return new(
            WireConvert.GatewayId(w.GatewayId, "$.gateway_id"),
            WireConvert.ResourceId(w.ResourceId, "$.resource_id"),
            WireConvert.Key(w.ClientPresharedKey, "$.client_preshared_key"),
            WireConvert.Credentials(w.ClientPayload.IceParameters),
            WireConvert.Resolve(w.ClientPayload.Domain, "$.client_payload.domain"));
    }
}

/// <summary><c>reuse_connection</c> (client → portal): use an existing connection to a gateway for another resource (or name).</summary>
/// <param name="ResourceId">The resource.</param>
/// <param name="GatewayId">The gateway.</param>
/// <param name="Payload">For a DNS resource, the name and proxy IPs; otherwise null.</param>
public sealed record ReuseConnection(ResourceId ResourceId, GatewayId GatewayId, ResolveRequest? Payload) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "reuse_connection";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ReuseConnectionWire { ResourceId = WireConvert.Id(ResourceId.Value), GatewayId = WireConvert.Id(GatewayId.Value), Payload = WireConvert.Resolve(Payload) },
        WireContext.Default.ReuseConnectionWire);

    internal static ReuseConnection Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.ReuseConnectionWire, "$");
        return new(
            WireConvert.ResourceId(w.ResourceId, "$.resource_id"),
            WireConvert.GatewayId(w.GatewayId, "$.gateway_id"),
            WireConvert.Resolve(w.Payload, "$.payload"));
    }
}

/// <summary>
/// <c>broadcast_ice_candidates</c> / <c>broadcast_invalidated_ice_candidates</c> (client → portal): local candidates for
/// the gateways (upstream sends one id); candidates go out sorted and without duplicates.
/// </summary>
/// <param name="GatewayIds">The gateways to tell.</param>
/// <param name="Candidates">SDP <c>candidate:</c> strings.</param>
/// <param name="Invalidated">True for <c>broadcast_invalidated_ice_candidates</c>.</param>
public sealed record IceCandidatesForGateways(IReadOnlyList<GatewayId> GatewayIds, IReadOnlyList<string> Candidates, bool Invalidated = false) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => Invalidated ? "broadcast_invalidated_ice_candidates" : "broadcast_ice_candidates";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new BroadcastToGatewaysWire { GatewayIds = [.. GatewayIds.Select(g => WireConvert.Id(g.Value))], Candidates = WireConvert.SortedUnique(Candidates) },
        WireContext.Default.BroadcastToGatewaysWire);

    internal static IceCandidatesForGateways Decode(JsonElement payload, bool invalidated)
    {
        var w = WireConvert.Read(payload, WireContext.Default.BroadcastToGatewaysWire, "$");
        return new(WireConvert.Each(w.GatewayIds, "$.gateway_ids", WireConvert.GatewayId), WireConvert.Strings(w.Candidates, "$.candidates"), invalidated);
    }
}
