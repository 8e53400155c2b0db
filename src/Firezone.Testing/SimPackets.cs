using System.Buffers.Binary;
using System.Net;

namespace Firezone.Testing;

/// <summary>Minimal IPv4/UDP packets for tunnel traffic with a 32-bit sequence number in the payload (see <see cref="PacketGenerators"/> for ICMP/UDP/TCP over both families).</summary>
public static class SimPackets
{
    /// <summary>The default source of <see cref="Udp"/>: a client tunnel address (198.18.200.2).</summary>
    public static readonly IPAddress ClientTunV4 = IPAddress.Parse("198.18.200.2");
    /// <summary>The default destination of <see cref="Udp"/>: a resource behind the gateway (198.18.201.2).</summary>
    public static readonly IPAddress GatewayTunV4 = IPAddress.Parse("198.18.201.2");

    /// <summary>An IPv4/UDP packet of <paramref name="size"/> bytes (at least 32) carrying <paramref name="sequence"/> (UDP checksum 0).</summary>
    /// <param name="sequence">Written big-endian as the first four payload bytes.</param>
    /// <param name="size">Total length in bytes.</param>
    /// <param name="source">Source IPv4 address (default <see cref="ClientTunV4"/>).</param>
    /// <param name="destination">Destination IPv4 address (default <see cref="GatewayTunV4"/>).</param>
    public static byte[] Udp(uint sequence, int size = 100, IPAddress? source = null, IPAddress? destination = null)
    {
        size = Math.Max(size, 32);
        var packet = new byte[size];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)size);
        packet[8] = 64;
        packet[9] = 17;
        (source ?? ClientTunV4).TryWriteBytes(packet.AsSpan(12, 4), out _);
        (destination ?? GatewayTunV4).TryWriteBytes(packet.AsSpan(16, 4), out _);
        ushort checksum = Checksum(packet.AsSpan(0, 20));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), checksum);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), 53);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(size - 20));
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(28), sequence);
        return packet;
    }

    /// <summary>The sequence number of a packet built by <see cref="Udp"/>.</summary>
    public static uint SequenceOf(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32BigEndian(packet[28..]);

    private static ushort Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
