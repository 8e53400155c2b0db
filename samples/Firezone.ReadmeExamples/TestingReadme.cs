using System.Net;
using Firezone.Snownet;
using Firezone.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace ReadmeExamples;

/// <summary>The code blocks of src/Firezone.Testing/README.md.</summary>
public static class TestingReadme
{
    public static void TwoNodeProperty()
    {
        #region readme: src/Firezone.Testing/README.md
        var gatewayId = new ConnectionId(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
        var clientId = new ConnectionId(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));
        IPAddress tun = IPAddress.Parse("100.64.0.1"), resource = IPAddress.Parse("198.18.50.7");
        var cases = from seed in Gen.Choose(0, int.MaxValue)
                    from loss in Gen.Elements(0.0, 0.05)
                    from packets in PacketGenerators.Packet(tun, resource).ListOf()
                    select (seed, loss, packets);

        Check.QuickThrowOnFailure(Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var world = new SimWorld(c.seed, c.loss, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(50));
            world.AddRelay(IPAddress.Parse("198.18.100.1"), null);
            var client = world.AddClient("client", new IPEndPoint(IPAddress.Parse("198.18.10.2"), 50000), null);
            var gateway = world.AddGateway("gateway", new IPEndPoint(IPAddress.Parse("198.18.11.2"), 50000), null);
            world.GiveRelays(client);
            world.GiveRelays(gateway);
            world.Connect(client, gatewayId, gateway, clientId);
            for (ulong probe = 1UL << 63; !gateway.IsEstablished(clientId) && world.Now < TimeSpan.FromSeconds(60); probe++)
            {
                // As a real client: traffic starts the connection and brings the gateway's session up.
                client.Send(gatewayId, new TunnelPacket(TunnelProtocol.Udp, tun, resource, 1, 9, probe).ToBytes(), world.Now);
                world.RunUntil(() => gateway.IsEstablished(clientId), TimeSpan.FromMilliseconds(500));
            }

            var sent = c.packets.Select(p => p.ToBytes()).ToList();
            sent.ForEach(bytes => client.Send(gatewayId, bytes, world.Now));
            world.Run(TimeSpan.FromSeconds(5));
            var arrived = gateway.Received.Select(r => r.Packet).Where(p => !TunnelPacket.TryReadPayload(p, out ulong id) || id < 1UL << 63).ToList();
            return (c.loss > 0 || gateway.IsEstablished(clientId)) && world.Log.ErrorCount == 0 // under loss ICE may time out
                && arrived.All(a => sent.Count(s => s.SequenceEqual(a)) >= arrived.Count(b => b.SequenceEqual(a)));
        }));
        #endregion
    }
}
