using Firezone.Testing;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>Two agents over the simulated network: which pair wins, and how fast.</summary>
public class IceConnectivityTests
{
    private static Topology T(NatType a, bool relayA, NatType b, bool relayB, bool sameLan = false)
        => new(new PeerSpec(a, relayA), new PeerSpec(b, relayB), sameLan, 0, 10, 10, 1);

    private static IceSimulation Connect(Topology t, TimeSpan? duration = null)
    {
        var sim = new IceSimulation(t);
        sim.RunFor(duration ?? TimeSpan.FromSeconds(15));
        return sim;
    }

    private static void AssertSamePath(IceSimulation sim)
    {
        Assert.Equal(IceConnectionState.Connected, sim.A.State);
        Assert.Equal(IceConnectionState.Connected, sim.B.State);
        Assert.True(sim.SelectedPairsMatch(out string why), why);
    }

    [Fact]
    public void Same_lan_nominates_host_to_host()
    {
        var sim = Connect(T(NatType.PortRestricted, true, NatType.PortRestricted, true, sameLan: true));
        AssertSamePath(sim);
        Assert.Equal(CandidateKind.Host, sim.A.SelectedPair!.Local.Kind);
        Assert.Equal(sim.Host[0], sim.A.SelectedPair.Local.Base);
        Assert.Equal(sim.Host[1], sim.A.SelectedPair.Remote.Address);
        Assert.Equal(CandidateKind.Host, sim.A.SelectedPair.Remote.Kind);
    }

    [Fact]
    public void Public_hosts_nominate_host_to_host_even_with_relays()
    {
        var sim = Connect(T(NatType.None, true, NatType.None, true));
        AssertSamePath(sim);
        Assert.Equal(sim.Host[1], sim.A.SelectedPair!.Remote.Address);
        Assert.Equal(sim.Host[0], sim.B.SelectedPair!.Remote.Address);
    }

    [Theory]
    [InlineData(NatType.FullCone, NatType.FullCone)]
    [InlineData(NatType.AddressRestricted, NatType.PortRestricted)]
    [InlineData(NatType.PortRestricted, NatType.PortRestricted)]
    [InlineData(NatType.FullCone, NatType.Symmetric)]
    [InlineData(NatType.AddressRestricted, NatType.Symmetric)]
    [InlineData(NatType.Symmetric, NatType.AddressRestricted)]
    [InlineData(NatType.None, NatType.Symmetric)]
    public void Natted_peers_hole_punch_over_server_reflexive_path_rather_than_relay(NatType a, NatType b)
    {
        var sim = Connect(T(a, true, b, true));
        AssertSamePath(sim);
        // The winning path is direct: neither end sends from or to a relayed address.
        Assert.NotEqual(CandidateKind.Relayed, sim.A.SelectedPair!.Local.Kind);
        Assert.NotEqual(CandidateKind.Relayed, sim.B.SelectedPair!.Local.Kind);
        Assert.NotEqual(sim.Relayed[1], sim.A.SelectedPair.Remote.Address);
        Assert.NotEqual(sim.Relayed[0], sim.B.SelectedPair.Remote.Address);
    }

    [Fact]
    public void Port_restricted_peers_use_each_others_server_reflexive_candidates()
    {
        var sim = Connect(T(NatType.PortRestricted, false, NatType.PortRestricted, false));
        AssertSamePath(sim);
        Assert.Equal(CandidateKind.ServerReflexive, sim.A.SelectedPair!.Remote.Kind);
        Assert.Equal(CandidateKind.ServerReflexive, sim.B.SelectedPair!.Remote.Kind);
    }

    [Fact]
    public void Symmetric_behind_address_restricted_is_reached_through_a_peer_reflexive_candidate()
    {
        var sim = Connect(T(NatType.AddressRestricted, false, NatType.Symmetric, false));
        AssertSamePath(sim);
        Assert.Equal(CandidateKind.PeerReflexive, sim.A.SelectedPair!.Remote.Kind);
        Assert.Contains(sim.Events(0), e => e.Event is PeerReflexiveCandidateDiscovered);
    }

    [Fact]
    public void Symmetric_against_symmetric_goes_through_the_relay()
    {
        var sim = Connect(T(NatType.Symmetric, true, NatType.Symmetric, false));
        AssertSamePath(sim);
        Assert.Equal(CandidateKind.Relayed, sim.A.SelectedPair!.Local.Kind);
        Assert.Equal(sim.Relayed[0], sim.B.SelectedPair!.Remote.Address);
    }

    [Fact]
    public void Blocked_peer_with_a_relay_reaches_a_public_peer_through_it()
    {
        var sim = Connect(T(NatType.None, false, NatType.Blocked, true));
        AssertSamePath(sim);
        Assert.Equal(sim.Relayed[1], sim.B.SelectedPair!.Local.Base);
        Assert.Equal(sim.Host[0], sim.B.SelectedPair.Remote.Address);
    }

    [Fact]
    public void Relay_to_relay_when_both_are_blocked()
    {
        var sim = Connect(T(NatType.Blocked, true, NatType.Blocked, true));
        AssertSamePath(sim);
        Assert.Equal(sim.Relayed[0], sim.A.SelectedPair!.Local.Base);
        Assert.Equal(sim.Relayed[1], sim.A.SelectedPair.Remote.Address);
    }

    [Fact]
    public void Nomination_is_reported_once_per_side_on_a_zero_loss_network_and_quickly()
    {
        var sim = Connect(T(NatType.None, false, NatType.None, false));
        AssertSamePath(sim);
        Assert.Single(sim.Events(0), e => e.Event is PairNominated);
        Assert.Single(sim.Events(1), e => e.Event is PairNominated);
        // One RTT (2 × 10 ms) for the check, one more for USE-CANDIDATE to reach B.
        Assert.True(sim.FirstNomination(0) - IceSimulation.Start <= TimeSpan.FromMilliseconds(25));
        Assert.True(sim.FirstNomination(1) - IceSimulation.Start <= TimeSpan.FromMilliseconds(40));
    }

    [Fact]
    public void Better_pair_succeeding_later_causes_renomination_on_both_sides()
    {
        // A sits behind a port-restricted NAT and first learns only B's relay candidate: only relayed paths work.
        var t = T(NatType.PortRestricted, true, NatType.None, true);
        var sim = new IceSimulation(t, signalCandidates: false);
        Candidate[] gatheredA = sim.Events(0).Select(e => e.Event).OfType<CandidateGathered>().Select(g => g.Candidate).ToArray();
        Candidate[] gatheredB = sim.Events(1).Select(e => e.Event).OfType<CandidateGathered>().Select(g => g.Candidate).ToArray();
        foreach (Candidate c in gatheredA)
        {
            sim.B.AddRemoteCandidate(c);
        }

        sim.A.AddRemoteCandidate(gatheredB.Single(c => c.Kind == CandidateKind.Relayed));
        sim.RunFor(TimeSpan.FromSeconds(2));
        AssertSamePath(sim);
        bool throughRelay = sim.A.SelectedPair!.Local.Kind == CandidateKind.Relayed || sim.A.SelectedPair.Remote.Kind == CandidateKind.Relayed;
        Assert.True(throughRelay, sim.A.SelectedPair.ToString());

        // Now B's host candidate arrives (trickle): the direct path succeeds and both sides switch to it.
        sim.A.AddRemoteCandidate(gatheredB.Single(c => c.Kind == CandidateKind.Host));
        sim.RunFor(TimeSpan.FromSeconds(5));
        AssertSamePath(sim);
        Assert.Equal(sim.Host[1], sim.A.SelectedPair!.Remote.Address);
        Assert.Equal(sim.Host[0], sim.A.SelectedPair.Local.Base);
        Assert.Equal(2, sim.Events(0).Count(e => e.Event is PairNominated));
        Assert.True(sim.Events(1).Count(e => e.Event is PairNominated) >= 2);
    }

    [Fact]
    public void Dual_stack_public_hosts_prefer_ipv6_and_never_cross_families()
    {
        var sim = new IceSimulation(T(NatType.None, false, NatType.None, false));
        var v6 = new System.Net.IPEndPoint[2];
        for (int i = 0; i < 2; i++)
        {
            v6[i] = new System.Net.IPEndPoint(System.Net.IPAddress.Parse($"2001:db8::{i + 1}"), 50000);
            sim.Network.AddHost(i, v6[i], null);
            Assert.True(sim.Agent(i).AddLocalCandidate(Candidate.Host(v6[i])));
        }

        sim.RunFor(TimeSpan.FromSeconds(5));
        AssertSamePath(sim);
        Assert.Equal(v6[0], sim.A.SelectedPair!.Local.Base);
        Assert.Equal(v6[1], sim.A.SelectedPair.Remote.Address);
        Assert.All(sim.A.Pairs, p => Assert.Equal(p.Local.Address.AddressFamily, p.Remote.Address.AddressFamily));
        Assert.Equal(2, sim.A.Pairs.Count);
    }

    [Fact]
    public void Gathered_candidates_are_reported_with_signalled_priorities()
    {
        var sim = new IceSimulation(T(NatType.PortRestricted, true, NatType.None, false));
        var gathered = sim.Events(0).Select(e => e.Event).OfType<CandidateGathered>().Select(g => g.Candidate).ToList();
        Assert.Equal(3, gathered.Count);
        Assert.Equal(2130706175u, gathered.Single(c => c.Kind == CandidateKind.Host).Priority);
        Assert.Equal(1694498559u, gathered.Single(c => c.Kind == CandidateKind.ServerReflexive).Priority);
        Assert.Equal(50331391u, gathered.Single(c => c.Kind == CandidateKind.Relayed).Priority);
    }
}
