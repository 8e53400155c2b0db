using Firezone.Testing;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>Failure detection within snownet spec §4.6/§4.10 timings.</summary>
public class IceFailureTests
{
    private static Topology T(NatType a, bool relayA, NatType b, bool relayB, double loss = 0)
        => new(new PeerSpec(a, relayA), new PeerSpec(b, relayB), false, loss, 10, 10, 3);

    [Theory]
    [InlineData(NatType.Symmetric, NatType.Symmetric)]
    [InlineData(NatType.Symmetric, NatType.PortRestricted)]
    [InlineData(NatType.Blocked, NatType.None)]
    public void No_open_path_fails_both_sides_after_the_ice_timeout(NatType a, NatType b)
    {
        var sim = new IceSimulation(T(a, false, b, false));
        sim.RunFor(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 2; i++)
        {
            TimeSpan? failed = sim.FirstState(i, IceConnectionState.Disconnected);
            Assert.NotNull(failed);
            // Fresh pairs are checked at 0, .25, .75, 1.75, 3.25, 4.75, 6.25, 7.75 s and pruned at 9.25 s.
            Assert.Equal(TimeSpan.FromMilliseconds(9250), failed.Value - IceSimulation.Start);
            Assert.Null(sim.FirstNomination(i));
        }
    }

    [Fact]
    public void Fresh_pair_check_schedule_matches_the_default_profile()
    {
        var sim = new IceSimulation(T(NatType.Symmetric, false, NatType.Symmetric, false));
        var sends = new List<double>();
        long last = sim.Network.Sent;
        // Record when the (never answered) pairs fire by stepping with a fine clock.
        for (int ms = 0; ms <= 10_000; ms += 5)
        {
            sim.RunUntil(IceSimulation.Start + TimeSpan.FromMilliseconds(ms));
            if (sim.Network.Sent != last)
            {
                sends.Add(ms / 1000.0);
                last = sim.Network.Sent;
            }
        }

        Assert.Equal([0, 0.25, 0.75, 1.75, 3.25, 4.75, 6.25, 7.75], sends);
        Assert.Equal(TimeSpan.FromMilliseconds(9250), IceTimings.Default.IceTimeout);
    }

    [Theory]
    [InlineData(NatType.None, false, NatType.None, false)]
    [InlineData(NatType.PortRestricted, false, NatType.FullCone, false)]
    [InlineData(NatType.Symmetric, true, NatType.Symmetric, false)]
    public void Peer_that_vanishes_is_detected_within_9_to_12_seconds(NatType a, bool ra, NatType b, bool rb)
    {
        var sim = new IceSimulation(T(a, ra, b, rb));
        sim.RunFor(TimeSpan.FromSeconds(20));
        Assert.Equal(IceConnectionState.Connected, sim.A.State);
        Assert.Equal(IceConnectionState.Connected, sim.B.State);
        TimeSpan partition = sim.Now;
        sim.Network.Partitioned = true;
        sim.RunFor(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 2; i++)
        {
            TimeSpan failed = sim.FirstState(i, IceConnectionState.Disconnected) ?? TimeSpan.MaxValue;
            TimeSpan detection = failed - partition;
            Assert.InRange(detection, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(12));
        }
    }

    [Fact]
    public void Idle_profile_sends_one_consent_check_per_minute_and_detects_loss_within_4_to_5_minutes()
    {
        var sim = new IceSimulation(T(NatType.None, false, NatType.None, false));
        sim.RunFor(TimeSpan.FromSeconds(5));
        Assert.Equal(IceConnectionState.Connected, sim.A.State);
        sim.A.SetTimings(IceTimings.Idle);
        sim.B.SetTimings(IceTimings.Idle);
        sim.RunFor(TimeSpan.FromSeconds(61)); // let the schedules settle onto the idle cadence
        long before = sim.Network.Sent;
        sim.RunFor(TimeSpan.FromMinutes(10));
        // One host pair per side; each side checks it once per minute and answers the other's: ≈ 4 datagrams/min.
        double perSecond = (sim.Network.Sent - before) / 600.0;
        Assert.InRange(perSecond, 3.0 / 60, 5.0 / 60);
        Assert.Equal(IceConnectionState.Connected, sim.A.State);

        TimeSpan partition = sim.Now;
        sim.Network.Partitioned = true;
        sim.RunFor(TimeSpan.FromMinutes(10));
        for (int i = 0; i < 2; i++)
        {
            TimeSpan failed = sim.FirstState(i, IceConnectionState.Disconnected) ?? TimeSpan.MaxValue;
            Assert.InRange(failed - partition, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        }
    }

    [Fact]
    public void Invalidating_the_only_relay_fails_that_side_at_once_and_the_peer_within_the_timeout()
    {
        var sim = new IceSimulation(T(NatType.Blocked, true, NatType.Blocked, true));
        sim.RunFor(TimeSpan.FromSeconds(12)); // the blocked host pairs have failed by now
        Assert.Equal(IceConnectionState.Connected, sim.A.State);
        TimeSpan invalidated = sim.Now;
        Candidate relayA = sim.A.LocalCandidates.Single(c => c.Kind == CandidateKind.Relayed);
        Assert.True(sim.A.InvalidateLocalCandidate(relayA));
        Assert.All(sim.A.Pairs, p => Assert.Equal(CandidatePairState.Failed, p.State));
        Assert.DoesNotContain(sim.A.Pairs, p => p.Local.Kind == CandidateKind.Relayed);
        Assert.Equal(IceConnectionState.Disconnected, sim.A.State);
        sim.RunFor(TimeSpan.FromSeconds(20));
        TimeSpan failedB = sim.FirstState(1, IceConnectionState.Disconnected) ?? TimeSpan.MaxValue;
        Assert.InRange(failedB - invalidated, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(12));
    }

    [Fact]
    public void Nominated_pair_failing_falls_back_to_another_working_pair()
    {
        // Both public with relays: host path wins; then the host path alone breaks (hosts unplugged),
        // the relay pairs keep answering and the controlling side re-nominates one of them.
        var sim = new IceSimulation(T(NatType.None, true, NatType.None, true));
        sim.RunFor(TimeSpan.FromSeconds(5));
        Assert.Equal(CandidateKind.Host, sim.A.SelectedPair!.Local.Kind);
        Assert.Equal(CandidateKind.Host, sim.A.SelectedPair.Remote.Kind);
        sim.Network.DropBetween(sim.Host[0], sim.Host[1]);
        sim.RunFor(TimeSpan.FromSeconds(20));
        Assert.Equal(IceConnectionState.Connected, sim.A.State);
        Assert.Equal(IceConnectionState.Connected, sim.B.State);
        Assert.True(sim.SelectedPairsMatch(out string why), why);
        Assert.True(sim.A.SelectedPair!.Local.Kind == CandidateKind.Relayed || sim.A.SelectedPair.Remote.Kind == CandidateKind.Relayed);
    }
}
