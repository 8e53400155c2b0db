using System.Text.Json;
using Firezone.Connlib.Messages.Wire;

namespace Firezone.Connlib.Messages;

/// <summary>
/// Decoders of the portal protocol (phoenix-and-portal spec §6–§9) for each topic and direction. Each returns a
/// <see cref="Decoded"/> value: the typed message, or a <see cref="MessageError"/> for an unknown event or a payload
/// without the message's shape. None throws on any input; the caller logs the error and drops the message.
/// </summary>
/// <remarks>
/// Tolerances are upstream's: unknown keys are ignored; client resources of unknown <c>type</c> are accepted and
/// ignored; gateway resources, relays, filters and DNS-server protocols of unknown kinds fail the whole message;
/// <c>expires_at</c> of the three gateway flow messages must be present (it may be null); optional lists default to
/// empty; keys are the padded base64 of exactly 32 bytes; CIDRs with host bits set are rejected.
/// </remarks>
public static class PortalMessages
{
    /// <summary>The topic names.</summary>
    public const string ClientTopic = "client", GatewayTopic = "gateway", RelayTopic = "relay";

    /// <summary>What a client receives on topic <c>client</c>: init, config_changed, resource_created_or_updated, resource_deleted, ice_candidates, invalidate_ice_candidates, relays_presence.</summary>
    public static Decoded DecodeClientPush(string @event, JsonElement payload) => Run(@event, payload, static (e, p) => e switch
    {
        "init" => ClientInit.Decode(p),
        "config_changed" => ConfigChanged.Decode(p),
        "resource_created_or_updated" => ClientResourceCodec.Decode(p, "$", out string type) is { } resource
            ? new ResourceCreatedOrUpdated(resource)
            : new UnknownResourceIgnored(type),
        "resource_deleted" => ResourceDeleted.Decode(p),
        "ice_candidates" => IceCandidatesFromGateway.Decode(p, invalidated: false),
        "invalidate_ice_candidates" => IceCandidatesFromGateway.Decode(p, invalidated: true),
        "relays_presence" => RelaysPresence.Decode(p),
        _ => null,
    });

    /// <summary>
    /// An OK reply a client receives (the <c>response</c> member): <see cref="ConnectionDetails"/>, else
    /// <see cref="Connect"/> (tried in that order; the first that decodes wins).
    /// </summary>
    public static Decoded DecodeClientReply(JsonElement response)
    {
        var details = Run("phx_reply", response, static (_, p) => ConnectionDetails.Decode(p));
        if (details.IsSuccess)
        {
            return details;
        }

        var connect = Run("phx_reply", response, static (_, p) => Connect.Decode(p));
        return connect.IsSuccess
            ? connect
            : Decoded.Failure(new MessageError(
                MessageErrorKind.InvalidPayload,
                "phx_reply",
                $"neither connection details ({details.Error!.Detail}) nor connect ({connect.Error!.Detail})"));
    }

    /// <summary>What the portal receives from a client: prepare_connection, request_connection, reuse_connection, broadcast_ice_candidates, broadcast_invalidated_ice_candidates.</summary>
    public static Decoded DecodeFromClient(string @event, JsonElement payload) => Run(@event, payload, static (e, p) => e switch
    {
        "prepare_connection" => PrepareConnection.Decode(p),
        "request_connection" => RequestConnection.Decode(p),
        "reuse_connection" => ReuseConnection.Decode(p),
        "broadcast_ice_candidates" => IceCandidatesForGateways.Decode(p, invalidated: false),
        "broadcast_invalidated_ice_candidates" => IceCandidatesForGateways.Decode(p, invalidated: true),
        _ => null,
    });

    /// <summary>What a gateway receives on topic <c>gateway</c>: init, authorize_flow, request_connection, allow_access, reject_access, resource_updated, ice_candidates, invalidate_ice_candidates, relays_presence.</summary>
    public static Decoded DecodeGatewayPush(string @event, JsonElement payload) => Run(@event, payload, static (e, p) => e switch
    {
        "init" => GatewayInit.Decode(p),
        "authorize_flow" => AuthorizeFlow.Decode(p),
        "request_connection" => GatewayRequestConnection.Decode(p),
        "allow_access" => AllowAccess.Decode(p),
        "reject_access" => RejectAccess.Decode(p),
        "resource_updated" => new ResourceUpdated(GatewayResourceCodec.Decode(p, "$")),
        "ice_candidates" => IceCandidatesFromClient.Decode(p, invalidated: false),
        "invalidate_ice_candidates" => IceCandidatesFromClient.Decode(p, invalidated: true),
        "relays_presence" => RelaysPresence.Decode(p),
        _ => null,
    });

    /// <summary>What the portal receives from a gateway: flow_authorized, connection_ready, broadcast_ice_candidates, broadcast_invalidated_ice_candidates.</summary>
    public static Decoded DecodeFromGateway(string @event, JsonElement payload) => Run(@event, payload, static (e, p) => e switch
    {
        "flow_authorized" => FlowAuthorized.Decode(p),
        "connection_ready" => ConnectionReady.Decode(p),
        "broadcast_ice_candidates" => IceCandidatesForClients.Decode(p, invalidated: false),
        "broadcast_invalidated_ice_candidates" => IceCandidatesForClients.Decode(p, invalidated: true),
        _ => null,
    });

    /// <summary>What a relay receives on topic <c>relay</c>: init.</summary>
    public static Decoded DecodeRelayPush(string @event, JsonElement payload) => Run(@event, payload, static (e, p) => e switch
    {
        "init" => RelayInit.Decode(p),
        _ => null,
    });

    /// <summary>The relay's join payload as the portal receives it.</summary>
    public static Decoded DecodeRelayJoin(JsonElement payload) => Run("phx_join", payload, static (_, p) => RelayJoin.Decode(p));

    /// <summary>A push on <paramref name="topic"/> as its client, gateway or relay receives it; other topics are unknown events.</summary>
    public static Decoded DecodePush(string topic, string @event, JsonElement payload) => topic switch
    {
        ClientTopic => DecodeClientPush(@event, payload),
        GatewayTopic => DecodeGatewayPush(@event, payload),
        RelayTopic => DecodeRelayPush(@event, payload),
        _ => Decoded.Failure(new MessageError(MessageErrorKind.UnknownEvent, @event ?? string.Empty, $"unknown topic '{topic}'")),
    };

    private static Decoded Run(string @event, JsonElement payload, Func<string, JsonElement, PortalMessage?> decode)
    {
        @event ??= string.Empty;
        try
        {
            return decode(@event, payload) is { } message
                ? Decoded.Success(message)
                : Decoded.Failure(new MessageError(MessageErrorKind.UnknownEvent, @event, "unknown event"));
        }
        catch (WireFormatException e)
        {
            return Decoded.Failure(new MessageError(MessageErrorKind.InvalidPayload, @event, e.Message));
        }
        catch (JsonException e)
        {
            return Decoded.Failure(new MessageError(MessageErrorKind.InvalidPayload, @event, e.Message));
        }
        catch (InvalidOperationException e)
        {
            // A default(JsonElement) payload.
            return Decoded.Failure(new MessageError(MessageErrorKind.InvalidPayload, @event, e.Message));
        }
    }
}
