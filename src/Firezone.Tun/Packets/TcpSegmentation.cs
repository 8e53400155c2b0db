using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>
/// TCP segmentation offload done by hand, for TUN devices that hand out super-packets (<c>IFF_VNET_HDR</c> with
/// <c>TUN_F_TSO4/6</c>): one IPv4 (no options) or IPv6 (no extension headers) TCP packet whose payload is cut into
/// <c>gsoSize</c>-byte segments, each a complete packet with its own lengths, sequence number, IPv4 identification
/// (+1 per segment, as Linux's TSO does), IPv4 header checksum and full TCP checksum; FIN and PSH only on the last
/// segment, CWR only on the first (the rules of Linux's <c>tcp_gso_segment</c>). Also completes a partial checksum
/// (<c>VIRTIO_NET_HDR_F_NEEDS_CSUM</c>). Pure span code, no allocation.
/// </summary>
internal static class TcpSegmentation
{
    private const byte Fin = 0x01;
    private const byte Psh = 0x08;
    private const byte Cwr = 0x80;

    /// <summary>
    /// The header lengths of a TCP super-packet that can be segmented: IPv4 with a 20-byte header, not a fragment, or
    /// IPv6 whose next header is TCP; the IP length field matching <paramref name="packet"/>'s length; a TCP header
    /// that fits. False for anything else (the caller drops it).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out int ipHeaderLength, out int tcpHeaderLength)
    {
        ipHeaderLength = tcpHeaderLength = 0;
        if (packet.Length < IpConstants.Ipv4HeaderLength)
        {
            return false;
        }

        switch (packet[0] >> 4)
        {
            case 4:
                // Super-packets may exceed 65,535 bytes only with IPv4 total length 0 (BIG TCP); not supported.
                if (packet[0] != 0x45 || packet[9] != IpConstants.ProtocolTcp || BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) != packet.Length
                    || (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0)
                {
                    return false;
                }

                ipHeaderLength = IpConstants.Ipv4HeaderLength;
                break;
            case 6:
                if (packet.Length < IpConstants.Ipv6HeaderLength || packet[6] != IpConstants.ProtocolTcp
                    || BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) != packet.Length - IpConstants.Ipv6HeaderLength)
                {
                    return false;
                }

                ipHeaderLength = IpConstants.Ipv6HeaderLength;
                break;
            default:
                return false;
        }

        if (packet.Length < ipHeaderLength + 20)
        {
            return false;
        }

        tcpHeaderLength = (packet[ipHeaderLength + 12] >> 4) * 4;
        return tcpHeaderLength >= 20 && packet.Length >= ipHeaderLength + tcpHeaderLength;
    }

    /// <summary>Number of segments of a super-packet of <paramref name="packetLength"/> bytes (at least 1).</summary>
    public static int SegmentCount(int packetLength, int headersLength, int gsoSize) =>
        Math.Max(1, (packetLength - headersLength + gsoSize - 1) / gsoSize);

    /// <summary>
    /// Writes segment <paramref name="index"/> of <paramref name="packet"/> (parsed with <see cref="TryParse"/>) into
    /// <paramref name="destination"/> and returns its length; 0 when <paramref name="destination"/> is too small.
    /// </summary>
    public static int WriteSegment(ReadOnlySpan<byte> packet, int ipHeaderLength, int tcpHeaderLength, int gsoSize, int index, Span<byte> destination)
    {
        int headers = ipHeaderLength + tcpHeaderLength;
        int payloadTotal = packet.Length - headers;
        int offset = index * gsoSize;
        int length = Math.Min(gsoSize, payloadTotal - offset);
        if (length < 0 || headers + length > destination.Length)
        {
            return 0;
        }

        int total = headers + length;
        packet[..headers].CopyTo(destination);
        packet.Slice(headers + offset, length).CopyTo(destination[headers..]);
        bool v4 = ipHeaderLength == IpConstants.Ipv4HeaderLength;
        if (v4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)total);
            BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + index));
            destination[10] = destination[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], InternetChecksum.Compute(destination[..ipHeaderLength]));
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(total - ipHeaderLength));
        }

        var tcp = destination[ipHeaderLength..total];
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], BinaryPrimitives.ReadUInt32BigEndian(packet[(ipHeaderLength + 4)..]) + (uint)offset);
        byte flags = tcp[13];
        if (offset + length < payloadTotal)
        {
            flags &= unchecked((byte)~(Fin | Psh));
        }

        if (index > 0)
        {
            flags &= unchecked((byte)~Cwr);
        }

        tcp[13] = flags;
        tcp[16] = tcp[17] = 0;
        ulong sum = v4
            ? InternetChecksum.PseudoHeader(destination.Slice(12, 4), destination.Slice(16, 4), IpConstants.ProtocolTcp, tcp.Length)
            : InternetChecksum.PseudoHeader(destination.Slice(8, 16), destination.Slice(24, 16), IpConstants.ProtocolTcp, tcp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, tcp)));
        return total;
    }

    /// <summary>
    /// Completes a partial checksum: the 16-bit field at <paramref name="start"/> + <paramref name="offset"/> holds the
    /// pseudo-header sum; the checksum over <paramref name="packet"/> from <paramref name="start"/> replaces it (0 is
    /// sent as 0xFFFF, as Linux's <c>skb_checksum_help</c> does). False when the field lies outside the packet.
    /// </summary>
    public static bool CompleteChecksum(Span<byte> packet, int start, int offset)
    {
        if (start < 0 || offset < 0 || start + offset + 2 > packet.Length)
        {
            return false;
        }

        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(0, packet[start..]));
        BinaryPrimitives.WriteUInt16BigEndian(packet[(start + offset)..], checksum == 0 ? (ushort)0xFFFF : checksum);
        return true;
    }
}
