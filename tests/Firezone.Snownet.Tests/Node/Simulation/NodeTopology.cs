using Firezone.Testing;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Node.Simulation;

/// <summary>How one node reaches the internet: a NAT type for its IPv4 socket, and whether it also has a public IPv6 socket.</summary>
public sealed record NodePeerSpec(NatType Nat, bool IPv4 = true, bool IPv6 = false)
{
    public override string ToString() => $"{Nat}{(IPv4 ? "" : " (no IPv4)")}{(IPv6 ? "+v6" : "")}";
}

/// <summary>A client, a gateway, one or two relays, and the network between them.</summary>
/// <param name="Client">The client's side.</param>
/// <param name="Gateway">The gateway's side.</param>
/// <param name="SeparateRelays">Two relays, the client told only of the first and the gateway only of the second.</param>
/// <param name="BlockDirect">Drop all direct traffic between the two peers' public addresses (relayed only).</param>
/// <param name="Loss">Loss probability per datagram.</param>
/// <param name="MinDelayMs">Minimum one-way delay.</param>
/// <param name="MaxDelayMs">Maximum one-way delay.</param>
/// <param name="Seed">Everything random derives from it.</param>
/// <param name="SignalDelayMs">Delay of the portal (candidates, offers, answers).</param>
public sealed record NodeTopology(NodePeerSpec Client, NodePeerSpec Gateway, bool SeparateRelays = false, bool BlockDirect = false,
    double Loss = 0, int MinDelayMs = 10, int MaxDelayMs = 20, int Seed = 1, int SignalDelayMs = 50)
{
    /// <summary>
    /// The oracle from the models, not from the node: a direct path exists when hole punching works between the two NAT
    /// types (or both have IPv6); a relayed path always exists while relays are up (every node reaches its relay).
    /// </summary>
    public bool DirectPossible =>
        !BlockDirect && ((Client.IPv6 && Gateway.IPv6) || (Client.IPv4 && Gateway.IPv4 && HolePunch(Client.Nat, Gateway.Nat)));

    private static bool HolePunch(NatType a, NatType b)
    {
        if (a == NatType.Blocked || b == NatType.Blocked)
        {
            return false;
        }

        static bool Hard(NatType x, NatType y) => x == NatType.Symmetric && (y is NatType.Symmetric or NatType.PortRestricted);
        return !Hard(a, b) && !Hard(b, a);
    }

    public override string ToString() =>
        $"client={Client} gateway={Gateway}{(SeparateRelays ? " separate-relays" : "")}{(BlockDirect ? " relayed-only" : "")} loss={Loss:0.00} delay={MinDelayMs}-{MaxDelayMs}ms signalling={SignalDelayMs}ms seed={Seed}";
}
