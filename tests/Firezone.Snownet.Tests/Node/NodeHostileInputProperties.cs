using Firezone.Testing;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Snownet.Tests.Ice.Simulation;
using Firezone.Snownet.Tests.Node.Simulation;

namespace Firezone.Snownet.Tests.Node;

/// <summary>Garbage, truncated and mutated datagrams into <see cref="Firezone.Snownet.Node.Decapsulate"/> never throw.</summary>
public sealed class NodeHostileInputProperties
{
    /// <summary>An established pair of public nodes (direct path) shared by every case; hostile input must not break it.</summary>
    private static readonly Lazy<NodeSimulation> World = new(() =>
    {
        var sim = new NodeSimulation(new NodeTopology(new NodePeerSpec(NatType.None), new NodePeerSpec(NatType.None)));
        sim.Run(TimeSpan.FromSeconds(2));
        sim.ConnectWithOffer();
        Assert.True(sim.RunUntilEstablished(TimeSpan.FromSeconds(20)));
        sim.Exchange(5, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(2));
        return sim;
    });

    private static readonly Arbitrary<(byte[] Datagram, int Source)> Inputs = Gen.OneOf(
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Where(b => b.Length <= 1400)
        from source in Gen.Choose(0, 3)
        select (bytes, source),
        from kind in Gen.Elements<byte>(0x00, 0x01, 0x02, 0x03, 0x04, 0x40, 0x4F)
        from rest in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Where(b => b.Length <= 200)
        from source in Gen.Choose(0, 3)
        select ((byte[])[kind, 0, 0, 0, .. rest], source),
        from size in Gen.Elements(20, 32, 92, 148, 64)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), size)
        from kind in Gen.Elements<byte>(1, 2, 3, 4)
        from source in Gen.Choose(0, 3)
        select ((byte[])[kind, 0, 0, 0, .. bytes[4..]], source)).ToArbitrary();

    [Property(MaxTest = 10_000)]
    public Property Garbage_truncated_and_mutated_datagrams_into_decapsulate_never_throw() => Prop.ForAll(Inputs, input =>
    {
        var sim = World.Value;
        var gateway = sim.Gateway.Node;
        IPEndPoint from = input.Source switch
        {
            0 => sim.Relays[0].V4!,                                        // the relay (TURN and ChannelData path)
            1 => sim.Client.HostV4!,                                        // the peer itself (ICE and WireGuard path)
            2 => new IPEndPoint(IPAddress.Parse("198.18.250.9"), 1234),    // a stranger
            _ => new IPEndPoint(IPAddress.Parse("198.18.251.3"), 3478),   // looks like a relay port, is not one
        };
        var buffer = new byte[Firezone.Snownet.Node.BufferSize];
        var result = gateway.Decapsulate(input.Datagram, from, sim.Gateway.HostV4!, buffer, sim.Now);
        Assert.True(Enum.IsDefined(result.Status));
        gateway.HandleTimeout(sim.Now);
        while (gateway.PollTransmit() is not null)
        {
        }

        while (gateway.PollEvent() is not null)
        {
        }
    });

    [Property(MaxTest = 2_000)]
    public Property Mutated_real_datagrams_never_throw_and_never_yield_a_packet_unless_authentic() => Prop.ForAll(
        Gen.Choose(0, 1_000_000).ToArbitrary(), seed =>
        {
            var sim = World.Value;
            var random = new Random(seed);
            // A real WireGuard data packet for the gateway, freshly encapsulated by the client, then mutated.
            var buffer = new byte[Firezone.Snownet.Node.BufferSize];
            var sent = sim.Client.Node.Encapsulate(NodeSimulation.GatewayId, SimPackets.Udp((uint)seed), buffer, sim.Now);
            if (sent.Status != EncapsulateStatus.Send)
            {
                return;
            }

            var datagram = buffer.AsSpan(sent.Offset, sent.Length).ToArray();
            int flips = random.Next(1, 4);
            for (int i = 0; i < flips; i++)
            {
                datagram[random.Next(datagram.Length)] ^= (byte)random.Next(1, 256);
            }

            if (random.Next(4) == 0)
            {
                datagram = datagram[..random.Next(datagram.Length)];
            }

            if (datagram.AsSpan().SequenceEqual(buffer.AsSpan(sent.Offset, sent.Length)))
            {
                return; // the flips cancelled out (two on one byte with one value, as seed 790637 does): still authentic
            }

            var output = new byte[Firezone.Snownet.Node.BufferSize];
            var from = sent.Source is null ? sim.Relays[0].V4! : sim.Client.HostV4!; // where the gateway hears the client from
            var result = sim.Gateway.Node.Decapsulate(datagram, from, sim.Gateway.HostV4!, output, sim.Now);
            Assert.NotEqual(DecapsulateStatus.Packet, result.Status);
        });
}
