using System.Net;
using System.Net.Sockets;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Testing;

/// <summary>
/// FsCheck generators for tunnel traffic (tunnel spec §9.4): ICMP echo requests, UDP and TCP packets over IPv4 and IPv6
/// with a random u64 payload, random identifiers/sequence numbers or ports, UDP/TCP destination port never 53 (53 is
/// DNS, which the tunnel intercepts). Pure functions of FsCheck's seed: the same seed gives the same packets.
/// </summary>
public static class PacketGenerators
{
    /// <summary>The IPv4 range of <see cref="AnyPacket"/> (198.18.0.0/15, RFC 2544 benchmarking).</summary>
    public static readonly IPNetwork BenchmarkV4 = IPNetwork.Parse("198.18.0.0/15");

    /// <summary>The IPv6 range of <see cref="AnyPacket"/> (2001:2::/48, RFC 5180 benchmarking).</summary>
    public static readonly IPNetwork BenchmarkV6 = IPNetwork.Parse("2001:2::/48");

    /// <summary>ICMP echo, UDP or TCP, equally likely.</summary>
    public static Gen<TunnelProtocol> Protocol { get; } = Gen.Elements(TunnelProtocol.IcmpEcho, TunnelProtocol.Udp, TunnelProtocol.Tcp);

    /// <summary>Any u64, uniformly (not size-dependent: no bias towards small values).</summary>
    public static Gen<ulong> Payload { get; } = Gen.Choose(0, 0xFFFF).ArrayOf(4)
        .Select(w => ((ulong)(uint)w[0] << 48) | ((ulong)(uint)w[1] << 32) | ((ulong)(uint)w[2] << 16) | (uint)w[3]);

    /// <summary>A packet from <paramref name="source"/> to <paramref name="destination"/> (same family) of any protocol.</summary>
    public static Gen<TunnelPacket> Packet(IPAddress source, IPAddress destination) =>
        from protocol in Protocol
        from id1 in Gen.Choose(0, 0xFFFF)
        from id2 in Gen.Choose(0, 0xFFFF).Where(p => protocol == TunnelProtocol.IcmpEcho || p != 53)
        from payload in Payload
        select new TunnelPacket(protocol, source, destination, (ushort)id1, (ushort)id2, payload);

    /// <summary>
    /// What the tunnel test sends to a CIDR resource (§9.4): destination any address of <paramref name="network"/>
    /// (network and broadcast addresses included); source <paramref name="tunnelSource"/> (weight 10) or a random
    /// address of the same family (weight 1, the spoofed-source case).
    /// </summary>
    /// <exception cref="ArgumentException">The two are of different families.</exception>
    public static Gen<TunnelPacket> ToNetwork(IPAddress tunnelSource, IPNetwork network)
    {
        if (tunnelSource.AddressFamily != network.BaseAddress.AddressFamily)
        {
            throw new ArgumentException("the tunnel source and the network must be of one family", nameof(tunnelSource));
        }

        var anySource = AddressIn(new IPNetwork(tunnelSource.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
        return from source in Gen.Frequency((10, Gen.Constant(tunnelSource)), (1, anySource))
               from destination in AddressIn(network)
               from packet in Packet(source, destination)
               select packet;
    }

    /// <summary>Any address inside <paramref name="network"/>, uniformly.</summary>
    public static Gen<IPAddress> AddressIn(IPNetwork network)
    {
        byte[] prefix = network.BaseAddress.GetAddressBytes();
        int bits = network.PrefixLength;
        return Gen.Choose(0, 255).ArrayOf(prefix.Length).Select(random =>
        {
            var bytes = new byte[prefix.Length];
            for (int i = 0; i < bytes.Length; i++)
            {
                int keep = Math.Clamp(bits - (i * 8), 0, 8); // leading bits of this byte taken from the network
                byte mask = (byte)(0xFF << (8 - keep));
                bytes[i] = (byte)((prefix[i] & mask) | (random[i] & ~mask));
            }

            return new IPAddress(bytes);
        });
    }

    /// <summary>A packet of any protocol between two addresses of one family in <see cref="BenchmarkV4"/> or <see cref="BenchmarkV6"/>.</summary>
    public static Gen<TunnelPacket> AnyPacket { get; } =
        from network in Gen.Elements(BenchmarkV4, BenchmarkV6)
        from source in AddressIn(network)
        from destination in AddressIn(network)
        from packet in Packet(source, destination)
        select packet;

    /// <summary><see cref="AnyPacket"/> as an FsCheck arbitrary (no shrinking), e.g. for <c>Prop.ForAll</c>.</summary>
    public static Arbitrary<TunnelPacket> Arbitrary() => Arb.From(AnyPacket);
}
