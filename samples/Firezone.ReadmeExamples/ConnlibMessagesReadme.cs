using Firezone.Connlib.Messages;
using Firezone.PhoenixChannel;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;
using Channel = Firezone.PhoenixChannel.PhoenixChannel;

namespace ReadmeExamples;

/// <summary>The portal-messages block of src/Firezone.Connlib/README.md (a fragment: the variables it uses are parameters).</summary>
public static class ConnlibMessagesReadme
{
    public static void ClientEventExample(ChannelEvent channelEvent, Channel channel, Credentials iceCredentials, ILogger logger)
    {
        #region readme: src/Firezone.Connlib/README.md
        switch (channelEvent)
        {
            case ChannelEvent.InboundMessage push:
                var decoded = PortalMessages.DecodeClientPush(push.Event, push.Payload);
                switch (decoded.Message)
                {
                    case ClientInit init:
                        IReadOnlyList<TurnRelay> relays = TurnRelays.FromPortal(init.Relays, logger);
                        break;
                    case ResourceDeleted deleted:
                        logger.LogInformation("Resource {Id} removed", deleted.Id);
                        break;
                    case null:
                        logger.LogWarning("Dropping a portal message: {Error}", decoded.Error);
                        break;
                }

                break;
            case ChannelEvent.SuccessResponse reply when PortalMessages.DecodeClientReply(reply.Response).Message is ConnectionDetails details:
                var request = new RequestConnection(details.GatewayId, details.ResourceId, Key.Random(), iceCredentials, Domain: null);
                channel.Send(request.Event, request.ToPayload());
                break;
        }
        #endregion
    }
}
