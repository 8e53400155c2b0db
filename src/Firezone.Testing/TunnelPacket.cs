using System.Buffers.Binary;
using System.Net;
using Firezone.Tun.Packets;

namespace Firezone.Testing;

/// <summary>
/// An application packet for a tunnel property (tunnel spec §9.4): ICMP echo request, UDP or TCP over IPv4 or IPv6 whose
/// payload is exactly a u64, 8 bytes big-endian. The payload identifies the packet end to end even when NAT changes
/// ports, identifiers or the IP family, so properties match sent and received packets by <see cref="Payload"/>.
/// </summary>
/// <param name="Protocol">The transport.</param>
/// <param name="Source">Source address (same family as <paramref name="Destination"/>).</param>
/// <param name="Destination">Destination address.</param>
/// <param name="SourcePortOrIdentifier">UDP/TCP source port, or the ICMP echo identifier.</param>
/// <param name="DestinationPortOrSequence">UDP/TCP destination port, or the ICMP echo sequence number.</param>
/// <param name="Payload">The u64 payload.</param>
public sealed record TunnelPacket(TunnelProtocol Protocol, IPAddress Source, IPAddress Destination,
    ushort SourcePortOrIdentifier, ushort DestinationPortOrSequence, ulong Payload)
{
    /// <summary>Length of the payload in bytes.</summary>
    public const int PayloadLength = 8;

    /// <summary>The packet's bytes (valid IP header and transport checksums, built by Firezone.Tun's <see cref="PacketBuilder"/>).</summary>
    /// <exception cref="ArgumentException">The two addresses are of different families.</exception>
    public byte[] ToBytes()
    {
        if (Source.AddressFamily != Destination.AddressFamily)
        {
            throw new ArgumentException("source and destination must be of one family");
        }

        Span<byte> payload = stackalloc byte[PayloadLength];
        BinaryPrimitives.WriteUInt64BigEndian(payload, Payload);
        var buffer = new byte[40 + 20 + PayloadLength];
        int length = Protocol switch
        {
            TunnelProtocol.IcmpEcho => PacketBuilder.EchoRequest(buffer, Source, Destination, SourcePortOrIdentifier, DestinationPortOrSequence, payload),
            TunnelProtocol.Udp => PacketBuilder.Udp(buffer, Source, Destination, SourcePortOrIdentifier, DestinationPortOrSequence, payload),
            _ => PacketBuilder.Tcp(buffer, Source, Destination, SourcePortOrIdentifier, DestinationPortOrSequence, payload),
        };
        return buffer.AsSpan(0, length).ToArray();
    }

    /// <summary>
    /// Reads the u64 payload of an ICMP echo (request or reply), UDP or TCP packet whose transport payload is exactly
    /// 8 bytes; false for anything else (never throws).
    /// </summary>
    public static bool TryReadPayload(ReadOnlySpan<byte> packet, out ulong payload)
    {
        payload = 0;
        var copy = packet.ToArray();
        if (IpPacket.TryParse(copy, out var ip) != IpParseError.None)
        {
            return false;
        }

        ReadOnlySpan<byte> data;
        if (ip.TryGetUdp(out var udp))
        {
            data = udp.Payload;
        }
        else if (ip.TryGetTcp(out var tcp))
        {
            data = tcp.Payload;
        }
        else if (ip.TryGetIcmp(out var icmp) && icmp.IsEcho && ip.Payload.Length >= 8)
        {
            data = ip.Payload[8..];
        }
        else
        {
            return false;
        }

        if (data.Length != PayloadLength)
        {
            return false;
        }

        payload = BinaryPrimitives.ReadUInt64BigEndian(data);
        return true;
    }
}
