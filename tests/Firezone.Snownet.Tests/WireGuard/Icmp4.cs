using System.Buffers.Binary;
using System.Net;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>Tiny IPv4/ICMP helper for the WireGuard tests (the real packet library lives elsewhere).</summary>
internal static class Icmp4
{
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>An IPv4 ICMP echo request (type 8) with the given payload.</summary>
    public static byte[] EchoRequest(IPAddress source, IPAddress destination, ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[20 + 8 + payload.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), sequence);
        packet[8] = 64;
        packet[9] = 1;
        source.GetAddressBytes().CopyTo(packet, 12);
        destination.GetAddressBytes().CopyTo(packet, 16);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Checksum(packet.AsSpan(0, 20)));
        var icmp = packet.AsSpan(20);
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return packet;
    }

    /// <summary>True if the packet is a well-formed IPv4 ICMP message of the given type with valid checksums.</summary>
    public static bool IsIcmp(ReadOnlySpan<byte> packet, byte type)
    {
        if (packet.Length < 28 || packet[0] >> 4 != 4 || packet[9] != 1) return false;
        var ihl = (packet[0] & 0xF) * 4;
        var total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (total > packet.Length || ihl < 20 || total < ihl + 8) return false;
        if (Checksum(packet[..ihl]) != 0) return false;
        var icmp = packet[ihl..total];
        return icmp[0] == type && Checksum(icmp) == 0;
    }

    /// <summary>Builds the echo reply to an IPv4 echo request: addresses swapped, type 0, checksums recomputed; null if not a request.</summary>
    public static byte[]? ReplyTo(ReadOnlySpan<byte> request)
    {
        if (!IsIcmp(request, 8)) return null;
        var total = BinaryPrimitives.ReadUInt16BigEndian(request[2..]);
        var ihl = (request[0] & 0xF) * 4;
        var reply = request[..total].ToArray();
        request.Slice(12, 4).CopyTo(reply.AsSpan(16));
        request.Slice(16, 4).CopyTo(reply.AsSpan(12));
        reply[8] = 64;
        reply[10] = reply[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(10), Checksum(reply.AsSpan(0, ihl)));
        var icmp = reply.AsSpan(ihl);
        icmp[0] = 0;
        icmp[2] = icmp[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return reply;
    }
}
