using Firezone.Testing;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>RFC 8445 §7.3.1.1 role conflicts: the larger tie-breaker ends up controlling, and both agree on a pair.</summary>
public class IceRoleConflictTests
{
    private static readonly Topology Topo = new(new PeerSpec(NatType.PortRestricted, true), new PeerSpec(NatType.FullCone, true), false, 0, 10, 30, 5);

    [Theory]
    [InlineData(true, 5ul, 10ul)]
    [InlineData(true, 10ul, 5ul)]
    [InlineData(false, 5ul, 10ul)]
    [InlineData(false, 10ul, 5ul)]
    public void Both_agents_in_the_same_role_resolve_to_one_controlling_side(bool bothControlling, ulong tbA, ulong tbB)
    {
        IceRole both = bothControlling ? IceRole.Controlling : IceRole.Controlled;
        var sim = new IceSimulation(Topo, both, both, tbA, tbB);
        sim.RunFor(TimeSpan.FromSeconds(10));
        IceRole expectedA = tbA > tbB ? IceRole.Controlling : IceRole.Controlled;
        Assert.Equal(expectedA, sim.A.Role);
        Assert.NotEqual(sim.A.Role, sim.B.Role);
        Assert.Equal(IceConnectionState.Connected, sim.A.State);
        Assert.Equal(IceConnectionState.Connected, sim.B.State);
        Assert.True(sim.SelectedPairsMatch(out string why), why);
        // Exactly one agent switched: with both controlling the smaller tie-breaker yields (becomes controlled);
        // with both controlled the larger one takes over (becomes controlling).
        int smaller = tbA < tbB ? 0 : 1;
        int switched = bothControlling ? smaller : 1 - smaller;
        Assert.Contains(sim.Events(switched), e => e.Event is RoleChanged);
        Assert.DoesNotContain(sim.Events(1 - switched), e => e.Event is RoleChanged);
    }

    [Fact]
    public void Conflict_is_answered_with_487_by_the_side_that_keeps_its_role()
    {
        var sim = new IceSimulation(Topo, IceRole.Controlling, IceRole.Controlling, 10, 5, signalCandidates: false);
        // Only A knows one of B's candidates: A's check reaches B first and B (smaller tie-breaker) switches on
        // receipt without any 487. Then, in a fresh pair of agents, B checks A first instead.
        sim.A.AddRemoteCandidate(Candidate.Relayed(sim.Relayed[1]!));
        sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(IceRole.Controlled, sim.B.Role);

        var sim2 = new IceSimulation(Topo, IceRole.Controlling, IceRole.Controlling, 10, 5, signalCandidates: false);
        Candidate[] gatheredA = sim2.Events(0).Select(e => e.Event).OfType<CandidateGathered>().Select(g => g.Candidate).ToArray();
        foreach (Candidate c in gatheredA)
        {
            sim2.B.AddRemoteCandidate(c);
        }

        sim2.B.HandleTimeout(sim2.Now);
        List<SentDatagram> requests = SentDatagram.Drain(sim2.B);

        // Deliver B's request straight to A on A's relay (always reachable): A must answer 487 and keep its role.
        SentDatagram toRelay = requests.First(t => t.Destination.Equals(sim2.Relayed[0]));
        Assert.True(sim2.A.HandleInput(toRelay.Payload, new System.Net.IPEndPoint(System.Net.IPAddress.Parse("198.18.21.1"), 40000), sim2.Relayed[0]!, sim2.Now));
        SentDatagram answer = SentDatagram.Drain(sim2.A).First();
        Assert.True(Firezone.Snownet.Stun.StunMessage.TryParse(answer.Payload, out Firezone.Snownet.Stun.StunMessage msg));
        Assert.Equal(Firezone.Snownet.Stun.StunClass.ErrorResponse, msg.Class);
        Assert.Equal(487, msg.ErrorCode);
        Assert.Equal(IceRole.Controlling, sim2.A.Role);

        // Feed the 487 to B: B switches to controlled.
        sim2.B.HandleInput(answer.Payload, sim2.Relayed[0]!, toRelay.Source, sim2.Now);
        Assert.Equal(IceRole.Controlled, sim2.B.Role);
    }
}
