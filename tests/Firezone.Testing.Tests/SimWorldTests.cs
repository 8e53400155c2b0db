using System.Net;
using Firezone.Snownet;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Testing.Tests;

/// <summary>The two-node world of the kit: a client and a gateway connect through it and exchange packets.</summary>
public class SimWorldTests
{
    private static readonly ConnectionId GatewayId = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly ConnectionId ClientId = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));

    private static (SimWorld World, SimNodeHost Client, SimNodeHost Gateway) Pair(int seed, double loss, bool blockDirect, NatType clientNat = NatType.None)
    {
        var world = new SimWorld(seed, loss, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(40));
        world.AddRelay(IPAddress.Parse("198.18.100.1"), IPAddress.Parse("2001:2:0:100::1"));
        SimNat? nat = clientNat == NatType.None ? null : world.Net.AddNat(clientNat, IPAddress.Parse("198.18.20.1"));
        var client = world.AddClient("client", new IPEndPoint(IPAddress.Parse(nat is null ? "198.18.10.2" : "198.19.10.2"), 50000), null, nat);
        var gateway = world.AddGateway("gateway", new IPEndPoint(IPAddress.Parse("198.18.11.2"), 50000), null);
        if (blockDirect)
        {
            world.Net.Block(nat?.PublicIp ?? client.V4!.Address, gateway.V4!.Address);
        }

        world.GiveRelays(client);
        world.GiveRelays(gateway);
        world.Connect(client, GatewayId, gateway, ClientId);
        return (world, client, gateway);
    }

    [Theory]
    [InlineData(false, NatType.None)]
    [InlineData(true, NatType.None)]
    [InlineData(false, NatType.Symmetric)]
    public void A_client_and_a_gateway_connect_and_exchange_packets(bool blockDirect, NatType clientNat)
    {
        var (world, client, gateway) = Pair(1, 0, blockDirect, clientNat);
        // a real client sends while it connects: packets wait in the node's buffer and go out on nomination
        for (uint i = 0; i < 20 && !gateway.IsEstablished(ClientId); i++)
        {
            client.Send(GatewayId, SimPackets.Udp(0x7000_0000 + i), world.Now);
            world.RunUntil(() => client.IsEstablished(GatewayId) && gateway.IsEstablished(ClientId), TimeSpan.FromMilliseconds(500));
        }

        Assert.True(client.IsEstablished(GatewayId) && gateway.IsEstablished(ClientId), world.Log.ToString());
        var packet = new TunnelPacket(TunnelProtocol.Udp, SimPackets.ClientTunV4, SimPackets.GatewayTunV4, 4000, 80, 42).ToBytes();
        client.Send(GatewayId, packet, world.Now);
        Assert.True(world.RunUntil(() => gateway.Received.Any(r => r.Packet.SequenceEqual(packet)), TimeSpan.FromSeconds(2)), world.Log.ToString());
        Assert.Equal(0, world.Log.ErrorCount);
    }

    [Fact]
    public void The_same_seed_replays_the_same_world()
    {
        string Run(int seed)
        {
            var (world, client, gateway) = Pair(seed, 0.1, blockDirect: false);
            world.RunUntil(() => gateway.IsEstablished(ClientId), TimeSpan.FromSeconds(20));
            return string.Join("\n", client.Events.Select(e => $"{e.At} {e.Event}")) + world.Net.Sent;
        }

        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }
}
