using System.Net;

namespace Firezone.Snownet.Ice;

/// <summary>Something the agent reports to its owner; drained with <see cref="IceAgent.PollEvent"/>.</summary>
internal abstract record IceEvent;

/// <summary>A local candidate was accepted by the agent and should be signalled to the peer (never prflx).</summary>
internal sealed record CandidateGathered(Candidate Candidate) : IceEvent;

/// <summary>A remote candidate was learnt from an incoming check (not signalled).</summary>
internal sealed record PeerReflexiveCandidateDiscovered(Candidate Candidate) : IceEvent;

/// <summary>A valid STUN message was accepted from this source for the first time.</summary>
internal sealed record DiscoveredRecv(IPEndPoint Source) : IceEvent;

/// <summary>
/// The nominated pair was selected or changed: send from <paramref name="Source"/> (a local base: host or relayed
/// address) to <paramref name="Destination"/>. Firezone's <c>NominatedSend</c>.
/// </summary>
internal sealed record PairNominated(IPEndPoint Source, IPEndPoint Destination, CandidateKind LocalKind, CandidateKind RemoteKind) : IceEvent;

/// <summary>The agent's connection state changed; <see cref="IceConnectionState.Disconnected"/> means failure.</summary>
internal sealed record ConnectionStateChanged(IceConnectionState State) : IceEvent;

/// <summary>A role conflict (RFC 8445 §7.3.1.1) switched this agent's role.</summary>
internal sealed record RoleChanged(IceRole Role) : IceEvent;
