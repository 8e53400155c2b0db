namespace Firezone.Snownet.Ice;

/// <summary>The type of an ICE candidate (RFC 8445 §5.1.1).</summary>
internal enum CandidateKind
{
    /// <summary>An address of a local interface (<c>typ host</c>).</summary>
    Host,

    /// <summary>A peer-reflexive address learnt from a connectivity check (<c>typ prflx</c>).</summary>
    PeerReflexive,

    /// <summary>The public mapping of a host address seen by a STUN server (<c>typ srflx</c>).</summary>
    ServerReflexive,

    /// <summary>An address allocated on a TURN relay (<c>typ relay</c>).</summary>
    Relayed,
}
