using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// The packet paths allocate nothing per packet in steady state: HandleNetworkInput (decrypt, checks, NAT, NAT46/64)
/// and HandleTunInput (un-NAT, encrypt), measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/>.
/// </summary>
public sealed class GatewayHotPathTests
{
    private const int Packets = 2000;
    private static readonly IPAddress Real4 = IPAddress.Parse("198.18.5.7");
    private static readonly IPAddress Real6 = IPAddress.Parse("2001:2::7");

    public enum Path
    {
        Cidr,
        DnsNat,
        Nat46,
        Nat64,
    }

    [Theory]
    [InlineData(Path.Cidr)]
    [InlineData(Path.DnsNat)]
    [InlineData(Path.Nat46)]
    [InlineData(Path.Nat64)]
    public void Network_and_tun_input_allocate_nothing_per_packet_in_steady_state(Path path)
    {
        using var h = GatewayHarness.Connect(seed: 3);
        h.Allow(new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("198.18.0.0/16"), "cidr", [Filter.Udp(1, 9000)]));
        var dns = new GatewayDnsResource(new ResourceId(Guid.NewGuid()), "*.example.com", "dns", [Filter.Udp(1, 9000)]);
        Assert.Equal(DnsNatError.None, h.Allow(dns, nat: new DnsResourceNatEntry("a.example.com", [IPAddress.Parse("100.96.0.1")], [Real4])));
        Assert.Equal(DnsNatError.None, h.Allow(dns, nat: new DnsResourceNatEntry("b.example.com", [IPAddress.Parse("100.96.0.2")], [Real6])));
        Assert.Equal(DnsNatError.None, h.Allow(dns, nat: new DnsResourceNatEntry("c.example.com", [IPAddress.Parse("fd00:2021:1111:8000::1")], [Real4])));

        var (src, dst, replySrc, replyDst) = path switch
        {
            Path.Cidr => (GatewayHarness.ClientV4, Real4, Real4, GatewayHarness.ClientV4),
            Path.DnsNat => (GatewayHarness.ClientV4, IPAddress.Parse("100.96.0.1"), Real4, GatewayHarness.ClientV4),
            Path.Nat46 => (GatewayHarness.ClientV4, IPAddress.Parse("100.96.0.2"), Real6, GatewayHarness.ClientV6),
            _ => (GatewayHarness.ClientV6, IPAddress.Parse("fd00:2021:1111:8000::1"), Real4, GatewayHarness.ClientV4),
        };

        var packet = new byte[1280];
        int n = PacketBuilder.Udp(packet, src, dst, 5000, 443, new byte[1000]);
        var datagrams = new byte[Packets + 100][];
        var wire = new byte[Node.BufferSize];
        for (int i = 0; i < datagrams.Length; i++)
        {
            var e = h.Client.Encapsulate(GatewayHarness.GatewayConnection, packet.AsSpan(0, n), wire, h.Now);
            Assert.Equal(EncapsulateStatus.Send, e.Status);
            datagrams[i] = wire.AsSpan(e.Offset, e.Length).ToArray();
        }

        var reply = new byte[1280];
        int m = PacketBuilder.Udp(reply, replySrc, replyDst, 443, 5000, new byte[1000]);
        var replyCopy = new byte[1280];
        var buffer = new byte[Node.BufferSize];
        var gateway = h.Gateway;
        var from = GatewayHarness.ClientHost;
        var local = GatewayHarness.GatewayHost;
        var now = h.Now;

        void Run(int first, int count)
        {
            for (int i = first; i < first + count; i++)
            {
                var r = gateway.HandleNetworkInput(datagrams[i], from, local, buffer, now);
                if (r.Status != NetworkInputStatus.Packet)
                {
                    throw new InvalidOperationException($"{r.Status} {r.Error} {r.NodeError}");
                }

                reply.AsSpan(0, m).CopyTo(replyCopy);
                var t = gateway.HandleTunInput(replyCopy.AsSpan(0, m), buffer, now);
                if (t.Status != TunInputStatus.Send)
                {
                    throw new InvalidOperationException($"{t.Status} {t.Error} {t.NodeError}");
                }
            }
        }

        Run(0, 100); // warm-up: NAT session, JIT, first-use buffers
        // Four windows of 500 packets: a per-packet allocation shows in every window, while a one-off of the runtime
        // (tiered JIT promoting a method mid-run on a loaded machine, seen in CI) shows in one at most.
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(100 + (w * (Packets / windows.Length)), Packets / windows.Length);
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(windows.Min() == 0, $"bytes allocated per window of {Packets / windows.Length} packets: {string.Join(", ", windows)}");
    }

    [Fact]
    public void Refused_packets_and_their_icmp_answers_allocate_nothing_per_packet_in_steady_state()
    {
        using var h = GatewayHarness.Connect(seed: 4);
        h.Allow(new GatewayCidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("198.18.0.0/16"), "cidr", [Filter.Tcp(22, 22)]));
        var packet = new byte[1280];
        int n = PacketBuilder.Udp(packet, GatewayHarness.ClientV4, Real4, 5000, 443, new byte[1000]);
        var datagrams = new byte[Packets + 700][];
        var wire = new byte[Node.BufferSize];
        for (int i = 0; i < datagrams.Length; i++)
        {
            var e = h.Client.Encapsulate(GatewayHarness.GatewayConnection, packet.AsSpan(0, n), wire, h.Now);
            datagrams[i] = wire.AsSpan(e.Offset, e.Length).ToArray();
        }

        var buffer = new byte[Node.BufferSize];
        var gateway = h.Gateway;
        var now = h.Now;
        int answers = 0;

        void Run(int first, int count)
        {
            for (int i = first; i < first + count; i++)
            {
                now += TimeSpan.FromMilliseconds(20); // every 5th packet earns an answer (10 per second)
                var r = gateway.HandleNetworkInput(datagrams[i], GatewayHarness.ClientHost, GatewayHarness.GatewayHost, buffer, now);
                if (r.Error != GatewayPacketError.DestinationNotAllowed)
                {
                    throw new InvalidOperationException($"{r.Status} {r.Error}");
                }

                while (gateway.PollTransmit() is { } t)
                {
                    answers += t.Payload.Length > 0 ? 1 : 0;
                }
            }
        }

        Run(0, 700); // warm-up: JIT, and 140 answers fill every slot of the transmit ring (128, allocated on first use)
        answers = 0;
        // Four windows: a per-packet allocation shows in every window, a runtime one-off (seen in full parallel runs) in one at most.
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(700 + (w * (Packets / windows.Length)), Packets / windows.Length);
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(windows.Min() == 0, $"bytes allocated per window of {Packets / windows.Length} packets: {string.Join(", ", windows)}");
        Assert.InRange(answers, Packets / 5 - 1, Packets / 5 + 1); // the rate limit held and answers were sent
    }
}
