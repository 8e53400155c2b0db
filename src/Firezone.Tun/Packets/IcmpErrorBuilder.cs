using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>Why a destination is unreachable, mapped to the ICMPv4 / ICMPv6 codes.</summary>
public enum UnreachableReason
{
    /// <summary>No route: ICMPv4 3/0 (network), ICMPv6 1/0.</summary>
    NoRoute,
    /// <summary>Host unreachable: ICMPv4 3/1, ICMPv6 1/3 (address unreachable).</summary>
    Host,
    /// <summary>Port unreachable: ICMPv4 3/3, ICMPv6 1/4.</summary>
    Port,
    /// <summary>Administratively prohibited (filtered): ICMPv4 3/13, ICMPv6 1/1.</summary>
    AdministrativelyProhibited,
}

/// <summary>
/// Generates ICMP errors in answer to an offending packet (upstream connlib has none): destination unreachable,
/// administratively prohibited and packet too big. The error goes from <c>source</c> (default: the offending packet's
/// destination) to the offending packet's source and quotes as much of it as fits (IPv4: 576-byte error as RFC 1812
/// advises; IPv6: 1280 bytes, RFC 4443). No error is generated for ICMP errors, fragments other than the first,
/// or packets from unspecified/multicast/broadcast sources (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)).
/// </summary>
public static class IcmpErrorBuilder
{
    private const int MaxIpv4Error = 576;

    /// <summary>Writes a destination-unreachable error; returns its length, or 0 if none must be sent.</summary>
    public static int DestinationUnreachable(ReadOnlySpan<byte> offending, Span<byte> destination, UnreachableReason reason,
        ReadOnlySpan<byte> source = default)
    {
        bool v4 = offending.Length > 0 && offending[0] >> 4 == 4;
        byte type = v4 ? IcmpMessage.V4DestinationUnreachable : IcmpMessage.V6DestinationUnreachable;
        byte code = (v4, reason) switch
        {
            (true, UnreachableReason.NoRoute) => 0,
            (true, UnreachableReason.Host) => 1,
            (true, UnreachableReason.Port) => 3,
            (true, _) => 13,
            (false, UnreachableReason.NoRoute) => 0,
            (false, UnreachableReason.Host) => 3,
            (false, UnreachableReason.Port) => 4,
            (false, _) => 1,
        };
        return Build(offending, destination, type, code, 0, source);
    }

    /// <summary>Writes an "administratively prohibited" error (ICMPv4 3/13, ICMPv6 1/1); 0 if none must be sent.</summary>
    public static int AdministrativelyProhibited(ReadOnlySpan<byte> offending, Span<byte> destination, ReadOnlySpan<byte> source = default)
        => DestinationUnreachable(offending, destination, UnreachableReason.AdministrativelyProhibited, source);

    /// <summary>
    /// Writes "packet too big": ICMPv4 3/4 (fragmentation needed, next-hop MTU) or ICMPv6 2/0 (MTU, at least 1280);
    /// 0 if none must be sent.
    /// </summary>
    public static int PacketTooBig(ReadOnlySpan<byte> offending, Span<byte> destination, int mtu, ReadOnlySpan<byte> source = default)
    {
        bool v4 = offending.Length > 0 && offending[0] >> 4 == 4;
        return v4
            ? Build(offending, destination, IcmpMessage.V4DestinationUnreachable, 4, (uint)Math.Clamp(mtu, 68, 65535), source)
            : Build(offending, destination, IcmpMessage.V6PacketTooBig, 0, (uint)Math.Max(mtu, IpConstants.MaxPacketSize), source);
    }

    private static int Build(ReadOnlySpan<byte> offending, Span<byte> destination, byte type, byte code, uint rest, ReadOnlySpan<byte> source)
    {
        if (!ShouldAnswer(offending, out bool v4, out int length)) return 0;
        offending = offending[..length];
        int hl = v4 ? IpConstants.Ipv4HeaderLength : IpConstants.Ipv6HeaderLength;
        int max = Math.Min(v4 ? MaxIpv4Error : IpConstants.MaxPacketSize, destination.Length);
        int quoted = Math.Min(offending.Length, max - hl - IcmpMessage.HeaderLength);
        if (quoted < 0) return 0;
        ReadOnlySpan<byte> src = source.IsEmpty ? (v4 ? offending.Slice(16, 4) : offending.Slice(24, 16)) : source;
        ReadOnlySpan<byte> dst = v4 ? offending.Slice(12, 4) : offending.Slice(8, 16);
        if (src.Length != dst.Length) throw new ArgumentException("Source address family does not match the offending packet.", nameof(source));
        int total = hl + IcmpMessage.HeaderLength + quoted;
        Span<byte> p = destination[..total];
        p[..hl].Clear();
        Span<byte> m = p[hl..];
        m[0] = type;
        m[1] = code;
        m[2] = 0;
        m[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(m[4..], rest);
        offending[..quoted].CopyTo(m[8..]);
        if (v4)
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)total);
            p[8] = PacketBuilder.DefaultHopLimit;
            p[9] = IpConstants.ProtocolIcmp;
            src.CopyTo(p[12..]);
            dst.CopyTo(p[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(m[2..], InternetChecksum.Compute(m));
            BinaryPrimitives.WriteUInt16BigEndian(p[10..], InternetChecksum.Compute(p[..hl]));
        }
        else
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)m.Length);
            p[6] = IpConstants.ProtocolIcmpV6;
            p[7] = PacketBuilder.DefaultHopLimit;
            src.CopyTo(p[8..]);
            dst.CopyTo(p[24..]);
            ulong sum = InternetChecksum.PseudoHeader(src, dst, IpConstants.ProtocolIcmpV6, m.Length);
            BinaryPrimitives.WriteUInt16BigEndian(m[2..], InternetChecksum.Finish(InternetChecksum.Add(sum, m)));
        }
        return total;
    }

    private static bool ShouldAnswer(ReadOnlySpan<byte> p, out bool v4, out int length)
    {
        v4 = false;
        length = 0;
        if (p.Length < 1 || p.Length > IpConstants.MaxPacketSize) return false;
        int version = p[0] >> 4;
        if (version == 4)
        {
            v4 = true;
            if (p.Length < IpConstants.Ipv4HeaderLength) return false;
            int ihl = (p[0] & 0x0F) * 4;
            length = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
            if (ihl < IpConstants.Ipv4HeaderLength || length < ihl || length > p.Length) return false;
            if ((BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x1FFF) != 0) return false; // not the first fragment
            ReadOnlySpan<byte> s = p.Slice(12, 4);
            if (s[0] == 0 || s[0] >= 224 || (s[0] == 127)) return false; // 0/8, multicast, class E, broadcast, loopback
            ReadOnlySpan<byte> d = p.Slice(16, 4);
            if (d[0] >= 224) return false; // multicast or broadcast destination
            if (p[9] == IpConstants.ProtocolIcmp)
                return length < ihl + 1 || !IcmpMessage.IsErrorType(p[ihl], v4: true);
            return true;
        }
        if (version == 6)
        {
            if (p.Length < IpConstants.Ipv6HeaderLength) return false;
            length = IpConstants.Ipv6HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
            if (length > p.Length) return false;
            ReadOnlySpan<byte> s = p.Slice(8, 16);
            if (s[0] == 0xFF || s.IndexOfAnyExcept((byte)0) < 0) return false; // multicast or unspecified source
            if (p[24] == 0xFF) return false; // multicast destination (packet-too-big exception not needed here)
            if (p[6] == IpConstants.ProtocolIcmpV6)
                return length < IpConstants.Ipv6HeaderLength + 1 || !IcmpMessage.IsErrorType(p[IpConstants.Ipv6HeaderLength], v4: false);
            return true;
        }
        return false;
    }
}
