using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Tun.Packets;

/// <summary>
/// Builds complete IPv4/IPv6 packets with valid checksums into a caller buffer (for tests, DNS replies and ICMP).
/// IPv4: TTL 64, DF set, identification 0, TOS 0. IPv6: hop limit 64, traffic class and flow label 0.
/// Mixed address families or a packet above 1280 bytes throw <see cref="ArgumentException"/> (builders are called by
/// our own code with our own values, never with network input).
/// </summary>
public static class PacketBuilder
{
    /// <summary>Default TTL / hop limit.</summary>
    public const byte DefaultHopLimit = 64;

    /// <summary>Writes a UDP packet; returns its length.</summary>
    public static int Udp(Span<byte> destination, IPAddress src, IPAddress dst, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        int ip = WriteIpHeader(destination, src, dst, IpConstants.ProtocolUdp, UdpDatagram.HeaderLength + payload.Length, out int total);
        Span<byte> u = destination[ip..total];
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)u.Length);
        BinaryPrimitives.WriteUInt16BigEndian(u[6..], 0);
        payload.CopyTo(u[8..]);
        return Finish(destination[..total]);
    }

    /// <summary>Writes a TCP packet (sequence 0, window 128 like upstream unless given, flags as given); returns its length.</summary>
    public static int Tcp(Span<byte> destination, IPAddress src, IPAddress dst, ushort sourcePort, ushort destinationPort,
        ReadOnlySpan<byte> payload, byte flags = 0, uint sequence = 0, uint acknowledgement = 0, ushort window = 128)
    {
        int ip = WriteIpHeader(destination, src, dst, IpConstants.ProtocolTcp, TcpSegment.MinHeaderLength + payload.Length, out int total);
        Span<byte> t = destination[ip..total];
        t[..TcpSegment.MinHeaderLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(t, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], acknowledgement);
        t[12] = 5 << 4;
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], window);
        payload.CopyTo(t[20..]);
        return Finish(destination[..total]);
    }

    /// <summary>
    /// Writes a TCP packet from raw address bytes (4 + 4 for IPv4, 16 + 16 for IPv6) without allocating: every header
    /// field as given, a maximum segment size option (kind 2, 4 bytes) when <paramref name="maximumSegmentSize"/> is not
    /// 0, valid checksums; returns its length. Other defaults as <see cref="PacketBuilder"/> states.
    /// </summary>
    public static int TcpFromAddressBytes(Span<byte> destination, ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> destinationAddress,
        ushort sourcePort, ushort destinationPort, uint sequence, uint acknowledgement, byte flags, ushort window,
        ushort maximumSegmentSize, ReadOnlySpan<byte> payload)
    {
        int options = maximumSegmentSize != 0 ? 4 : 0;
        int headerLength = TcpSegment.MinHeaderLength + options;
        int ip = WriteIpHeader(destination, sourceAddress, destinationAddress, IpConstants.ProtocolTcp, headerLength + payload.Length, out int total);
        Span<byte> t = destination[ip..total];
        t[..headerLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(t, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], acknowledgement);
        t[12] = (byte)((headerLength / 4) << 4);
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], window);
        if (options != 0)
        {
            t[20] = TcpSegment.OptionKindMaximumSegmentSize;
            t[21] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(t[22..], maximumSegmentSize);
        }
        payload.CopyTo(t[headerLength..]);
        return Finish(destination[..total]);
    }

    /// <summary>Writes an ICMP(v6) echo request; returns its length.</summary>
    public static int EchoRequest(Span<byte> destination, IPAddress src, IPAddress dst, ushort identifier, ushort sequence, ReadOnlySpan<byte> payload)
        => Echo(destination, src, dst, identifier, sequence, payload, request: true);

    /// <summary>Writes an ICMP(v6) echo reply; returns its length.</summary>
    public static int EchoReply(Span<byte> destination, IPAddress src, IPAddress dst, ushort identifier, ushort sequence, ReadOnlySpan<byte> payload)
        => Echo(destination, src, dst, identifier, sequence, payload, request: false);

    private static int Echo(Span<byte> destination, IPAddress src, IPAddress dst, ushort identifier, ushort sequence, ReadOnlySpan<byte> payload, bool request)
    {
        bool v4 = src.AddressFamily == AddressFamily.InterNetwork;
        byte type = v4 ? (request ? IcmpMessage.V4EchoRequest : IcmpMessage.V4EchoReply) : (request ? IcmpMessage.V6EchoRequest : IcmpMessage.V6EchoReply);
        Span<byte> rest = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(rest, identifier);
        BinaryPrimitives.WriteUInt16BigEndian(rest[2..], sequence);
        return Icmp(destination, src, dst, type, 0, rest, payload);
    }

    /// <summary>Writes an ICMPv4 (IPv4 addresses) or ICMPv6 (IPv6 addresses) message; returns its length.</summary>
    public static int Icmp(Span<byte> destination, IPAddress src, IPAddress dst, byte type, byte code, ReadOnlySpan<byte> restOfHeader, ReadOnlySpan<byte> body)
    {
        bool v4 = src.AddressFamily == AddressFamily.InterNetwork;
        int ip = WriteIpHeader(destination, src, dst, v4 ? IpConstants.ProtocolIcmp : IpConstants.ProtocolIcmpV6, IcmpMessage.HeaderLength + body.Length, out int total);
        Span<byte> m = destination[ip..total];
        m[0] = type;
        m[1] = code;
        m[2] = 0;
        m[3] = 0;
        restOfHeader[..4].CopyTo(m[4..]);
        body.CopyTo(m[8..]);
        return Finish(destination[..total]);
    }

    /// <summary>Writes an IP packet with an arbitrary protocol and payload (no transport checksum); returns its length.</summary>
    public static int Raw(Span<byte> destination, IPAddress src, IPAddress dst, byte protocol, ReadOnlySpan<byte> payload)
    {
        int ip = WriteIpHeader(destination, src, dst, protocol, payload.Length, out int total);
        payload.CopyTo(destination[ip..total]);
        return Finish(destination[..total]);
    }

    /// <summary>Writes Firezone's p2p control packet (IPv6, :: to ::, next header 0xFF, hop limit 0, 8-byte header then body).</summary>
    public static int FzP2pControl(Span<byte> destination, byte eventType, ReadOnlySpan<byte> body)
    {
        int total = IpConstants.Ipv6HeaderLength + 8 + body.Length;
        if (total > IpConstants.MaxPacketSize || total > destination.Length) throw new ArgumentException("Packet does not fit.", nameof(body));
        Span<byte> h = destination[..total];
        h.Clear();
        h[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)(8 + body.Length));
        h[6] = IpConstants.ProtocolFzP2pControl;
        h[40] = eventType;
        body.CopyTo(h[48..]);
        return total;
    }

    /// <summary>
    /// Test helper like upstream's <c>echo_reply</c>: swaps addresses and, for UDP/TCP, ports, in place. Checksums stay
    /// valid (the swapped fields are summed in the same words). False for other protocols.
    /// </summary>
    public static bool SwapEndpoints(IpPacket packet)
    {
        ushort sp, dp;
        if (packet.TryGetUdp(out var u)) { sp = u.SourcePort; dp = u.DestinationPort; }
        else if (packet.TryGetTcp(out var t)) { sp = t.SourcePort; dp = t.DestinationPort; }
        else return false;
        Span<byte> tmp = stackalloc byte[16];
        Span<byte> s = packet.SourceBytes, d = packet.DestinationBytes;
        s.CopyTo(tmp);
        d.CopyTo(s);
        tmp[..s.Length].CopyTo(d);
        BinaryPrimitives.WriteUInt16BigEndian(packet.Payload, dp);
        BinaryPrimitives.WriteUInt16BigEndian(packet.Payload[2..], sp);
        return true;
    }

    /// <summary>Writes an IP header for a payload of the given length; returns the header length.</summary>
    internal static int WriteIpHeader(Span<byte> destination, IPAddress src, IPAddress dst, byte protocol, int payloadLength, out int total)
    {
        if (src.AddressFamily != dst.AddressFamily) throw new ArgumentException("IPs must be of the same version.", nameof(dst));
        if (src.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)) throw new ArgumentException("Not an IP address.", nameof(src));
        Span<byte> s = stackalloc byte[16], d = stackalloc byte[16];
        src.TryWriteBytes(s, out int sn);
        dst.TryWriteBytes(d, out int dn);
        return WriteIpHeader(destination, s[..sn], d[..dn], protocol, payloadLength, out total);
    }

    /// <summary>Writes an IP header from raw address bytes (both 4 or both 16); returns the header length.</summary>
    internal static int WriteIpHeader(Span<byte> destination, ReadOnlySpan<byte> src, ReadOnlySpan<byte> dst, byte protocol, int payloadLength, out int total)
    {
        if (src.Length != dst.Length || (src.Length != 4 && src.Length != 16))
            throw new ArgumentException("Addresses must both be IPv4 (4 bytes) or both IPv6 (16 bytes).", nameof(dst));
        bool v4 = src.Length == 4;
        int hl = v4 ? IpConstants.Ipv4HeaderLength : IpConstants.Ipv6HeaderLength;
        total = hl + payloadLength;
        if (total > IpConstants.MaxPacketSize || total > destination.Length) throw new ArgumentException("Payload does not fit.", nameof(payloadLength));
        Span<byte> h = destination[..hl];
        h.Clear();
        if (v4)
        {
            h[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)total);
            h[6] = 0x40; // DF
            h[8] = DefaultHopLimit;
            h[9] = protocol;
            src.CopyTo(h[12..]);
            dst.CopyTo(h[16..]);
        }
        else
        {
            h[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)payloadLength);
            h[6] = protocol;
            h[7] = DefaultHopLimit;
            src.CopyTo(h[8..]);
            dst.CopyTo(h[24..]);
        }
        return hl;
    }

    private static int Finish(Span<byte> packet)
    {
        IpPacket.TryParse(packet, out IpPacket p);
        p.RecomputeChecksums();
        return packet.Length;
    }
}
