using System.Globalization;
using Firezone.Connlib.Messages;
using Firezone.PhoenixChannel;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Sessions;

/// <summary>The portal → tunnel half of the client session (phoenix-and-portal spec §7.1, §7.3, §7.4).</summary>
public sealed partial class ClientSession
{
    /// <summary>The portal's pushes and replies (the channel's own events are <see cref="SessionLifetime.PumpAsync"/>'s).</summary>
    private void OnPortalEvent(ChannelEvent e)
    {
        switch (e)
        {
            case ChannelEvent.InboundMessage message:
                OnPush(message);
                break;
            case ChannelEvent.SuccessResponse reply:
                OnReply(reply);
                break;
            case ChannelEvent.ErrorResponse error:
                OnErrorReply(error);
                break;
        }
    }

    private void OnPush(ChannelEvent.InboundMessage message)
    {
        var decoded = PortalMessages.DecodeClientPush(message.Event, message.Payload);
        var logger = _logger;
        switch (decoded.Message)
        {
            case ClientInit init:
                var relays = TurnRelays.FromPortal(init.Relays, logger);
                Post(() =>
                {
                    var s = _tunnel.State;
                    s.UpdateInterfaceConfig(init.Interface);
                    s.SetResources(init.Resources, _tunnel.Time);
                    s.UpdateRelays([], relays, _tunnel.Time);
                });
                break;
            case ConfigChanged changed:
                Post(() => _tunnel.State.UpdateInterfaceConfig(changed.Interface));
                break;
            case ResourceCreatedOrUpdated upserted:
                Post(() => _tunnel.State.AddResource(upserted.Resource, _tunnel.Time));
                break;
            case ResourceDeleted deleted:
                Post(() => _tunnel.State.RemoveResource(deleted.Id, _tunnel.Time));
                break;
            case IceCandidatesFromGateway candidates:
                Post(() =>
                {
                    foreach (var candidate in candidates.Candidates)
                    {
                        if (candidates.Invalidated)
                        {
                            _tunnel.State.RemoveIceCandidate(candidates.GatewayId, candidate, _tunnel.Time);
                        }
                        else
                        {
                            _tunnel.State.AddIceCandidate(candidates.GatewayId, candidate, _tunnel.Time);
                        }
                    }
                });
                break;
            case RelaysPresence presence:
                var connected = TurnRelays.FromPortal(presence.Connected, logger);
                Post(() => _tunnel.State.UpdateRelays(presence.DisconnectedIds, connected, _tunnel.Time));
                break;
            case UnknownResourceIgnored:
                break;
            case null:
                LogBadMessage(_logger, message.Event, decoded.Error?.ToString() ?? "");
                break;
            default:
                LogBadMessage(_logger, message.Event, "not a client push");
                break;
        }
    }

    private void OnReply(ChannelEvent.SuccessResponse reply)
    {
        string reference = reply.Ref.ToString(CultureInfo.InvariantCulture);
        switch (PortalMessages.DecodeClientReply(reply.Response).Message)
        {
            case ConnectionDetails details:
                Post(() =>
                {
                    if (!_intents.TryAccept(reference, out var resource) || resource != details.ResourceId)
                    {
                        return; // an older intent's reply (a newer one is in flight), or not ours
                    }

                    var result = _tunnel.State.OnRoutingDetails(details.ResourceId, details.GatewayId, details.SiteId, _tunnel.Time);
                    if (result == Client.RoutingResult.NoTurnServers)
                    {
                        LogNoTurnServers(_logger);
                        _channel.Connect([new("public_key", Convert.ToBase64String(_tunnel.State.PublicKey.Span))]);
                    }
                    else if (result != Client.RoutingResult.Ok)
                    {
                        LogRoutingRefused(_logger, details.ResourceId.ToString(), result);
                    }
                });
                break;
            case Connect { GatewayPayload: ConnectionAccepted accepted } connect:
                var key = connect.GatewayPublicKey.ToArray();
                Post(() => _tunnel.State.AcceptAnswer(connect.ResourceId, key, accepted.ToAnswer(), _tunnel.Time));
                break;
            default:
                break; // empty OK replies, ResourceAccepted (deprecated, ignored)
        }
    }

    private void OnErrorReply(ChannelEvent.ErrorResponse error)
    {
        switch (error.Reason)
        {
            case ErrorReason.Offline:
                string reference = error.Ref.ToString(CultureInfo.InvariantCulture);
                Post(() =>
                {
                    if (_intents.TryAccept(reference, out var resource))
                    {
                        _tunnel.State.SetResourceOffline(resource);
                    }
                });
                break;
            case ErrorReason.UnmatchedTopic:
                _channel.Join(Topic);
                break;
            default:
                LogErrorReply(_logger, error.Ref, error.ReasonText);
                break;
        }
    }

    private void Post(Action command)
    {
        if (!_tunnel.Post(command))
        {
            LogCommandDropped(_logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropping a portal message {Event}: {Error}")]
    private static partial void LogBadMessage(ILogger logger, string @event, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Error reply from the portal to ref {Ref}: {Reason}")]
    private static partial void LogErrorReply(ILogger logger, ulong @ref, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No TURN servers: reconnecting to the portal for a fresh init")]
    private static partial void LogNoTurnServers(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection details for {Resource} not used: {Result}")]
    private static partial void LogRoutingRefused(ILogger logger, string resource, Client.RoutingResult result);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The tunnel's command queue is full: a portal message was dropped")]
    private static partial void LogCommandDropped(ILogger logger);
}
