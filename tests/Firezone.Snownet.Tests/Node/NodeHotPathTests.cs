using Firezone.Testing;
using System.Buffers.Binary;
using System.Net;
using Firezone.Snownet.Tests.Ice.Simulation;
using Firezone.Snownet.Tests.Node.Simulation;

namespace Firezone.Snownet.Tests.Node;

/// <summary><c>Encapsulate</c> + <c>Decapsulate</c> allocate nothing per packet in steady state, direct and relayed.</summary>
public sealed class NodeHotPathTests
{
    private static NodeSimulation Established(NodeTopology topology)
    {
        var sim = new NodeSimulation(topology);
        sim.Run(TimeSpan.FromSeconds(2));
        sim.ConnectWithOffer();
        Assert.True(sim.RunUntilEstablished(TimeSpan.FromSeconds(20)), sim.Log.ToString());
        sim.Exchange(10, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5));
        return sim;
    }

    [Fact]
    public void Encapsulate_and_decapsulate_allocate_nothing_per_packet_on_a_direct_path()
    {
        var sim = Established(new NodeTopology(new NodePeerSpec(NatType.None), new NodePeerSpec(NatType.None)));
        var packet = SimPackets.Udp(1, size: 1280);
        var encrypted = new byte[Firezone.Snownet.Node.BufferSize];
        var decrypted = new byte[Firezone.Snownet.Node.BufferSize];
        var from = sim.Client.HostV4!;
        var local = sim.Gateway.HostV4!;
        long allocated = 0;
        for (int round = 0; round < 2_000; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = sim.Client.Node.Encapsulate(NodeSimulation.GatewayId, packet, encrypted, sim.Now);
            var d = sim.Gateway.Node.Decapsulate(encrypted.AsSpan(e.Offset, e.Length), from, local, decrypted, sim.Now);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(EncapsulateStatus.Send, e.Status);
            Assert.Equal(DecapsulateStatus.Packet, d.Status);
            Assert.Equal(1280, d.Length);
            if (round >= 1_000)
            {
                allocated += after - before; // the first 1,000 rounds warm up (JIT tiering, pools)
            }
        }

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Encapsulate_and_decapsulate_allocate_nothing_per_packet_on_a_relayed_path()
    {
        var sim = Established(new NodeTopology(new NodePeerSpec(NatType.Symmetric), new NodePeerSpec(NatType.Symmetric)));
        Assert.True(sim.Client.Node.PathOf(NodeSimulation.GatewayId)!.IsRelayed);
        Assert.True(sim.Gateway.Node.PathOf(NodeSimulation.ClientId)!.IsRelayed);
        var packet = SimPackets.Udp(1, size: 1280);
        var encrypted = new byte[Firezone.Snownet.Node.BufferSize];
        var decrypted = new byte[Firezone.Snownet.Node.BufferSize];
        var relay = sim.Relays[0];
        var gatewayPath = sim.Gateway.Node.PathOf(NodeSimulation.ClientId)!;
        var gatewayAllocation = sim.Gateway.Node.AllocationOf(relay.Id)!;
        // The channel the relay uses towards the gateway for the client's relayed address (what the relay would prepend).
        ushort channel = gatewayAllocation.Channels.Records.Single(r => r.Value.Peer.Equals(gatewayPath.Destination) && r.Value.Bound).Key;
        var frame = new byte[Firezone.Snownet.Node.BufferSize + 4];
        long allocated = 0;
        for (int round = 0; round < 2_000; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = sim.Client.Node.Encapsulate(NodeSimulation.GatewayId, packet, encrypted, sim.Now);
            long middle = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(EncapsulateStatus.Send, e.Status);
            Assert.Null(e.Source); // relayed: ChannelData to the relay, from any interface
            // What the relay does (outside the measurement): strip the client's ChannelData header, prepend the gateway's.
            int payload = e.Length - 4;
            BinaryPrimitives.WriteUInt16BigEndian(frame, channel);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload);
            encrypted.AsSpan(e.Offset + 4, payload).CopyTo(frame.AsSpan(4));
            long resumed = GC.GetAllocatedBytesForCurrentThread();
            var d = sim.Gateway.Node.Decapsulate(frame.AsSpan(0, payload + 4), relay.V4!, sim.Gateway.HostV4!, decrypted, sim.Now);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(DecapsulateStatus.Packet, d.Status);
            if (round >= 1_000)
            {
                allocated += (middle - before) + (after - resumed);
            }
        }

        Assert.Equal(0, allocated);
    }
}
