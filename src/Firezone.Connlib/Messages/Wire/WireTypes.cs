using System.Text.Json;
using System.Text.Json.Serialization;

namespace Firezone.Connlib.Messages.Wire;

// The JSON shapes of the portal protocol (phoenix-and-portal spec §6–§9), one class per object. Property names are
// snake_case (see WireContext); `required` = the key must be present; a non-nullable type = null is rejected; a list
// with an initializer = optional, defaulting to empty (settable, not init: the source generator would otherwise
// overwrite the initializer of a missing member with null). Tagged unions are kept as JsonElement and dispatched on their
// tag by the codecs; scalar text forms (ids, keys, addresses) are strings validated by WireConvert.

internal sealed class InterfaceWire
{
    public required string Ipv4 { get; init; }

    public required string Ipv6 { get; init; }

    public List<DnsServerWire> UpstreamDns { get; set; } = [];
}

internal sealed class DnsServerWire
{
    public required string Protocol { get; init; }

    public required string Address { get; init; }
}

internal sealed class TurnRelayWire
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public required string Addr { get; init; }

    public required string Username { get; init; }

    public required string Password { get; init; }

    public required long ExpiresAt { get; init; }
}

internal sealed class StunRelayWire
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public required string Addr { get; init; }
}

internal sealed class RelaysPresenceWire
{
    public required List<string> DisconnectedIds { get; init; }

    public required List<JsonElement> Connected { get; init; }
}

internal sealed class IceCredentialsWire
{
    public required string Username { get; init; }

    public required string Password { get; init; }
}

internal sealed class ResolveRequestWire
{
    public required string Name { get; init; }

    public required List<string> ProxyIps { get; init; }
}

internal sealed class SiteWire
{
    public required string Id { get; init; }

    public required string Name { get; init; }
}

internal sealed class TagWire
{
    public required string Type { get; init; }
}

internal sealed class ConnectionAcceptedWire
{
    public required IceCredentialsWire IceParameters { get; init; }
}

internal sealed class ResourceAcceptedWire
{
    public required DomainResponseWire DomainResponse { get; init; }
}

internal sealed class DomainResponseWire
{
    public required string Domain { get; init; }

    public required List<string> Address { get; init; }
}

internal sealed class GatewayResponseWire
{
    [JsonPropertyName("ConnectionAccepted")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ConnectionAcceptedWire? ConnectionAccepted { get; set; }

    [JsonPropertyName("ResourceAccepted")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ResourceAcceptedWire? ResourceAccepted { get; set; }
}

// ---- client topic ----

internal sealed class ClientDnsResourceWire
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public required string Address { get; init; }

    public required string Name { get; init; }

    public string? AddressDescription { get; set; }

    public required List<SiteWire> GatewayGroups { get; init; }
}

internal sealed class ClientInternetResourceWire
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public string Name { get; set; } = Model.InternetResource.DefaultName;

    public required List<SiteWire> GatewayGroups { get; init; }
}

internal sealed class ClientInitWire
{
    public required InterfaceWire Interface { get; init; }

    public List<JsonElement> Resources { get; set; } = [];

    public List<JsonElement> Relays { get; set; } = [];
}

internal sealed class ConfigChangedWire
{
    public required InterfaceWire Interface { get; init; }
}

internal sealed class GatewayCandidatesWire
{
    public required string GatewayId { get; init; }

    public required List<string> Candidates { get; init; }
}

internal sealed class ConnectionDetailsWire
{
    public required string ResourceId { get; init; }

    public required string GatewayId { get; init; }

    public required string GatewayRemoteIp { get; init; }

    public required string GatewayGroupId { get; init; }
}

internal sealed class ConnectWire
{
    public required JsonElement GatewayPayload { get; init; }

    public required string ResourceId { get; init; }

    public required string GatewayPublicKey { get; init; }

    public required ulong PersistentKeepalive { get; init; }
}

internal sealed class PrepareConnectionWire
{
    public required string ResourceId { get; init; }

    public required List<string> ConnectedGatewayIds { get; init; }
}

internal sealed class ClientPayloadWire
{
    public required IceCredentialsWire IceParameters { get; init; }

    public ResolveRequestWire? Domain { get; set; }
}

internal sealed class RequestConnectionWire
{
    public required string GatewayId { get; init; }

    public required string ResourceId { get; init; }

    public required string ClientPresharedKey { get; init; }

    public required ClientPayloadWire ClientPayload { get; init; }
}

internal sealed class ReuseConnectionWire
{
    public required string ResourceId { get; init; }

    public required string GatewayId { get; init; }

    public ResolveRequestWire? Payload { get; set; }
}

internal sealed class BroadcastToGatewaysWire
{
    public required List<string> GatewayIds { get; init; }

    public required List<string> Candidates { get; init; }
}

// ---- gateway topic ----

internal sealed class GatewayDnsResourceWire
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public required string Address { get; init; }

    public required string Name { get; init; }

    public required List<JsonElement> Filters { get; init; }
}

internal sealed class GatewayInternetResourceWire
{
    public required string Type { get; init; }

    public required string Id { get; init; }
}

internal sealed class PortFilterWire
{
    public required string Protocol { get; init; }

    public ushort PortRangeStart { get; set; }

    public ushort PortRangeEnd { get; set; } = ushort.MaxValue;
}

internal sealed class IcmpFilterWire
{
    public required string Protocol { get; init; }
}

internal sealed class GatewayConfigWire
{
    public required bool Ipv4MasqueradeEnabled { get; init; }

    public required bool Ipv6MasqueradeEnabled { get; init; }
}

internal sealed class GatewayInitWire
{
    public required InterfaceWire Interface { get; init; }

    public required GatewayConfigWire Config { get; init; }

    public List<JsonElement> Relays { get; set; } = [];
}

internal sealed class FlowClientWire
{
    public required string Id { get; init; }

    public required string PublicKey { get; init; }

    public required string PresharedKey { get; init; }

    public required string Ipv4 { get; init; }

    public required string Ipv6 { get; init; }
}

internal sealed class AuthorizeFlowWire
{
    public required string Ref { get; init; }

    public required JsonElement Resource { get; init; }

    public required IceCredentialsWire GatewayIceCredentials { get; init; }

    public required FlowClientWire Client { get; init; }

    public required IceCredentialsWire ClientIceCredentials { get; init; }

    public required long? ExpiresAt { get; init; }
}

internal sealed class PeerWire
{
    public ulong? PersistentKeepalive { get; set; }

    public required string PublicKey { get; init; }

    public required string PresharedKey { get; init; }

    public required string Ipv4 { get; init; }

    public required string Ipv6 { get; init; }
}

internal sealed class RequestClientWire
{
    public required string Id { get; init; }

    public required ClientPayloadWire Payload { get; init; }

    public required PeerWire Peer { get; init; }
}

internal sealed class GatewayRequestConnectionWire
{
    public required string Ref { get; init; }

    public required JsonElement Resource { get; init; }

    public required RequestClientWire Client { get; init; }

    public required long? ExpiresAt { get; init; }
}

internal sealed class AllowAccessWire
{
    public required string ClientId { get; init; }

    public required JsonElement Resource { get; init; }

    public required long? ExpiresAt { get; init; }

    public ResolveRequestWire? Payload { get; set; }

    public required string Ref { get; init; }

    public required string ClientIpv4 { get; init; }

    public required string ClientIpv6 { get; init; }
}

internal sealed class RejectAccessWire
{
    public required string ClientId { get; init; }

    public required string ResourceId { get; init; }
}

internal sealed class ClientCandidatesWire
{
    public required string ClientId { get; init; }

    public required List<string> Candidates { get; init; }
}

internal sealed class FlowAuthorizedWire
{
    public required string Ref { get; init; }
}

internal sealed class ConnectionReadyWire
{
    public required string Ref { get; init; }

    public required JsonElement GatewayPayload { get; init; }
}

internal sealed class BroadcastToClientsWire
{
    public required List<string> ClientIds { get; init; }

    public required List<string> Candidates { get; init; }
}

// ---- relay topic ----

internal sealed class RelayJoinWire
{
    public required string StampSecret { get; init; }
}
