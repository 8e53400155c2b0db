using System.Net;
using System.Text.Json;
using Firezone.Connlib.Messages.Wire;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Messages;

// Topic "gateway" (phoenix-and-portal spec §8): what the portal pushes and what a gateway sends.

/// <summary><c>init</c> (portal → gateway): the interface, the masquerade settings (parsed, unused upstream) and relays.</summary>
/// <param name="Interface">The tunnel interface.</param>
/// <param name="Ipv4MasqueradeEnabled">The portal's IPv4 masquerade setting.</param>
/// <param name="Ipv6MasqueradeEnabled">The portal's IPv6 masquerade setting.</param>
/// <param name="Relays">Relays to add or refresh (default empty).</param>
public sealed record GatewayInit(InterfaceConfig Interface, bool Ipv4MasqueradeEnabled, bool Ipv6MasqueradeEnabled, IReadOnlyList<RelayEntry> Relays)
    : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "init";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new GatewayInitWire
        {
            Interface = WireConvert.Interface(Interface),
            Config = new() { Ipv4MasqueradeEnabled = Ipv4MasqueradeEnabled, Ipv6MasqueradeEnabled = Ipv6MasqueradeEnabled },
            Relays = WireConvert.Relays(Relays),
        },
        WireContext.Default.GatewayInitWire);

    internal static GatewayInit Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.GatewayInitWire, "$");
        return new(
            WireConvert.Interface(w.Interface, "$.interface"),
            w.Config.Ipv4MasqueradeEnabled,
            w.Config.Ipv6MasqueradeEnabled,
            WireConvert.Relays(w.Relays, "$.relays"));
    }
}

/// <summary>The client of an <see cref="AuthorizeFlow"/>: its id, keys and tunnel addresses.</summary>
/// <param name="Id">The client.</param>
/// <param name="PublicKey">Its WireGuard public key.</param>
/// <param name="PresharedKey">The connection's preshared key (secret; left out of <see cref="ToString"/>).</param>
/// <param name="IPv4">Its IPv4 tunnel address.</param>
/// <param name="IPv6">Its IPv6 tunnel address.</param>
public sealed record FlowClient(ClientId Id, Key PublicKey, Key PresharedKey, IPAddress IPv4, IPAddress IPv6)
{
    /// <inheritdoc/>
    public override string ToString() => $"FlowClient {{ Id = {Id}, PublicKey = {PublicKey}, IPv4 = {IPv4}, IPv6 = {IPv6} }}";
}

/// <summary>
/// <c>authorize_flow</c> (portal → gateway): let a client reach a resource over a connection with portal-made ICE
/// credentials; answer with <see cref="FlowAuthorized"/> carrying <paramref name="Ref"/> verbatim.
/// </summary>
/// <param name="Ref">Opaque signed string to echo.</param>
/// <param name="Resource">The resource.</param>
/// <param name="GatewayIceCredentials">The gateway's (local) ICE credentials.</param>
/// <param name="Client">The client.</param>
/// <param name="ClientIceCredentials">The client's (remote) ICE credentials.</param>
/// <param name="ExpiresAt">When access ends; the key is required, null means never.</param>
public sealed record AuthorizeFlow(
    string Ref,
    GatewayResource Resource,
    Credentials GatewayIceCredentials,
    FlowClient Client,
    Credentials ClientIceCredentials,
    DateTimeOffset? ExpiresAt) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "authorize_flow";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new AuthorizeFlowWire
        {
            Ref = Ref,
            Resource = GatewayResourceCodec.Encode(Resource),
            GatewayIceCredentials = WireConvert.Credentials(GatewayIceCredentials),
            Client = new()
            {
                Id = WireConvert.Id(Client.Id.Value),
                PublicKey = Client.PublicKey.ToString(),
                PresharedKey = Client.PresharedKey.ToString(),
                Ipv4 = WireConvert.Text(Client.IPv4),
                Ipv6 = WireConvert.Text(Client.IPv6),
            },
            ClientIceCredentials = WireConvert.Credentials(ClientIceCredentials),
            ExpiresAt = WireConvert.ToSeconds(ExpiresAt),
        },
        WireContext.Default.AuthorizeFlowWire);

    internal static AuthorizeFlow Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.AuthorizeFlowWire, "$");
        var c = w.Client;
        return new(
            w.Ref,
            GatewayResourceCodec.Decode(w.Resource, "$.resource"),
            WireConvert.Credentials(w.GatewayIceCredentials),
            new FlowClient(
                WireConvert.ClientId(c.Id, "$.client.id"),
                WireConvert.Key(c.PublicKey, "$.client.public_key"),
                WireConvert.Key(c.PresharedKey, "$.client.preshared_key"),
                WireConvert.IPv4(c.Ipv4, "$.client.ipv4"),
                WireConvert.IPv6(c.Ipv6, "$.client.ipv6")),
            WireConvert.Credentials(w.ClientIceCredentials),
            WireConvert.Seconds(w.ExpiresAt, "$.expires_at"));
    }
}

/// <summary>The WireGuard peer of a deprecated <see cref="GatewayRequestConnection"/>.</summary>
/// <param name="PersistentKeepalive">Keepalive in seconds, if any.</param>
/// <param name="PublicKey">The client's WireGuard public key.</param>
/// <param name="PresharedKey">The session's preshared key (secret; left out of <see cref="ToString"/>).</param>
/// <param name="IPv4">The client's IPv4 tunnel address.</param>
/// <param name="IPv6">The client's IPv6 tunnel address.</param>
public sealed record ClientPeer(ulong? PersistentKeepalive, Key PublicKey, Key PresharedKey, IPAddress IPv4, IPAddress IPv6)
{
    /// <inheritdoc/>
    public override string ToString() => $"ClientPeer {{ PublicKey = {PublicKey}, IPv4 = {IPv4}, IPv6 = {IPv6}, PersistentKeepalive = {PersistentKeepalive} }}";
}

/// <summary>
/// Deprecated <c>request_connection</c> (portal → gateway): a client's offer; answer with <see cref="ConnectionReady"/>.
/// On the wire <c>client</c> is <c>{"id", "payload": {"ice_parameters", "domain"}, "peer"}</c>.
/// </summary>
/// <param name="Ref">Opaque string to echo.</param>
/// <param name="Resource">The resource.</param>
/// <param name="ClientId">The client.</param>
/// <param name="IceParameters">The client's ICE credentials (the offer).</param>
/// <param name="Domain">For a DNS resource, the name to resolve and the client's proxy IPs.</param>
/// <param name="Peer">The client's WireGuard peer.</param>
/// <param name="ExpiresAt">When access ends; the key is required, null means never.</param>
public sealed record GatewayRequestConnection(
    string Ref,
    GatewayResource Resource,
    ClientId ClientId,
    Credentials IceParameters,
    ResolveRequest? Domain,
    ClientPeer Peer,
    DateTimeOffset? ExpiresAt) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "request_connection";

    /// <summary>The client's offer as Snownet takes it: the peer's preshared key as session key, the client's ICE credentials.</summary>
    public Offer ToOffer() => new(Peer.PresharedKey.ToArray(), IceParameters);

    internal override JsonElement Encode() => WireConvert.ToElement(
        new GatewayRequestConnectionWire
        {
            Ref = Ref,
            Resource = GatewayResourceCodec.Encode(Resource),
            Client = new()
            {
                Id = WireConvert.Id(ClientId.Value),
                Payload = new() { IceParameters = WireConvert.Credentials(IceParameters), Domain = WireConvert.Resolve(Domain) },
                Peer = new()
                {
                    PersistentKeepalive = Peer.PersistentKeepalive,
                    PublicKey = Peer.PublicKey.ToString(),
                    PresharedKey = Peer.PresharedKey.ToString(),
                    Ipv4 = WireConvert.Text(Peer.IPv4),
                    Ipv6 = WireConvert.Text(Peer.IPv6),
                },
            },
            ExpiresAt = WireConvert.ToSeconds(ExpiresAt),
        },
        WireContext.Default.GatewayRequestConnectionWire);

    internal static GatewayRequestConnection Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.GatewayRequestConnectionWire, "$");
        var p = w.Client.Peer;
        return new(
            w.Ref,
            GatewayResourceCodec.Decode(w.Resource, "$.resource"),
            WireConvert.ClientId(w.Client.Id, "$.client.id"),
            WireConvert.Credentials(w.Client.Payload.IceParameters),
            WireConvert.Resolve(w.Client.Payload.Domain, "$.client.payload.domain"),
            new ClientPeer(
                p.PersistentKeepalive,
                WireConvert.Key(p.PublicKey, "$.client.peer.public_key"),
                WireConvert.Key(p.PresharedKey, "$.client.peer.preshared_key"),
                WireConvert.IPv4(p.Ipv4, "$.client.peer.ipv4"),
                WireConvert.IPv6(p.Ipv6, "$.client.peer.ipv6")),
            WireConvert.Seconds(w.ExpiresAt, "$.expires_at"));
    }
}

/// <summary>Deprecated <c>allow_access</c> (portal → gateway): grant access over an existing connection; no reply is sent.</summary>
/// <param name="ClientId">The client.</param>
/// <param name="Resource">The resource.</param>
/// <param name="ExpiresAt">When access ends; the key is required, null means never.</param>
/// <param name="Payload">For a DNS resource, the name to resolve and the client's proxy IPs.</param>
/// <param name="Ref">Opaque string.</param>
/// <param name="ClientIPv4">The client's IPv4 tunnel address.</param>
/// <param name="ClientIPv6">The client's IPv6 tunnel address.</param>
public sealed record AllowAccess(
    ClientId ClientId,
    GatewayResource Resource,
    DateTimeOffset? ExpiresAt,
    ResolveRequest? Payload,
    string Ref,
    IPAddress ClientIPv4,
    IPAddress ClientIPv6) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "allow_access";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new AllowAccessWire
        {
            ClientId = WireConvert.Id(ClientId.Value),
            Resource = GatewayResourceCodec.Encode(Resource),
            ExpiresAt = WireConvert.ToSeconds(ExpiresAt),
            Payload = WireConvert.Resolve(Payload),
            Ref = Ref,
            ClientIpv4 = WireConvert.Text(ClientIPv4),
            ClientIpv6 = WireConvert.Text(ClientIPv6),
        },
        WireContext.Default.AllowAccessWire);

    internal static AllowAccess Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.AllowAccessWire, "$");
        return new(
            WireConvert.ClientId(w.ClientId, "$.client_id"),
            GatewayResourceCodec.Decode(w.Resource, "$.resource"),
            WireConvert.Seconds(w.ExpiresAt, "$.expires_at"),
            WireConvert.Resolve(w.Payload, "$.payload"),
            w.Ref,
            WireConvert.IPv4(w.ClientIpv4, "$.client_ipv4"),
            WireConvert.IPv6(w.ClientIpv6, "$.client_ipv6"));
    }
}

/// <summary><c>reject_access</c> (portal → gateway): revoke a client's access to a resource.</summary>
/// <param name="ClientId">The client.</param>
/// <param name="ResourceId">The resource.</param>
public sealed record RejectAccess(ClientId ClientId, ResourceId ResourceId) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "reject_access";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new RejectAccessWire { ClientId = WireConvert.Id(ClientId.Value), ResourceId = WireConvert.Id(ResourceId.Value) },
        WireContext.Default.RejectAccessWire);

    internal static RejectAccess Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.RejectAccessWire, "$");
        return new(WireConvert.ClientId(w.ClientId, "$.client_id"), WireConvert.ResourceId(w.ResourceId, "$.resource_id"));
    }
}

/// <summary><c>resource_updated</c> (portal → gateway): new filters (etc.) for a resource; the payload is the resource.</summary>
/// <param name="Resource">The resource.</param>
public sealed record ResourceUpdated(GatewayResource Resource) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "resource_updated";

    internal override JsonElement Encode() => GatewayResourceCodec.Encode(Resource);
}

/// <summary><c>ice_candidates</c> / <c>invalidate_ice_candidates</c> (portal → gateway): a client's candidates to add or remove.</summary>
/// <param name="ClientId">The client.</param>
/// <param name="Candidates">SDP <c>candidate:</c> strings.</param>
/// <param name="Invalidated">True for <c>invalidate_ice_candidates</c>.</param>
public sealed record IceCandidatesFromClient(ClientId ClientId, IReadOnlyList<string> Candidates, bool Invalidated = false) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => Invalidated ? "invalidate_ice_candidates" : "ice_candidates";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ClientCandidatesWire { ClientId = WireConvert.Id(ClientId.Value), Candidates = [.. Candidates] },
        WireContext.Default.ClientCandidatesWire);

    internal static IceCandidatesFromClient Decode(JsonElement payload, bool invalidated)
    {
        var w = WireConvert.Read(payload, WireContext.Default.ClientCandidatesWire, "$");
        return new(WireConvert.ClientId(w.ClientId, "$.client_id"), WireConvert.Strings(w.Candidates, "$.candidates"), invalidated);
    }
}

/// <summary><c>flow_authorized</c> (gateway → portal): the answer to <see cref="AuthorizeFlow"/>.</summary>
/// <param name="Ref">The flow's <c>ref</c>, verbatim.</param>
public sealed record FlowAuthorized(string Ref) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "flow_authorized";

    internal override JsonElement Encode() => WireConvert.ToElement(new FlowAuthorizedWire { Ref = Ref }, WireContext.Default.FlowAuthorizedWire);

    internal static FlowAuthorized Decode(JsonElement payload) => new(WireConvert.Read(payload, WireContext.Default.FlowAuthorizedWire, "$").Ref);
}

/// <summary>Deprecated <c>connection_ready</c> (gateway → portal): the answer to <see cref="GatewayRequestConnection"/>.</summary>
/// <param name="Ref">The request's <c>ref</c>, verbatim.</param>
/// <param name="GatewayPayload">The answer (<see cref="ConnectionAccepted"/> with the gateway's ICE credentials).</param>
public sealed record ConnectionReady(string Ref, GatewayResponse GatewayPayload) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "connection_ready";

    /// <summary>The reply carrying a Snownet <see cref="Answer"/> (<c>{"ConnectionAccepted": {"ice_parameters": …}}</c>).</summary>
    public static ConnectionReady FromAnswer(string @ref, Answer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        return new(@ref, new ConnectionAccepted(answer.Credentials));
    }

    internal override JsonElement Encode() => WireConvert.ToElement(
        new ConnectionReadyWire { Ref = Ref, GatewayPayload = WireConvert.GatewayResponse(GatewayPayload) }, WireContext.Default.ConnectionReadyWire);

    internal static ConnectionReady Decode(JsonElement payload)
    {
        var w = WireConvert.Read(payload, WireContext.Default.ConnectionReadyWire, "$");
        return new(w.Ref, WireConvert.GatewayResponse(w.GatewayPayload, "$.gateway_payload"));
    }
}

/// <summary>
/// <c>broadcast_ice_candidates</c> / <c>broadcast_invalidated_ice_candidates</c> (gateway → portal): local candidates for
/// the clients (upstream sends one id); candidates go out sorted and without duplicates.
/// </summary>
/// <param name="ClientIds">The clients to tell.</param>
/// <param name="Candidates">SDP <c>candidate:</c> strings.</param>
/// <param name="Invalidated">True for <c>broadcast_invalidated_ice_candidates</c>.</param>
public sealed record IceCandidatesForClients(IReadOnlyList<ClientId> ClientIds, IReadOnlyList<string> Candidates, bool Invalidated = false) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => Invalidated ? "broadcast_invalidated_ice_candidates" : "broadcast_ice_candidates";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new BroadcastToClientsWire { ClientIds = [.. ClientIds.Select(c => WireConvert.Id(c.Value))], Candidates = WireConvert.SortedUnique(Candidates) },
        WireContext.Default.BroadcastToClientsWire);

    internal static IceCandidatesForClients Decode(JsonElement payload, bool invalidated)
    {
        var w = WireConvert.Read(payload, WireContext.Default.BroadcastToClientsWire, "$");
        return new(WireConvert.Each(w.ClientIds, "$.client_ids", WireConvert.ClientId), WireConvert.Strings(w.Candidates, "$.candidates"), invalidated);
    }
}
