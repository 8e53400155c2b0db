using Firezone.Testing;
using System.Net;
using Firezone.Snownet.Tests.Ice.Simulation;
using Firezone.Snownet.Tests.Node.Simulation;

namespace Firezone.Snownet.Tests.Node;

/// <summary>
/// Two real nodes (client and gateway) reach <see cref="ConnectionEstablished"/> on simulated networks with the real
/// relay inside, and carry IP packets both ways: host↔host, through NATs (server-reflexive), relayed only (symmetric NATs
/// or a blocked direct path), IPv4 and IPv6, and through two different relays (each side knowing only its own).
/// </summary>
public sealed class NodeConnectivityTests
{
    private static readonly TimeSpan SetupBound = TimeSpan.FromSeconds(15);

    private static NodeSimulation Connect(NodeTopology topology, bool credentials = false)
    {
        var sim = new NodeSimulation(topology);
        sim.Run(TimeSpan.FromSeconds(2)); // relays: Binding, Allocate
        if (credentials)
        {
            sim.ConnectWithCredentials();
        }
        else
        {
            sim.ConnectWithOffer();
        }

        Assert.True(sim.RunUntilEstablished(SetupBound),
            $"not established within {SetupBound} on {topology}: client events {string.Join(", ", sim.Client.Events.Select(e => e.Event))}; gateway events {string.Join(", ", sim.Gateway.Events.Select(e => e.Event))}\n{sim.Log}");
        return sim;
    }

    private static void AssertExchange(NodeSimulation sim, int count = 100)
    {
        var (atGateway, atClient) = sim.Exchange(count, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10));
        Assert.Equal(count, atGateway.Count);
        Assert.Equal(count, atClient.Count);
        // Each at most once (probes sent while waiting for the gateway's session have sequence numbers from 0x70000000).
        Assert.Equal(count, sim.Gateway.Received.Count(r => r.Connection == NodeSimulation.ClientId && SimPackets.SequenceOf(r.Packet) < count));
        Assert.Equal(count, sim.Client.Received.Count(r => r.Connection == NodeSimulation.GatewayId && SimPackets.SequenceOf(r.Packet) < count));
    }

    /// <summary>True when the nominated path goes through a relay (on either side's end of it).</summary>
    private static bool ClientUsesRelay(NodeSimulation sim)
    {
        var client = sim.Client.Node.PathOf(NodeSimulation.GatewayId);
        var gateway = sim.Gateway.Node.PathOf(NodeSimulation.ClientId);
        Assert.NotNull(client);
        Assert.NotNull(gateway);
        return client.IsRelayed || gateway.IsRelayed; // e.g. client host → gateway's relayed address: relayed for the gateway
    }

    [Fact]
    public void Two_public_hosts_connect_directly_and_exchange_packets_both_ways()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.None), new NodePeerSpec(NatType.None)));
        AssertExchange(sim);
        Assert.False(ClientUsesRelay(sim));
    }

    [Theory]
    [InlineData(NatType.FullCone, NatType.PortRestricted)]
    [InlineData(NatType.PortRestricted, NatType.PortRestricted)]
    [InlineData(NatType.AddressRestricted, NatType.Symmetric)]
    [InlineData(NatType.None, NatType.Symmetric)]
    public void Nodes_behind_nats_connect_through_server_reflexive_candidates(NatType client, NatType gateway)
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(client), new NodePeerSpec(gateway)));
        AssertExchange(sim);
        Assert.False(ClientUsesRelay(sim));
    }

    [Fact]
    public void Symmetric_nats_on_both_sides_connect_through_the_relay()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.Symmetric), new NodePeerSpec(NatType.Symmetric)));
        AssertExchange(sim);
        Assert.True(ClientUsesRelay(sim));
    }

    [Fact]
    public void A_blocked_direct_path_leaves_the_relayed_one()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.None), new NodePeerSpec(NatType.None), BlockDirect: true));
        AssertExchange(sim);
        Assert.True(ClientUsesRelay(sim));
    }

    [Fact]
    public void Ipv6_only_nodes_connect()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.None, IPv4: false, IPv6: true), new NodePeerSpec(NatType.None, IPv4: false, IPv6: true)));
        AssertExchange(sim);
        Assert.All(sim.Client.Sent, s => Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, s.Destination.AddressFamily));
    }

    [Fact]
    public void Relayed_ipv6_only_nodes_connect()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.None, IPv4: false, IPv6: true), new NodePeerSpec(NatType.None, IPv4: false, IPv6: true), BlockDirect: true));
        AssertExchange(sim);
        Assert.True(ClientUsesRelay(sim));
    }

    [Fact]
    public void Each_side_on_its_own_relay_connects_relay_to_relay()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.Symmetric), new NodePeerSpec(NatType.Symmetric), SeparateRelays: true));
        AssertExchange(sim);
        Assert.True(ClientUsesRelay(sim));
    }

    [Fact]
    public void Portal_supplied_credentials_connect_like_offer_and_answer()
    {
        var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.PortRestricted), new NodePeerSpec(NatType.FullCone)), credentials: true);
        AssertExchange(sim);
    }

    [Fact]
    public void The_same_seed_replays_the_same_run()
    {
        static string Trace(int seed)
        {
            var sim = Connect(new NodeTopology(new NodePeerSpec(NatType.PortRestricted), new NodePeerSpec(NatType.Symmetric), Loss: 0.05, Seed: seed));
            sim.Exchange(20, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5));
            return string.Join("\n", sim.Client.Sent.Select(s => $"{s.At.Ticks} {s.Destination} {s.Length}"))
                + string.Join("\n", sim.Gateway.Sent.Select(s => $"{s.At.Ticks} {s.Destination} {s.Length}"));
        }

        Assert.Equal(Trace(7), Trace(7));
        Assert.NotEqual(Trace(7), Trace(8));
    }
}
