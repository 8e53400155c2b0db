using System.Net;
using Firezone.Snownet;
using Firezone.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Firezone.Testing.Example;

/// <summary>A client and a gateway node over a lossy, jittery simulated internet with a relay.</summary>
public class TwoNodeTunnelProperties
{
    private static readonly ConnectionId GatewayId = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly ConnectionId ClientId = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));
    private static readonly IPAddress ClientTun = IPAddress.Parse("100.64.0.1"), Resource = IPAddress.Parse("198.18.50.7");

    private static readonly Gen<(int Seed, double Loss, int DelayMs, bool Relayed, List<TunnelPacket> Packets)> Cases =
        from seed in Gen.Choose(0, int.MaxValue)
        from loss in Gen.Elements(0.0, 0.02, 0.1)
        from delayMs in Gen.Choose(1, 100)
        from relayed in Gen.Elements(false, true)
        from packets in PacketGenerators.Packet(ClientTun, Resource).Where(p => p.Payload < (1UL << 63)).ListOf()
        where packets.DistinctBy(p => p.Payload).Count() == packets.Count
        select (seed, loss, delayMs, relayed, packets);

    [Property(MaxTest = 25)]
    public Property Packets_arrive_at_most_once_and_intact_and_without_loss_all_arrive() => Prop.ForAll(Cases.ToArbitrary(), c =>
    {
        var world = new SimWorld(c.Seed, c.Loss, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(c.DelayMs));
        world.AddRelay(IPAddress.Parse("198.18.100.1"), IPAddress.Parse("2001:2:0:100::1"));
        var client = world.AddClient("client", new IPEndPoint(IPAddress.Parse("198.18.10.2"), 50000), null);
        var gateway = world.AddGateway("gateway", new IPEndPoint(IPAddress.Parse("198.18.11.2"), 50000), null);
        if (c.Relayed)
        {
            world.Net.Block(client.V4!.Address, gateway.V4!.Address); // only the relay connects them
        }

        world.GiveRelays(client);
        world.GiveRelays(gateway);
        world.Connect(client, GatewayId, gateway, ClientId);
        var sent = new Dictionary<ulong, byte[]>();
        void Send(TunnelPacket p) => client.Send(GatewayId, sent[p.Payload] = p.ToBytes(), world.Now);
        for (ulong probe = 1UL << 63; !gateway.IsEstablished(ClientId) && world.Now < TimeSpan.FromSeconds(60); probe++)
        {
            Send(new TunnelPacket(TunnelProtocol.Udp, ClientTun, Resource, 1, 9, probe)); // traffic brings the gateway up
            world.RunUntil(() => gateway.IsEstablished(ClientId), TimeSpan.FromMilliseconds(500));
        }

        // Liveness only without loss: under loss ICE may time out (ConnectionFailed; a real client reconnects).
        Assert.True(c.Loss > 0 || gateway.IsEstablished(ClientId), $"not connected\n{world.Log}");
        c.Packets.ForEach(Send);
        world.Run(TimeSpan.FromSeconds(5));

        var arrived = gateway.Received.Select(r => TunnelPacket.TryReadPayload(r.Packet, out ulong id) ? (id, r.Packet) : (0, r.Packet)).ToList();
        Assert.All(arrived, a => Assert.Equal(sent.GetValueOrDefault(a.Item1), a.Packet)); // intact, and one we sent
        Assert.Equal(arrived.Count, arrived.Select(a => a.Item1).Distinct().Count());       // at most once
        if (c.Loss == 0)
        {
            Assert.All(c.Packets, p => Assert.Contains(arrived, a => a.Item1 == p.Payload));
        }

        Assert.Equal(0, world.Log.ErrorCount);
    });
}
