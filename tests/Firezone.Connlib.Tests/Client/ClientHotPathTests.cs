using System.Net;
using Firezone.Connlib.Client;
using Firezone.Snownet;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>The client's per-packet paths allocate nothing in steady state (TUN → datagram and datagram → TUN).</summary>
public sealed class ClientHotPathTests
{
    [Fact]
    public void Outbound_and_inbound_packets_allocate_nothing_per_packet()
    {
        using var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.AddResource(Cidr(1, "198.19.1.0/24"), world.Now);
        world.SendFromClient(Udp(IPAddress.Parse("198.19.1.3")));
        world.Run(TimeSpan.FromSeconds(2));

        var packet = Udp(IPAddress.Parse("198.19.1.3"), payload: 1280 - 28);
        var work = new byte[packet.Length];
        var encrypted = new byte[Node.BufferSize];
        var decrypted = new byte[Node.BufferSize];
        var reply = Udp(TunnelV4, payload: 1280 - 28);
        IPAddress.Parse("198.19.1.3").TryWriteBytes(reply.AsSpan(12), out _);
        var replyEncrypted = new byte[Node.BufferSize];
        var clientConnection = new ConnectionId(ClientWithNodeGateway.ClientIdentity.Value);
        // Four windows of 250 rounds: a per-packet allocation shows in every window, a one-off of the runtime (tiered
        // JIT promoting a method mid-run on a loaded machine) in one at most.
        var windows = new long[4];
        for (int round = 0; round < 2_000; round++)
        {
            packet.CopyTo(work, 0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = world.Client.HandleTunInput(work, encrypted, world.Now);
            long afterOut = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(EncapsulateStatus.Send, e.Status);

            var r = world.Node.Encapsulate(clientConnection, reply, replyEncrypted, world.Now); // the gateway's side, not measured
            long beforeIn = GC.GetAllocatedBytesForCurrentThread();
            var d = world.Client.HandleNetworkInput(replyEncrypted.AsSpan(r.Offset, r.Length), ClientWithNodeGateway.GatewayHost,
                ClientWithNodeGateway.ClientHost, decrypted, world.Now);
            long afterIn = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(ClientPacketStatus.Packet, d.Status);
            if (round >= 1_000)
            {
                windows[(round - 1_000) / 250] += (afterOut - before) + (afterIn - beforeIn);
            }
        }

        Assert.True(windows.Min() == 0, $"bytes allocated per window of 250 rounds: {string.Join(", ", windows)}");
    }

    [Fact]
    public void Packets_to_a_dns_resource_proxy_ip_allocate_nothing_per_packet()
    {
        using var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.UpdateInterfaceConfig(new Firezone.Connlib.Model.InterfaceConfig(TunnelV4, TunnelV6, [new IPEndPoint(IPAddress.Parse("198.18.53.53"), 53)]));
        world.Client.AddResource(DnsRes(1, "app.example.com"), world.Now);
        var query = Firezone.Connlib.Tests.Dns.DnsTestMessages.Query("app.example.com", Firezone.Connlib.Dns.DnsRecordType.A);
        var q = new byte[60 + query.Length];
        int n = Firezone.Tun.Packets.PacketBuilder.Udp(q, TunnelV4, IPAddress.Parse("100.100.111.1"), 5353, 53, query);
        world.SendFromClient(q[..n]);
        var answer = world.Client.PollPacket()!.Value.ToArray();
        var proxy = new IPAddress(answer.AsSpan(answer.Length - 4)); // the last A record's address
        world.SendFromClient(Udp(proxy));
        world.Run(TimeSpan.FromSeconds(2));

        var packet = Udp(proxy, payload: 1280 - 28);
        var work = new byte[packet.Length];
        var encrypted = new byte[Node.BufferSize];
        // Four windows of 250 rounds: a per-packet allocation shows in every window, a one-off of the runtime (tiered
        // JIT promoting a method mid-run on a loaded machine) in one at most.
        var windows = new long[4];
        for (int round = 0; round < 2_000; round++)
        {
            packet.CopyTo(work, 0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = world.Client.HandleTunInput(work, encrypted, world.Now);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(EncapsulateStatus.Send, e.Status);
            if (round >= 1_000)
            {
                windows[(round - 1_000) / 250] += after - before;
            }
        }

        Assert.True(windows.Min() == 0, $"bytes allocated per window of 250 rounds: {string.Join(", ", windows)}");
    }
}
