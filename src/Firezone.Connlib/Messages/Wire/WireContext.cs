using System.Text.Json;
using System.Text.Json.Serialization;

namespace Firezone.Connlib.Messages.Wire;

/// <summary>
/// The source-generated (reflection-free) serializer for every wire shape: snake_case names, nulls written (absent
/// optionals go out as <c>null</c>, as upstream's serde does), unknown keys ignored, nullable annotations and
/// <c>required</c> members enforced on reading, numbers only as JSON numbers, a known key given twice rejected (serde's
/// "duplicate field").
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(InterfaceWire))]
[JsonSerializable(typeof(TurnRelayWire))]
[JsonSerializable(typeof(StunRelayWire))]
[JsonSerializable(typeof(RelaysPresenceWire))]
[JsonSerializable(typeof(IceCredentialsWire))]
[JsonSerializable(typeof(ResolveRequestWire))]
[JsonSerializable(typeof(TagWire))]
[JsonSerializable(typeof(GatewayResponseWire))]
[JsonSerializable(typeof(ClientDnsResourceWire))]
[JsonSerializable(typeof(ClientInternetResourceWire))]
[JsonSerializable(typeof(ClientInitWire))]
[JsonSerializable(typeof(ConfigChangedWire))]
[JsonSerializable(typeof(GatewayCandidatesWire))]
[JsonSerializable(typeof(ConnectionDetailsWire))]
[JsonSerializable(typeof(ConnectWire))]
[JsonSerializable(typeof(PrepareConnectionWire))]
[JsonSerializable(typeof(RequestConnectionWire))]
[JsonSerializable(typeof(ReuseConnectionWire))]
[JsonSerializable(typeof(BroadcastToGatewaysWire))]
[JsonSerializable(typeof(GatewayDnsResourceWire))]
[JsonSerializable(typeof(GatewayInternetResourceWire))]
[JsonSerializable(typeof(PortFilterWire))]
[JsonSerializable(typeof(IcmpFilterWire))]
[JsonSerializable(typeof(GatewayInitWire))]
[JsonSerializable(typeof(AuthorizeFlowWire))]
[JsonSerializable(typeof(GatewayRequestConnectionWire))]
[JsonSerializable(typeof(AllowAccessWire))]
[JsonSerializable(typeof(RejectAccessWire))]
[JsonSerializable(typeof(ClientCandidatesWire))]
[JsonSerializable(typeof(FlowAuthorizedWire))]
[JsonSerializable(typeof(ConnectionReadyWire))]
[JsonSerializable(typeof(BroadcastToClientsWire))]
[JsonSerializable(typeof(RelayJoinWire))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class WireContext : JsonSerializerContext
{
}
