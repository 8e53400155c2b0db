using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>Kind of a candidate learnt from a relay.</summary>
internal enum AllocationCandidateKind
{
    /// <summary>Our public address as the relay saw it (XOR-MAPPED-ADDRESS of a Binding success).</summary>
    ServerReflexive,

    /// <summary>An address the relay allocated for us (XOR-RELAYED-ADDRESS of an Allocate success).</summary>
    Relayed,
}

/// <summary>
/// A local ICE candidate produced by an <see cref="Allocation"/>. For server-reflexive candidates <see cref="Base"/>
/// is the local address the Binding response arrived on; for relayed candidates it equals <see cref="Address"/>.
/// </summary>
internal readonly record struct AllocationCandidate(AllocationCandidateKind Kind, IPEndPoint Address, IPEndPoint Base)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Address} (base {Base})";
}

/// <summary>What happened to a candidate.</summary>
internal enum AllocationEventKind
{
    /// <summary>A new candidate: signal it.</summary>
    New,

    /// <summary>The candidate no longer works: invalidate it.</summary>
    Invalid,
}

/// <summary>An event of an <see cref="Allocation"/>: a candidate appeared or became invalid.</summary>
internal readonly record struct AllocationEvent(AllocationEventKind Kind, AllocationCandidate Candidate);

/// <summary>Why an allocation may be removed (snownet spec §6.10).</summary>
internal enum AllocationFreeReason
{
    /// <summary>The relay rejected our requests with 420 Unknown Attribute.</summary>
    ProtocolFailure,

    /// <summary>The relay never answered a Binding, or it stopped answering refreshes.</summary>
    NoResponseReceived,

    /// <summary>The relay rejected our credentials.</summary>
    AuthenticationError,
}
