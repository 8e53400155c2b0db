using System.Net;
using Firezone.Snownet.Ice;
using Firezone.Snownet.WireGuard;

namespace Firezone.Snownet;

/// <summary>State of an established connection (snownet spec §4.3).</summary>
internal enum ConnectionState
{
    /// <summary>ICE is running, nothing nominated; WireGuard output is buffered.</summary>
    Connecting,

    /// <summary>A path is nominated and application traffic flows.</summary>
    Connected,

    /// <summary>Nominated, but no application traffic for 10 s: slow consent checks, 30 s WireGuard ticks.</summary>
    Idle,

    /// <summary>Unrecoverable; removed at the next <see cref="Node.HandleTimeout"/> with <see cref="ConnectionFailed"/>.</summary>
    Failed,
}

/// <summary>An established connection: ICE agent, WireGuard tunnel and the state machine around them.</summary>
internal sealed class Connection : IDisposable
{
    public Connection(ConnectionId id, IceAgent agent, Tunnel tunnel, byte[] remotePublicKey, RelayId relay, TimeSpan now)
    {
        Id = id;
        Agent = agent;
        Tunnel = tunnel;
        RemotePublicKey = remotePublicKey;
        Relay = relay;
        SignallingCompletedAt = now;
        NextWireGuardTick = now; // the first tick is right at creation
    }

    public ConnectionId Id { get; }

    public IceAgent Agent { get; }

    public Tunnel Tunnel { get; }

    public byte[] RemotePublicKey { get; }

    /// <summary>The relay sampled for this connection (its relay candidates and channels live there).</summary>
    public RelayId Relay { get; set; }

    public ConnectionState State { get; set; } = ConnectionState.Connecting;

    /// <summary>The nominated path (Connected and Idle).</summary>
    public PeerSocket? Peer { get; set; }

    /// <summary>Remote addresses the agent accepted valid STUN from: WireGuard from them is accepted before nomination.</summary>
    public HashSet<IPEndPoint> PossibleSockets { get; } = new();

    public ConnectingBuffer Buffered { get; } = new();

    public TimeSpan LastIncoming { get; set; }

    public TimeSpan LastOutgoing { get; set; }

    public TimeSpan SignallingCompletedAt { get; }

    /// <summary>True while the agent knows any remote candidate (signalled, also before the answer, or peer-reflexive).</summary>
    public bool HasRemoteCandidate => Agent.RemoteCandidates.Count > 0;

    public TimeSpan WireGuardInterval { get; set; } = Node.WireGuardTick;

    public TimeSpan NextWireGuardTick { get; set; }

    public string? FailureReason { get; set; }

    public long StunBytesDirect { get; set; }

    public long StunBytesRelayed { get; set; }

    public bool IsIdle => State == ConnectionState.Idle;

    /// <summary>True when WireGuard datagrams from <paramref name="from"/> belong to this connection (spec §5.1 step 4).</summary>
    public bool Accepts(IPEndPoint from) =>
        (Peer is { } peer && State is ConnectionState.Connected or ConnectionState.Idle && peer.Destination.Equals(from))
        || PossibleSockets.Contains(from);

    public void Fail(string reason)
    {
        if (State != ConnectionState.Failed)
        {
            State = ConnectionState.Failed;
            FailureReason = reason;
        }
    }

    public void Dispose() => Tunnel.Dispose();
}

/// <summary>
/// A client connection between <see cref="ClientNode.NewConnection"/> and <see cref="ClientNode.AcceptAnswer"/>
/// (deprecated offer/answer flow): the agent has no remote credentials yet, so it sends nothing and queues checks.
/// </summary>
internal sealed class InitialConnection
{
    public InitialConnection(IceAgent agent, byte[] sessionKey, RelayId relay, TimeSpan createdAt, TimeSpan intentSentAt)
    {
        Agent = agent;
        SessionKey = sessionKey;
        Relay = relay;
        CreatedAt = createdAt;
        IntentSentAt = intentSentAt;
    }

    public IceAgent Agent { get; }

    public byte[] SessionKey { get; }

    public RelayId Relay { get; set; }

    public TimeSpan CreatedAt { get; }

    public TimeSpan IntentSentAt { get; }

    public bool Failed { get; set; }
}
