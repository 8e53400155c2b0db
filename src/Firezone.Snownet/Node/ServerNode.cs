using Firezone.Snownet.Ice;
using Microsoft.Extensions.Logging;

namespace Firezone.Snownet;

/// <summary>
/// The Firezone gateway's node: ICE controlled, it answers offers (<see cref="AcceptConnection"/>, the deprecated flow)
/// or takes portal-supplied credentials (<see cref="Node.UpsertConnection"/>).
/// </summary>
public sealed partial class ServerNode : Node
{
    /// <summary>Creates a gateway node; see <see cref="ClientNode(ReadOnlySpan{byte}, TimeSpan, DateTimeOffset, ILoggerFactory?)"/>.</summary>
    public ServerNode(ReadOnlySpan<byte> seed, TimeSpan now, DateTimeOffset utcNow, ILoggerFactory? loggerFactory = null)
        : base(IceRole.Controlled, seed, now, utcNow, loggerFactory)
    {
    }

    /// <summary>
    /// Accepts a client's offer: any connection with that id is replaced (without an event), a relay is sampled, and the
    /// answer to send back is returned.
    /// </summary>
    /// <exception cref="NoTurnServersException">No relay.</exception>
    public Answer AcceptConnection(ConnectionId connection, Offer offer, ReadOnlySpan<byte> remotePublicKey, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(offer);
        UpdateLastNow(now);
        RemoveEstablished(connection);
        var relay = SampleRelay();
        var local = RandomCredentials();
        var agent = NewAgent(local);
        agent.SetRemoteCredentials(ToIce(offer.Credentials), now);
        Establish(connection, agent, remotePublicKey, offer.SessionKey.Span, relay, now);
        LogAccepted(Logger, connection, relay);
        return new Answer(FromIce(local));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted connection {Connection} (relay {Relay})")]
    private static partial void LogAccepted(ILogger logger, ConnectionId connection, RelayId relay);
}
