using Firezone.Testing;
namespace Firezone.Snownet.Tests.Ice.Simulation;

/// <summary>One side of a simulated connection.</summary>
public sealed record PeerSpec(NatType Nat, bool HasRelay);

/// <summary>Two peers, whether they share a LAN, the network's loss and delay, and the signalling delay of trickled candidates.</summary>
public sealed record Topology(PeerSpec A, PeerSpec B, bool SameLan, double Loss, int MinDelayMs, int MaxDelayMs, int Seed, int SignalDelayMs = 0)
{
    /// <summary>
    /// The oracle, derived from the NAT model and not from the agent: is there a working path? Direct when on one
    /// LAN or when hole punching can work (not symmetric against symmetric or port-restricted, nothing blocked);
    /// through a relay when its owner's peer can reach the public internet or has a relay itself.
    /// </summary>
    public bool AnyPathOpen
    {
        get
        {
            bool direct = SameLan || DirectHolePunch(A.Nat, B.Nat);
            bool viaA = A.HasRelay && (B.HasRelay || B.Nat != NatType.Blocked || SameLan);
            bool viaB = B.HasRelay && (A.HasRelay || A.Nat != NatType.Blocked || SameLan);
            return direct || viaA || viaB;
        }
    }

    private static bool DirectHolePunch(NatType a, NatType b)
    {
        if (a == NatType.Blocked || b == NatType.Blocked)
        {
            return false;
        }

        bool Hard(NatType x, NatType y) => x == NatType.Symmetric && (y is NatType.Symmetric or NatType.PortRestricted);
        return !Hard(a, b) && !Hard(b, a);
    }

    public override string ToString()
        => $"A={A.Nat}{(A.HasRelay ? "+relay" : "")} B={B.Nat}{(B.HasRelay ? "+relay" : "")}{(SameLan ? " sameLAN" : "")} loss={Loss:0.00} delay={MinDelayMs}-{MaxDelayMs}ms signalling={SignalDelayMs}ms seed={Seed}";
}
