using Firezone.Snownet.Ice;
using Microsoft.Extensions.Logging;

namespace Firezone.Snownet;

/// <summary>
/// The Firezone client's node: ICE controlling, it creates offers (<see cref="NewConnection"/> →
/// <see cref="AcceptAnswer"/>, the deprecated flow) or takes portal-supplied credentials
/// (<see cref="Node.UpsertConnection"/>), and starts the WireGuard handshake once a path is nominated.
/// </summary>
public sealed partial class ClientNode : Node
{
    /// <summary>
    /// Creates a client node. <paramref name="seed"/>: 32 bytes every random choice derives from (pass 32 bytes from
    /// <see cref="System.Security.Cryptography.RandomNumberGenerator"/> in production; a fixed seed replays a simulation).
    /// <paramref name="now"/> is the monotonic time and <paramref name="utcNow"/> the wall-clock time at this moment.
    /// </summary>
    public ClientNode(ReadOnlySpan<byte> seed, TimeSpan now, DateTimeOffset utcNow, ILoggerFactory? loggerFactory = null)
        : base(IceRole.Controlling, seed, now, utcNow, loggerFactory)
    {
    }

    /// <summary>
    /// Starts a connection to a gateway (deprecated offer/answer flow): any connection with that id is dropped (without an
    /// event), a relay is sampled, and the offer to send to the gateway is returned. <paramref name="intentSentAt"/> is
    /// when the connection intent went to the portal (for the logs). Fails with <see cref="ConnectionFailed"/> when no
    /// answer arrives within <see cref="Node.HandshakeTimeout"/>.
    /// </summary>
    /// <exception cref="NoTurnServersException">No relay (the existing connection is gone already, as upstream).</exception>
    public Offer NewConnection(ConnectionId connection, TimeSpan intentSentAt, TimeSpan now)
    {
        UpdateLastNow(now);
        RemoveInitial(connection);
        RemoveEstablished(connection);
        var relay = SampleRelay();
        var credentials = RandomCredentials();
        var agent = NewAgent(credentials);
        var sessionKey = RandomKey();
        AddInitial(connection, new InitialConnection(agent, sessionKey, relay, now, intentSentAt));
        agent.HandleTimeout(now);
        LogOffer(Logger, connection, relay, now - intentSentAt);
        return new Offer(sessionKey, FromIce(credentials));
    }

    /// <summary>True while <paramref name="connection"/> waits for the gateway's answer.</summary>
    public bool IsExpectingAnswer(ConnectionId connection) => HasInitial(connection);

    /// <summary>
    /// The gateway's answer to <see cref="NewConnection"/>: the connection becomes established and starts ICE. Ignored when
    /// no offer is pending (e.g. it timed out).
    /// </summary>
    public void AcceptAnswer(ConnectionId connection, ReadOnlySpan<byte> remotePublicKey, Answer answer, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(answer);
        UpdateLastNow(now);
        if (!TryTakeInitial(connection, out var initial))
        {
            LogNoOffer(Logger, connection);
            return;
        }

        initial.Agent.SetRemoteCredentials(ToIce(answer.Credentials), now);
        Establish(connection, initial.Agent, remotePublicKey, initial.SessionKey, initial.Relay, now);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Offering connection {Connection} (relay {Relay}, {SinceIntent} since the intent)")]
    private static partial void LogOffer(ILogger logger, ConnectionId connection, RelayId relay, TimeSpan sinceIntent);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Answer for {Connection} ignored: no offer is pending")]
    private static partial void LogNoOffer(ILogger logger, ConnectionId connection);
}
