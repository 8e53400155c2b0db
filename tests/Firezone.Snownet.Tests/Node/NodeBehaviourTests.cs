using Firezone.Testing;
using System.Net;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Tests.Ice.Simulation;
using Firezone.Snownet.Tests.Node.Simulation;

namespace Firezone.Snownet.Tests.Node;

/// <summary>
/// The behaviours of snownet spec §11 that concern the node, one test each, named after them (the engine-level ones —
/// ChannelData lengths, TURN retransmission ids, signed/unsigned challenges, USERNAME padding, no ICE error responses,
/// the second Binding family — are named in the Turn and Ice tests).
/// </summary>
public sealed class NodeBehaviourTests
{
    private static NodeSimulation Established(NodeTopology topology)
    {
        var sim = new NodeSimulation(topology);
        sim.Run(TimeSpan.FromSeconds(2));
        sim.ConnectWithOffer();
        Assert.True(sim.RunUntilEstablished(TimeSpan.FromSeconds(20)), sim.Log.ToString());
        return sim;
    }

    private static NodeTopology Public => new(new NodePeerSpec(NatType.None), new NodePeerSpec(NatType.None));

    /// <summary>A fresh WireGuard initiation from the client to the gateway (148 bytes, type 1: in the STUN range).</summary>
    private static byte[] Initiation(NodeSimulation sim)
    {
        var tunnel = sim.Client.Node.TunnelOf(NodeSimulation.GatewayId)!;
        var buffer = new byte[148];
        var result = tunnel.FormatHandshakeInitiation(buffer, force: true, sim.Now);
        Assert.Equal(148, result.Length);
        return buffer;
    }

    [Fact]
    public void Stun_range_datagrams_from_a_relay_go_to_turn_and_never_to_wireguard_spec_11_1()
    {
        var sim = Established(Public);
        var initiation = Initiation(sim);
        var buffer = new byte[Firezone.Snownet.Node.BufferSize];
        int sentBefore = sim.Gateway.Sent.Count;

        // From the relay's address: treated as TURN (and dropped there), not answered by WireGuard.
        var fromRelay = sim.Gateway.Node.Decapsulate(initiation, sim.Relays[0].V4!, sim.Gateway.HostV4!, buffer, sim.Now);
        Assert.Equal(DecapsulateStatus.Consumed, fromRelay.Status);
        sim.Gateway.HandleTimeout(sim.Now);
        Assert.Equal(sentBefore, sim.Gateway.Sent.Count);

        // The same bytes from the peer: WireGuard answers with a handshake response (92 bytes).
        var fromPeer = sim.Gateway.Node.Decapsulate(initiation, sim.Client.HostV4!, sim.Gateway.HostV4!, buffer, sim.Now);
        Assert.Equal(DecapsulateStatus.Consumed, fromPeer.Status);
        sim.Gateway.Drain(sim.Now);
        Assert.Contains(sim.Gateway.Sent.Skip(sentBefore), s => s.Length == 92 && s.Destination.Equals(sim.Client.HostV4));
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("169.254.1.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    public void An_unusable_local_address_makes_decapsulate_fail_with_bad_local_address_spec_11_2(string local)
    {
        var sim = Established(Public);
        var buffer = new byte[Firezone.Snownet.Node.BufferSize];
        var result = sim.Gateway.Node.Decapsulate(new byte[] { 4, 0, 0, 0 }, sim.Client.HostV4!, new IPEndPoint(IPAddress.Parse(local), 50000), buffer, sim.Now);
        Assert.Equal((DecapsulateStatus.Error, PacketError.BadLocalAddress), (result.Status, result.Error));
        Assert.False(sim.Gateway.Node.AddLocalHostCandidate(new IPEndPoint(IPAddress.Parse(local), 1)));
    }

    [Fact]
    public void Relayed_checks_reach_ice_from_the_peer_with_our_relayed_address_as_destination_spec_11_3()
    {
        var sim = Established(new NodeTopology(new NodePeerSpec(NatType.Symmetric), new NodePeerSpec(NatType.Symmetric)));
        var path = sim.Gateway.Node.PathOf(NodeSimulation.ClientId)!;
        Assert.True(path.IsRelayed);
        // The agent's nominated pair starts at our relayed address: checks that came through the relay were handed to
        // ICE with our relayed address as the local (destination) address.
        var pair = sim.Gateway.Node.AgentOf(NodeSimulation.ClientId)!.SelectedPair!;
        Assert.Equal(CandidateKind.Relayed, pair.Local.Kind);
        var allocation = sim.Gateway.Node.AllocationOf(sim.Relays[0].Id)!;
        Assert.Contains(pair.Local.Address, new[] { allocation.RelayedV4?.Address, allocation.RelayedV6?.Address });
        Assert.Equal(path.Destination, pair.Remote.Address);
    }

    [Fact]
    public void Only_one_host_and_one_server_reflexive_candidate_per_family_are_signalled_and_srflx_never_enters_the_agent_spec_11_8()
    {
        var sim = Established(new NodeTopology(new NodePeerSpec(NatType.PortRestricted, IPv6: true), new NodePeerSpec(NatType.None, IPv6: true)));
        var signalled = sim.Client.Events.Select(e => e.Event).OfType<NewIceCandidate>()
            .Select(c => Candidate.TryParse(c.Candidate, out var parsed) ? parsed : null).OfType<Candidate>().ToList();
        foreach (var kind in new[] { CandidateKind.Host, CandidateKind.ServerReflexive })
        {
            foreach (var family in new[] { System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.AddressFamily.InterNetworkV6 })
            {
                Assert.True(signalled.Count(c => c.Kind == kind && c.Address.AddressFamily == family) <= 1, $"{kind} {family}: {string.Join(", ", signalled)}");
            }
        }

        Assert.Contains(signalled, c => c.Kind == CandidateKind.ServerReflexive);
        Assert.Equal(2, signalled.Count(c => c.Kind == CandidateKind.Host)); // one per family
        var agent = sim.Client.Node.AgentOf(NodeSimulation.GatewayId)!;
        Assert.DoesNotContain(agent.Pairs, p => p.Local.Kind == CandidateKind.ServerReflexive);
    }

    [Fact]
    public void Signalled_priorities_are_firezones_and_carry_no_related_address_or_ufrag_spec_11_9()
    {
        var sim = Established(new NodeTopology(new NodePeerSpec(NatType.PortRestricted), new NodePeerSpec(NatType.None)));
        var signalled = sim.Client.Events.Select(e => e.Event).OfType<NewIceCandidate>().Select(c => c.Candidate).ToList();
        Assert.Contains(signalled, s => s.Contains(" 2130706175 ", StringComparison.Ordinal) && s.EndsWith("typ host", StringComparison.Ordinal));
        Assert.Contains(signalled, s => s.Contains(" 1694498559 ", StringComparison.Ordinal) && s.EndsWith("typ srflx", StringComparison.Ordinal));
        Assert.Contains(signalled, s => s.Contains(" 50331391 ", StringComparison.Ordinal) && s.EndsWith("typ relay", StringComparison.Ordinal));
        Assert.Contains(signalled, s => s.Contains(" 50331647 ", StringComparison.Ordinal) && s.EndsWith("typ relay", StringComparison.Ordinal));
        Assert.All(signalled, s => Assert.DoesNotContain("raddr", s, StringComparison.Ordinal));
        Assert.All(signalled, s => Assert.DoesNotContain("ufrag", s, StringComparison.Ordinal));
    }

    [Fact]
    public void Non_host_remote_candidates_get_channels_on_the_connections_own_relay_and_late_ones_are_ignored_spec_11_10()
    {
        var sim = Established(new NodeTopology(new NodePeerSpec(NatType.PortRestricted), new NodePeerSpec(NatType.PortRestricted), SeparateRelays: true));
        // The client's relay got channels for the gateway's srflx and relay candidates; the gateway's relay is not the client's.
        var clientRelay = sim.Client.Node.RelayOf(NodeSimulation.GatewayId)!.Value;
        Assert.Equal(sim.Relays[0].Id, clientRelay);
        var peers = sim.Client.Node.AllocationOf(clientRelay)!.Channels.Records.Values.Select(r => r.Peer).ToList();
        var gatewayCandidates = sim.Gateway.Events.Select(e => e.Event).OfType<NewIceCandidate>()
            .Select(c => Candidate.TryParse(c.Candidate, out var parsed) ? parsed : null).OfType<Candidate>().ToList();
        Assert.All(gatewayCandidates.Where(c => c.Kind != CandidateKind.Host && c.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork),
            c => Assert.Contains(c.Address, peers));
        Assert.DoesNotContain(gatewayCandidates.Where(c => c.Kind == CandidateKind.Host).Select(c => c.Address), peers.Contains);

        // Once connected, new remote candidates are ignored.
        int before = sim.Client.Node.AgentOf(NodeSimulation.GatewayId)!.RemoteCandidates.Count;
        sim.Client.Node.AddRemoteCandidate(NodeSimulation.GatewayId, "candidate:1 1 udp 2130706175 198.18.77.7 4000 typ host", sim.Now);
        Assert.Equal(before, sim.Client.Node.AgentOf(NodeSimulation.GatewayId)!.RemoteCandidates.Count);
    }

    [Fact]
    public void Wireguard_output_before_nomination_is_buffered_and_flushed_on_nomination_spec_11_11()
    {
        // The gateway answers the client's initiation before its own agent has nominated: its handshake response waits in
        // the connecting buffer. With it, the client is up without a REKEY_TIMEOUT (5 s) retry.
        var sim = new NodeSimulation(Public);
        sim.Run(TimeSpan.FromSeconds(2));
        var start = sim.Now;
        sim.ConnectWithOffer();
        Assert.True(sim.RunUntil(() => sim.Established(sim.Client), TimeSpan.FromSeconds(10)));
        Assert.True(sim.EstablishedAt(sim.Client)!.Value - start < TimeSpan.FromSeconds(2), $"took {sim.EstablishedAt(sim.Client) - start}");
        Assert.Equal(1, sim.Client.Sent.Count(s => s.Length == 148)); // one initiation: no retry was needed
    }

    [Fact]
    public void Only_the_controlling_side_starts_the_handshake_on_nomination_spec_11_12()
    {
        var sim = Established(Public);
        Assert.True(sim.Client.Sent.Count(s => s.Length == 148) >= 1);
        Assert.Equal(0, sim.Gateway.Sent.Count(s => s.Length == 148)); // the gateway never initiates
    }

    [Fact]
    public void Wireguard_datagrams_are_routed_by_source_address_not_by_receiver_index_spec_11_13()
    {
        var sim = Established(Public);
        var buffer = new byte[Firezone.Snownet.Node.BufferSize];
        var sent = sim.Client.Node.Encapsulate(NodeSimulation.GatewayId, SimPackets.Udp(1), buffer, sim.Now);
        Assert.Equal(EncapsulateStatus.Send, sent.Status);
        var datagram = buffer.AsSpan(sent.Offset, sent.Length).ToArray();
        var output = new byte[Firezone.Snownet.Node.BufferSize];
        // A valid transport packet (right index, right key) from an address no connection accepts: unhandled.
        var stranger = sim.Gateway.Node.Decapsulate(datagram, new IPEndPoint(IPAddress.Parse("198.18.250.1"), 9), sim.Gateway.HostV4!, output, sim.Now);
        Assert.Equal((DecapsulateStatus.Error, PacketError.UnhandledPacket), (stranger.Status, stranger.Error));
        var peer = sim.Gateway.Node.Decapsulate(datagram, sim.Client.HostV4!, sim.Gateway.HostV4!, output, sim.Now);
        Assert.Equal(DecapsulateStatus.Packet, peer.Status);
    }

    [Fact]
    public void The_candidate_timeout_counts_peer_reflexive_candidates_learnt_from_checks_spec_11_14()
    {
        // The gateway never receives signalled candidates (the portal drops them), but the client's checks reach it: the
        // peer-reflexive candidates it learns count, so it does not fail "no candidates received" after 10 s.
        var sim = new NodeSimulation(Public);
        sim.Run(TimeSpan.FromSeconds(2));
        sim.Client.OnEvent = null; // nothing signalled from the client
        sim.ConnectWithOffer();
        sim.Run(TimeSpan.FromSeconds(12));
        var agent = sim.Gateway.Node.AgentOf(NodeSimulation.ClientId);
        Assert.NotNull(agent);
        Assert.Contains(agent.RemoteCandidates, c => c.Kind == CandidateKind.PeerReflexive);
        Assert.DoesNotContain("failed: no candidates received", sim.Log.ToString().Split('\n').Where(l => l.Contains("gateway", StringComparison.Ordinal)).Aggregate("", (a, b) => a + b));
    }

    [Fact]
    public void Update_relays_probes_every_relay_it_is_not_told_about_spec_11_18()
    {
        var sim = new NodeSimulation(new NodeTopology(new NodePeerSpec(NatType.None), new NodePeerSpec(NatType.None), SeparateRelays: true));
        sim.GiveRelays(sim.Client, sim.Relays); // the client knows both relays now
        sim.Run(TimeSpan.FromSeconds(2));
        int toFirst = sim.Client.Sent.Count(s => s.Destination.Equals(sim.Relays[0].V4));
        sim.Client.Node.UpdateRelays([], [sim.Relays[1].Entry(sim.UtcNow, "probesalt1")], sim.Now); // only relay 1 mentioned
        sim.Client.Drain(sim.Now);
        Assert.True(sim.Client.Sent.Count(s => s.Destination.Equals(sim.Relays[0].V4)) > toFirst, "relay 0 was not probed");
    }
}
