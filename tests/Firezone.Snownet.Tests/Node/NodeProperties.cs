using Firezone.Testing;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Snownet.Tests.Ice.Simulation;
using Firezone.Snownet.Tests.Node.Simulation;

namespace Firezone.Snownet.Tests.Node;

/// <summary>Properties over random topologies and hostile input.</summary>
public sealed class NodeProperties
{
    /// <summary>
    /// Connection setup bound on these networks: WireGuard's REKEY_ATTEMPT_TIME (90 s), the time the protocol itself
    /// keeps retrying a handshake (every 5 s). With 10 % loss on each of the three hops of a relay-to-relay path an
    /// attempt (initiation and response) gets through with p ≈ 0.53, so 90 s leave a chance of ≈ 10⁻⁵ per case to
    /// still be waiting; almost all cases are up within seconds (the long run's figures are in the closing note).
    /// </summary>
    public static readonly TimeSpan SetupBound = TimeSpan.FromSeconds(90);

    /// <summary>Simulated setup times of the cases run so far (printed by the long run).</summary>
    internal static readonly List<TimeSpan> SetupTimes = new();

    private static readonly NatType[] Nats = [NatType.None, NatType.FullCone, NatType.AddressRestricted, NatType.PortRestricted, NatType.Symmetric];

    private static readonly Arbitrary<NodeTopology> Topologies = (
        from client in Gen.Elements(Nats)
        from gateway in Gen.Elements(Nats)
        from v6 in Gen.Elements(false, false, true)
        from separate in Gen.Elements(false, false, true)
        from block in Gen.Elements(false, false, false, true)
        from loss in Gen.Choose(0, 10)
        from delay in Gen.Choose(0, 200)
        from spread in Gen.Choose(0, 50)
        from seed in Gen.Choose(1, 1_000_000)
        select new NodeTopology(new NodePeerSpec(client, IPv6: v6), new NodePeerSpec(gateway, IPv6: v6), separate, block,
            loss / 100.0, delay, delay + spread, seed)).ToArbitrary();

    /// <summary>Case count: FIREZONE_NODE_CASES (default 25, so the suite stays fast; run 500+ by hand).</summary>
    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("FIREZONE_NODE_CASES"), out int n) ? n : 25;

    [Fact]
    public void Whenever_a_path_exists_the_connection_comes_up_in_bounded_time_and_packets_arrive_at_most_once()
    {
        Prop.ForAll(Topologies, topology =>
        {
            var sim = new NodeSimulation(topology);
            sim.Run(TimeSpan.FromSeconds(2));
            var start = sim.Now;
            sim.ConnectWithOffer();
            bool up = sim.RunUntilEstablished(SetupBound);
            if (!up && RelayLostToLoss(sim))
            {
                // Loss took every attempt of a TURN request (4 attempts in 8.125 s, spec §6.6): that side has no relay, and
                // if it never received anything it does not even know its host address (host candidates are learnt from
                // received datagrams, §4.4.1), so no path is left. The outcome must then be a failure within the timeouts.
                var failedAt = sim.Client.Events.Concat(sim.Gateway.Events).Where(e => e.Event is ConnectionFailed).Select(e => (TimeSpan?)e.At).Min();
                Assert.True(failedAt is not null && failedAt.Value - start <= TimeSpan.FromSeconds(25), $"no path, but no timely failure: {topology}\n{sim.Log}");
                return;
            }

            if (up)
            {
                lock (SetupTimes)
                {
                    SetupTimes.Add(sim.EstablishedAt(sim.Gateway)!.Value - start);
                }
            }

            Assert.True(up, $"not established within {SetupBound}: {topology}\n{sim.Log}");

            // Send until 100 distinct packets arrived each way (the network loses some); none may arrive twice.
            uint next = 0;
            for (int round = 0; round < 10; round++)
            {
                var (atGateway, atClient) = sim.Exchange(50, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(2), next);
                next += 50;
                if (Distinct(sim.Gateway) >= 100 && Distinct(sim.Client) >= 100)
                {
                    break;
                }
            }

            Assert.True(Distinct(sim.Gateway) >= 100 && Distinct(sim.Client) >= 100, $"fewer than 100 packets arrived: {topology}");
            Assert.Equal(Sequences(sim.Gateway).Count(), Distinct(sim.Gateway));
            Assert.Equal(Sequences(sim.Client).Count(), Distinct(sim.Client));
            if (topology.Loss == 0)
            {
                Assert.Equal((int)next, Distinct(sim.Gateway)); // nothing lost on a lossless network
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));

        List<TimeSpan> sorted;
        lock (SetupTimes)
        {
            sorted = [.. SetupTimes.Order()];
        }

        Console.Error.WriteLine(
            $"{sorted.Count} cases: setup (offer → both established, simulated) median {sorted[sorted.Count / 2].TotalMilliseconds:F0} ms, " +
            $"p95 {sorted[(int)(sorted.Count * 0.95)].TotalMilliseconds:F0} ms, max {sorted[^1].TotalMilliseconds:F0} ms");

        static int Distinct(SimPeer peer) => Sequences(peer).Distinct().Count();
        static IEnumerable<uint> Sequences(SimPeer peer) => peer.Received.Select(r => SimPackets.SequenceOf(r.Packet)).Where(s => s < 0x7000_0000);
    }

    /// <summary>
    /// True when loss cost a node its relay (the log says so): every Binding attempt lost (the allocation is freed), or
    /// every Allocate attempt lost (the allocation stays suspended until the next <c>UpdateRelays</c>, spec §6.10).
    /// </summary>
    private static bool RelayLostToLoss(NodeSimulation sim)
    {
        string log = sim.Log.ToString();
        return log.Contains("freed: NoResponseReceived", StringComparison.Ordinal) || log.Contains("Giving up on Allocate request", StringComparison.Ordinal);
    }

    [Fact]
    public void Without_any_path_the_connection_fails_within_the_ice_and_candidate_timeouts()
    {
        Prop.ForAll(Gen.Choose(1, 100_000).ToArbitrary(), seed =>
        {
            // The gateway cannot reach anything (not even its relay): no candidate can ever work.
            var sim = new NodeSimulation(new NodeTopology(new NodePeerSpec(NatType.PortRestricted), new NodePeerSpec(NatType.Blocked), Seed: seed));
            sim.Run(TimeSpan.FromSeconds(2));
            sim.ConnectWithOffer();
            var start = sim.Now;
            Assert.True(sim.RunUntil(() => sim.Failed(sim.Client), TimeSpan.FromSeconds(40)), "never failed");
            var failedAt = sim.Client.Events.First(e => e.Event is ConnectionFailed).At;
            Assert.True(failedAt - start <= TimeSpan.FromSeconds(25), $"failed only after {failedAt - start}");
            Assert.DoesNotContain(sim.Client.Events, e => e.Event is ConnectionEstablished);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Math.Max(3, Cases / 5)).WithQuietOnSuccess(true));
    }
}
