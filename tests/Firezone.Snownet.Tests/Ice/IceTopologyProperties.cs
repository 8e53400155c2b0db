using Firezone.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>
/// FsCheck over random topologies (NAT types, relays, shared LAN), loss (0–10 %), delays (0–200 ms, reordering) and
/// trickle signalling delays (0–2 s): when the NAT model says some path is open, both agents end up connected on the
/// two ends of one path and never report failure; when none is, both report failure within the spec's ≈9–12 s
/// (counted from when the candidates arrived).
/// </summary>
public class IceTopologyProperties
{
    private static readonly NatType[] NatTypes = Enum.GetValues<NatType>();

    public static Arbitrary<Topology> Topologies =>
        (from natA in Gen.Elements(NatTypes)
         from natB in Gen.Elements(NatTypes)
         from relayA in Gen.Frequency((1, Gen.Constant(true)), (2, Gen.Constant(false)))
         from relayB in Gen.Frequency((1, Gen.Constant(true)), (2, Gen.Constant(false)))
         from sameLan in Gen.Frequency((1, Gen.Constant(true)), (8, Gen.Constant(false)))
         from loss in Gen.Elements(0.0, 0.0, 0.02, 0.05, 0.1)
         from minDelay in Gen.Choose(0, 50)
         from extra in Gen.Choose(0, 150)
         from seed in Gen.Choose(1, int.MaxValue)
         from signalDelay in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Choose(0, 2000)))
         select new Topology(new PeerSpec(natA, relayA), new PeerSpec(natB, relayB), sameLan, loss, minDelay, minDelay + extra, seed, signalDelay))
        .ToArbitrary();

    [Property(Arbitrary = [typeof(IceTopologyProperties)], MaxTest = 100)]
    public Property Open_path_means_both_agents_select_the_same_path_and_none_means_both_fail_in_time(Topology topology)
    {
        var sim = new IceSimulation(topology, signalDelay: TimeSpan.FromMilliseconds(topology.SignalDelayMs));
        sim.RunFor(TimeSpan.FromSeconds(40));
        string why;
        bool ok;
        if (topology.AnyPathOpen)
        {
            ok = sim.A.State == IceConnectionState.Connected && sim.B.State == IceConnectionState.Connected
                && sim.FirstState(0, IceConnectionState.Disconnected) is null
                && sim.FirstState(1, IceConnectionState.Disconnected) is null
                && sim.SelectedPairsMatch(out why);
            sim.SelectedPairsMatch(out why);
            why = $"open path expected; A={sim.A.State} B={sim.B.State}; {why}";
        }
        else
        {
            TimeSpan limit = TimeSpan.FromSeconds(12) + TimeSpan.FromMilliseconds(topology.SignalDelayMs);
            TimeSpan? failA = sim.FirstState(0, IceConnectionState.Disconnected);
            TimeSpan? failB = sim.FirstState(1, IceConnectionState.Disconnected);
            ok = failA is { } a && a - IceSimulation.Start <= limit && failB is { } b && b - IceSimulation.Start <= limit
                && sim.FirstNomination(0) is null && sim.FirstNomination(1) is null;
            why = $"no path expected; A failed at {failA - IceSimulation.Start}, B at {failB - IceSimulation.Start}; A={sim.A.State} B={sim.B.State}";
        }

        return ok.Label($"{topology}: {why}").Classify(topology.AnyPathOpen, "open").Classify(topology.Loss > 0, "lossy");
    }

    [Property(Arbitrary = [typeof(IceTopologyProperties)], MaxTest = 40)]
    public Property Role_conflicts_resolve_on_random_topologies(Topology topology, bool bothControlling, ulong tbA, ulong tbB)
    {
        IceRole role = bothControlling ? IceRole.Controlling : IceRole.Controlled;
        var sim = new IceSimulation(topology, role, role, tbA, tbB == tbA ? tbA + 1 : tbB, signalDelay: TimeSpan.FromMilliseconds(topology.SignalDelayMs));
        sim.RunFor(TimeSpan.FromSeconds(40));
        if (!topology.AnyPathOpen)
        {
            return (sim.A.State == IceConnectionState.Disconnected && sim.B.State == IceConnectionState.Disconnected).Label(topology.ToString());
        }

        bool ok = sim.A.Role != sim.B.Role && sim.SelectedPairsMatch(out string why);
        sim.SelectedPairsMatch(out why);
        return ok.Label($"{topology}: roles A={sim.A.Role} B={sim.B.Role}; {why}");
    }
}
