using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>Why a NAT46/NAT64 translation was refused (the caller drops the packet).</summary>
public enum TranslateError
{
    /// <summary>Translated.</summary>
    None,
    /// <summary>Not a valid packet of the expected family.</summary>
    Malformed,
    /// <summary>An IPv4 fragment (RFC 7915 would need a fragment header; not supported).</summary>
    Fragment,
    /// <summary>IPv6 packet with an extension header (hop-by-hop, routing, fragment, destination options).</summary>
    ExtensionHeader,
    /// <summary>An ICMP type/code that RFC 7915 says to drop (or that has no equivalent).</summary>
    UntranslatableIcmp,
    /// <summary>An address inside an ICMP error that is neither one of the outer addresses nor in 64:ff9b::/96.</summary>
    UntranslatableAddress,
    /// <summary>The translated packet would exceed 1280 bytes (answer the sender with packet-too-big, MTU 1260).</summary>
    TooLarge,
    /// <summary>The destination buffer is too small.</summary>
    BufferTooSmall,
}

/// <summary>
/// Stateless IP/ICMP translation between IPv4 and IPv6 (RFC 7915), with the caller choosing the new addresses.
/// </summary>
/// <remarks>
/// Fixes on purpose, compared with upstream connlib (spec hosts-and-tun §3.5):
/// the whole IPv4 TOS byte maps to the IPv6 traffic class and back (DSCP and ECN, any value; upstream drops ECN and
/// fails above 63); ICMP errors are translated together with the packet they carry (inner header, inner addresses,
/// inner transport checksum), packet-too-big works both ways, and parameter-problem pointers are mapped.
/// Transport checksums are updated incrementally (RFC 1624) for TCP and UDP; ICMP checksums are recomputed because the
/// message changes. IPv6→IPv4 sets DF and identification 0; hop limit/TTL is copied (not decremented).
/// Inner addresses map as: inner source ↔ outer destination and inner destination ↔ outer source when equal, else
/// through the RFC 6052 well-known prefix 64:ff9b::/96.
/// </remarks>
public static class IpTranslator
{
    private static ReadOnlySpan<byte> WellKnownPrefix => [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
    private static ReadOnlySpan<ushort> MtuPlateaus => [65535, 32000, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

    /// <summary>Writes <c>64:ff9b::a.b.c.d</c> (RFC 6052) into <paramref name="ipv6"/>.</summary>
    public static void EmbedIpv4(ReadOnlySpan<byte> ipv4, Span<byte> ipv6)
    {
        WellKnownPrefix.CopyTo(ipv6);
        ipv4[..4].CopyTo(ipv6[12..]);
    }

    /// <summary>Extracts the IPv4 address from <c>64:ff9b::/96</c>; false outside that prefix.</summary>
    public static bool TryExtractIpv4(ReadOnlySpan<byte> ipv6, Span<byte> ipv4)
    {
        if (!ipv6[..12].SequenceEqual(WellKnownPrefix)) return false;
        ipv6.Slice(12, 4).CopyTo(ipv4);
        return true;
    }

    /// <summary>
    /// Translates the packet at <paramref name="buffer"/>[<paramref name="start"/>..+<paramref name="length"/>] in
    /// place to the family of <paramref name="newSource"/>/<paramref name="newDestination"/> (4 or 16 bytes each).
    /// IPv4→IPv6 moves the start back by 20 bytes (use a read offset of 20), IPv6→IPv4 forward by 20.
    /// </summary>
    public static TranslateError TranslateInPlace(Span<byte> buffer, int start, int length, ReadOnlySpan<byte> newSource,
        ReadOnlySpan<byte> newDestination, out int newStart, out int newLength)
    {
        newStart = start;
        newLength = 0;
        if (length < 1 || length > IpConstants.MaxPacketSize || start < 0 || start + length > buffer.Length) return TranslateError.Malformed;
        if (TryTranslateHeaderOnly(buffer, start, length, newSource, newDestination, out newStart, out newLength)) return TranslateError.None;
        newStart = start;
        Span<byte> copy = stackalloc byte[length];
        buffer.Slice(start, length).CopyTo(copy);
        int version = copy[0] >> 4;
        if (version == 4 && newSource.Length == 16)
        {
            int ihl = (copy[0] & 0x0F) * 4;
            newStart = Math.Max(0, start + ihl - IpConstants.Ipv6HeaderLength);
            return Ipv4ToIpv6(copy, buffer[newStart..], newSource, newDestination, out newLength);
        }
        if (version == 6 && newSource.Length == 4)
        {
            newStart = start + IpConstants.Ipv6HeaderLength - IpConstants.Ipv4HeaderLength;
            return Ipv6ToIpv4(copy, buffer[newStart..], newSource, newDestination, out newLength);
        }
        return TranslateError.Malformed;
    }

    /// <summary>
    /// The common case of <see cref="TranslateInPlace"/> without moving the payload: a TCP or UDP packet (no IPv4
    /// fragment, no IPv6 extension header) whose translation fits 1280 bytes gets the other family's header written in
    /// front of its payload where it lies, and its checksum adjusted. The result is byte for byte what the copying path
    /// produces; false (nothing written) for everything else, which takes that path.
    /// </summary>
    private static bool TryTranslateHeaderOnly(Span<byte> buffer, int start, int length, ReadOnlySpan<byte> newSource,
        ReadOnlySpan<byte> newDestination, out int newStart, out int newLength)
    {
        newStart = start;
        newLength = 0;
        ReadOnlySpan<byte> packet = buffer.Slice(start, length);
        int version = packet[0] >> 4;
        if (version == 4 && newSource.Length == 16 && newDestination.Length == 16)
        {
            if (!TryValidateIpv4(packet, out int ihl, out int total)) return false;
            byte protocol = packet[9];
            int payloadLength = total - ihl;
            if (protocol is not (IpConstants.ProtocolTcp or IpConstants.ProtocolUdp) || start + ihl < IpConstants.Ipv6HeaderLength
                || (packet[6] & 0x20) != 0 || (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) != 0
                || IpConstants.Ipv6HeaderLength + payloadLength > IpConstants.MaxPacketSize) return false;
            Span<byte> old = stackalloc byte[8];
            packet.Slice(12, 8).CopyTo(old);
            byte tos = packet[1], ttl = packet[8];
            newStart = start + ihl - IpConstants.Ipv6HeaderLength;
            WriteIpv6Header(buffer.Slice(newStart, IpConstants.Ipv6HeaderLength), tos, payloadLength, protocol, ttl, newSource, newDestination);
            FixTransportChecksum(buffer.Slice(start + ihl, payloadLength), protocol, old[..4], old[4..], newSource, newDestination, truncated: false);
            newLength = IpConstants.Ipv6HeaderLength + payloadLength;
            return true;
        }

        if (version == 6 && newSource.Length == 4 && newDestination.Length == 4 && length >= IpConstants.Ipv6HeaderLength)
        {
            int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
            byte next = packet[6];
            if (next is not (IpConstants.ProtocolTcp or IpConstants.ProtocolUdp) || IpConstants.Ipv6HeaderLength + payloadLength > length) return false;
            Span<byte> old = stackalloc byte[32];
            packet.Slice(8, 32).CopyTo(old);
            byte trafficClass = TrafficClassOf(packet), hop = packet[7];
            newStart = start + IpConstants.Ipv6HeaderLength - IpConstants.Ipv4HeaderLength;
            WriteIpv4Header(buffer.Slice(newStart, IpConstants.Ipv4HeaderLength), trafficClass, payloadLength, next, hop, newSource, newDestination);
            FixTransportChecksum(buffer.Slice(start + IpConstants.Ipv6HeaderLength, payloadLength), next, old[..16], old[16..], newSource, newDestination, truncated: false);
            newLength = IpConstants.Ipv4HeaderLength + payloadLength;
            return true;
        }

        return false;
    }

    /// <summary>NAT46: translates an IPv4 packet into <paramref name="destination"/> (must not overlap).</summary>
    public static TranslateError Ipv4ToIpv6(ReadOnlySpan<byte> ipv4, Span<byte> destination, ReadOnlySpan<byte> source6,
        ReadOnlySpan<byte> destination6, out int written)
    {
        written = 0;
        if (source6.Length != 16 || destination6.Length != 16) return TranslateError.Malformed;
        if (!TryValidateIpv4(ipv4, out int ihl, out int total)) return TranslateError.Malformed;
        ipv4 = ipv4[..total];
        if ((ipv4[6] & 0x20) != 0 || (BinaryPrimitives.ReadUInt16BigEndian(ipv4[6..]) & 0x1FFF) != 0) return TranslateError.Fragment;
        if (destination.Length < IpConstants.Ipv6HeaderLength) return TranslateError.BufferTooSmall;
        ReadOnlySpan<byte> payload = ipv4[ihl..];
        byte protocol = ipv4[9];
        Span<byte> outPayload = destination[IpConstants.Ipv6HeaderLength..];
        int payloadLength;
        if (protocol == IpConstants.ProtocolIcmp)
        {
            var err = Icmp4To6(payload, outPayload, ipv4.Slice(12, 4), ipv4.Slice(16, 4), source6, destination6, out payloadLength);
            if (err != TranslateError.None) return err;
        }
        else
        {
            if (IpConstants.Ipv6HeaderLength + payload.Length > IpConstants.MaxPacketSize) return TranslateError.TooLarge;
            if (outPayload.Length < payload.Length) return TranslateError.BufferTooSmall;
            payload.CopyTo(outPayload);
            payloadLength = payload.Length;
        }
        WriteIpv6Header(destination, ipv4[1], payloadLength, protocol == IpConstants.ProtocolIcmp ? IpConstants.ProtocolIcmpV6 : protocol,
            ipv4[8], source6, destination6);
        Span<byte> p = outPayload[..payloadLength];
        if (protocol == IpConstants.ProtocolIcmp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], 0);
            ulong sum = InternetChecksum.PseudoHeader(source6, destination6, IpConstants.ProtocolIcmpV6, p.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], InternetChecksum.Finish(InternetChecksum.Add(sum, p)));
        }
        else
        {
            FixTransportChecksum(p, protocol, ipv4.Slice(12, 4), ipv4.Slice(16, 4), source6, destination6, truncated: false);
        }
        written = IpConstants.Ipv6HeaderLength + payloadLength;
        return TranslateError.None;
    }

    /// <summary>NAT64: translates an IPv6 packet into <paramref name="destination"/> (must not overlap).</summary>
    public static TranslateError Ipv6ToIpv4(ReadOnlySpan<byte> ipv6, Span<byte> destination, ReadOnlySpan<byte> source4,
        ReadOnlySpan<byte> destination4, out int written)
    {
        written = 0;
        if (source4.Length != 4 || destination4.Length != 4) return TranslateError.Malformed;
        if (ipv6.Length > IpConstants.MaxPacketSize || ipv6.Length < IpConstants.Ipv6HeaderLength || ipv6[0] >> 4 != 6) return TranslateError.Malformed;
        int total = IpConstants.Ipv6HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(ipv6[4..]);
        if (total > ipv6.Length) return TranslateError.Malformed;
        ipv6 = ipv6[..total];
        byte next = ipv6[6];
        if (IsExtensionHeader(next)) return TranslateError.ExtensionHeader;
        if (destination.Length < IpConstants.Ipv4HeaderLength) return TranslateError.BufferTooSmall;
        ReadOnlySpan<byte> payload = ipv6[IpConstants.Ipv6HeaderLength..];
        Span<byte> outPayload = destination[IpConstants.Ipv4HeaderLength..];
        int payloadLength;
        if (next == IpConstants.ProtocolIcmpV6)
        {
            var err = Icmp6To4(payload, outPayload, ipv6.Slice(8, 16), ipv6.Slice(24, 16), source4, destination4, out payloadLength);
            if (err != TranslateError.None) return err;
            BinaryPrimitives.WriteUInt16BigEndian(outPayload[2..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(outPayload[2..], InternetChecksum.Compute(outPayload[..payloadLength]));
        }
        else
        {
            if (outPayload.Length < payload.Length) return TranslateError.BufferTooSmall;
            payload.CopyTo(outPayload);
            payloadLength = payload.Length;
            FixTransportChecksum(outPayload[..payloadLength], next, ipv6.Slice(8, 16), ipv6.Slice(24, 16), source4, destination4, truncated: false);
        }
        WriteIpv4Header(destination, TrafficClassOf(ipv6), payloadLength, next == IpConstants.ProtocolIcmpV6 ? IpConstants.ProtocolIcmp : next,
            ipv6[7], source4, destination4);
        written = IpConstants.Ipv4HeaderLength + payloadLength;
        return TranslateError.None;
    }

    private static bool IsExtensionHeader(byte next) => next is 0 or 43 or 44 or 60;

    private static byte TrafficClassOf(ReadOnlySpan<byte> ipv6) => (byte)(((ipv6[0] & 0x0F) << 4) | (ipv6[1] >> 4));

    private static bool TryValidateIpv4(ReadOnlySpan<byte> ipv4, out int ihl, out int total)
    {
        ihl = total = 0;
        if (ipv4.Length > IpConstants.MaxPacketSize || ipv4.Length < IpConstants.Ipv4HeaderLength || ipv4[0] >> 4 != 4) return false;
        ihl = (ipv4[0] & 0x0F) * 4;
        total = BinaryPrimitives.ReadUInt16BigEndian(ipv4[2..]);
        return ihl >= IpConstants.Ipv4HeaderLength && ihl <= total && total <= ipv4.Length;
    }

    private static void WriteIpv6Header(Span<byte> h, byte trafficClass, int payloadLength, byte next, byte hopLimit,
        ReadOnlySpan<byte> src, ReadOnlySpan<byte> dst)
    {
        h[0] = (byte)(0x60 | (trafficClass >> 4));
        h[1] = (byte)(trafficClass << 4);
        h[2] = 0;
        h[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)payloadLength);
        h[6] = next;
        h[7] = hopLimit;
        src.CopyTo(h[8..]);
        dst.CopyTo(h[24..]);
    }

    private static void WriteIpv4Header(Span<byte> h, byte tos, int payloadLength, byte protocol, byte ttl,
        ReadOnlySpan<byte> src, ReadOnlySpan<byte> dst)
    {
        h[0] = 0x45;
        h[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(payloadLength + IpConstants.Ipv4HeaderLength));
        h[4] = 0;
        h[5] = 0;
        h[6] = 0x40; // DF
        h[7] = 0;
        h[8] = ttl;
        h[9] = protocol;
        h[10] = 0;
        h[11] = 0;
        src.CopyTo(h[12..]);
        dst.CopyTo(h[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], InternetChecksum.Compute(h[..IpConstants.Ipv4HeaderLength]));
    }

    /// <summary>Moves a TCP/UDP checksum from one pseudo-header to another (incrementally; works on truncated data).</summary>
    private static void FixTransportChecksum(Span<byte> transport, byte protocol, ReadOnlySpan<byte> oldSrc, ReadOnlySpan<byte> oldDst,
        ReadOnlySpan<byte> newSrc, ReadOnlySpan<byte> newDst, bool truncated)
    {
        int off = protocol switch { IpConstants.ProtocolUdp => 6, IpConstants.ProtocolTcp => 16, _ => -1 };
        if (off < 0 || transport.Length < off + 2) return;
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(transport[off..]);
        ushort updated;
        if (protocol == IpConstants.ProtocolUdp && old == 0)
        {
            if (truncated) return; // Cannot compute over missing bytes; an IPv4 "no checksum" stays as it is.
            ulong sum = InternetChecksum.PseudoHeader(newSrc, newDst, protocol, transport.Length);
            BinaryPrimitives.WriteUInt16BigEndian(transport[off..], 0);
            updated = InternetChecksum.Finish(InternetChecksum.Add(sum, transport));
        }
        else
        {
            ulong removed = InternetChecksum.Add(InternetChecksum.Add(0, oldSrc), oldDst);
            ulong added = InternetChecksum.Add(InternetChecksum.Add(0, newSrc), newDst);
            updated = InternetChecksum.Adjust(old, removed, added);
        }
        if (protocol == IpConstants.ProtocolUdp && updated == 0) updated = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(transport[off..], updated);
    }

    private static TranslateError Icmp4To6(ReadOnlySpan<byte> icmp, Span<byte> output, ReadOnlySpan<byte> outerSrc4, ReadOnlySpan<byte> outerDst4,
        ReadOnlySpan<byte> src6, ReadOnlySpan<byte> dst6, out int length)
    {
        length = 0;
        if (icmp.Length < IcmpMessage.HeaderLength) return TranslateError.Malformed;
        if (output.Length < IcmpMessage.HeaderLength) return TranslateError.BufferTooSmall;
        byte type = icmp[0], code = icmp[1];
        Span<byte> rest = stackalloc byte[4];
        icmp.Slice(4, 4).CopyTo(rest);
        byte newType, newCode = 0;
        bool isError = true;
        switch (type)
        {
            case IcmpMessage.V4EchoRequest: newType = IcmpMessage.V6EchoRequest; isError = false; break;
            case IcmpMessage.V4EchoReply: newType = IcmpMessage.V6EchoReply; isError = false; break;
            case IcmpMessage.V4DestinationUnreachable:
                switch (code)
                {
                    case 0 or 1 or 5 or 6 or 7 or 8 or 11 or 12: newType = IcmpMessage.V6DestinationUnreachable; newCode = 0; rest.Clear(); break;
                    case 2: newType = IcmpMessage.V6ParameterProblem; newCode = 1; rest.Clear(); rest[3] = 6; break;
                    case 3: newType = IcmpMessage.V6DestinationUnreachable; newCode = 4; rest.Clear(); break;
                    case 4:
                        {
                            newType = IcmpMessage.V6PacketTooBig;
                            int mtu = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
                            if (mtu == 0)
                            {
                                int innerTotal = icmp.Length >= 12 ? BinaryPrimitives.ReadUInt16BigEndian(icmp[10..]) : 0;
                                mtu = PlateauBelow(innerTotal);
                            }
                            BinaryPrimitives.WriteUInt32BigEndian(rest, (uint)Math.Max(IpConstants.MaxPacketSize, mtu + 20));
                            break;
                        }
                    case 9 or 10 or 13 or 15: newType = IcmpMessage.V6DestinationUnreachable; newCode = 1; rest.Clear(); break;
                    default: return TranslateError.UntranslatableIcmp;
                }
                break;
            case IcmpMessage.V4TimeExceeded: newType = IcmpMessage.V6TimeExceeded; newCode = code; rest.Clear(); break;
            case IcmpMessage.V4ParameterProblem:
                {
                    if (code is not (0 or 2)) return TranslateError.UntranslatableIcmp;
                    int pointer = rest[0] switch
                    {
                        0 => 0, 1 => 1, 2 or 3 => 4, 8 => 7, 9 => 6, >= 12 and <= 15 => 8, >= 16 and <= 19 => 24, _ => -1,
                    };
                    if (pointer < 0) return TranslateError.UntranslatableIcmp;
                    newType = IcmpMessage.V6ParameterProblem;
                    newCode = 0;
                    rest.Clear();
                    rest[3] = (byte)pointer;
                    break;
                }
            default: return TranslateError.UntranslatableIcmp;
        }
        output[0] = newType;
        output[1] = newCode;
        output[2] = 0;
        output[3] = 0;
        rest.CopyTo(output[4..]);
        ReadOnlySpan<byte> body = icmp[IcmpMessage.HeaderLength..];
        int room = Math.Min(output.Length, IpConstants.MaxPacketSize - IpConstants.Ipv6HeaderLength) - IcmpMessage.HeaderLength;
        if (!isError)
        {
            if (body.Length > room) return IpConstants.Ipv6HeaderLength + IcmpMessage.HeaderLength + body.Length > IpConstants.MaxPacketSize
                ? TranslateError.TooLarge : TranslateError.BufferTooSmall;
            body.CopyTo(output[8..]);
            length = IcmpMessage.HeaderLength + body.Length;
            return TranslateError.None;
        }
        var err = InnerIpv4ToIpv6(body, output[8..], room, outerSrc4, outerDst4, src6, dst6, out int innerLength);
        if (err != TranslateError.None) return err;
        length = IcmpMessage.HeaderLength + innerLength;
        return TranslateError.None;
    }

    private static int PlateauBelow(int totalLength)
    {
        foreach (ushort p in MtuPlateaus)
            if (p < totalLength) return p;
        return 68;
    }

    private static TranslateError InnerIpv4ToIpv6(ReadOnlySpan<byte> inner, Span<byte> output, int room, ReadOnlySpan<byte> outerSrc4,
        ReadOnlySpan<byte> outerDst4, ReadOnlySpan<byte> src6, ReadOnlySpan<byte> dst6, out int length)
    {
        length = 0;
        if (inner.Length < IpConstants.Ipv4HeaderLength || inner[0] >> 4 != 4) return TranslateError.Malformed;
        int ihl = (inner[0] & 0x0F) * 4;
        if (ihl < IpConstants.Ipv4HeaderLength || ihl > inner.Length) return TranslateError.Malformed;
        if (room < IpConstants.Ipv6HeaderLength) return TranslateError.BufferTooSmall;
        int originalTotal = BinaryPrimitives.ReadUInt16BigEndian(inner[2..]);
        int originalPayload = Math.Max(0, originalTotal - ihl);
        Span<byte> innerSrc = stackalloc byte[16];
        Span<byte> innerDst = stackalloc byte[16];
        // The packet in error was sent by the outer destination towards (usually) the outer source.
        if (inner.Slice(12, 4).SequenceEqual(outerDst4)) dst6.CopyTo(innerSrc); else EmbedIpv4(inner.Slice(12, 4), innerSrc);
        if (inner.Slice(16, 4).SequenceEqual(outerSrc4)) src6.CopyTo(innerDst); else EmbedIpv4(inner.Slice(16, 4), innerDst);
        byte protocol = inner[9];
        byte next = protocol == IpConstants.ProtocolIcmp ? IpConstants.ProtocolIcmpV6 : protocol;
        WriteIpv6Header(output, inner[1], originalPayload, next, inner[8], innerSrc, innerDst);
        ReadOnlySpan<byte> transport = inner[ihl..];
        int take = Math.Min(transport.Length, room - IpConstants.Ipv6HeaderLength);
        Span<byte> t = output.Slice(IpConstants.Ipv6HeaderLength, take);
        transport[..take].CopyTo(t);
        if (protocol == IpConstants.ProtocolIcmp)
        {
            if (t.Length >= 4 && transport.Length >= 1 && IcmpMessage.IsEchoType(transport[0], v4: true))
            {
                ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(transport);
                t[0] = transport[0] == IcmpMessage.V4EchoRequest ? IcmpMessage.V6EchoRequest : IcmpMessage.V6EchoReply;
                ushort c = BinaryPrimitives.ReadUInt16BigEndian(t[2..]);
                c = InternetChecksum.Update(c, oldWord, BinaryPrimitives.ReadUInt16BigEndian(t));
                c = InternetChecksum.Adjust(c, 0, InternetChecksum.PseudoHeader(innerSrc, innerDst, IpConstants.ProtocolIcmpV6, originalPayload));
                BinaryPrimitives.WriteUInt16BigEndian(t[2..], c);
            }
        }
        else
        {
            FixTransportChecksum(t, protocol, inner.Slice(12, 4), inner.Slice(16, 4), innerSrc, innerDst, truncated: true);
        }
        length = IpConstants.Ipv6HeaderLength + take;
        return TranslateError.None;
    }

    private static TranslateError Icmp6To4(ReadOnlySpan<byte> icmp, Span<byte> output, ReadOnlySpan<byte> outerSrc6, ReadOnlySpan<byte> outerDst6,
        ReadOnlySpan<byte> src4, ReadOnlySpan<byte> dst4, out int length)
    {
        length = 0;
        if (icmp.Length < IcmpMessage.HeaderLength) return TranslateError.Malformed;
        if (output.Length < IcmpMessage.HeaderLength) return TranslateError.BufferTooSmall;
        byte type = icmp[0], code = icmp[1];
        Span<byte> rest = stackalloc byte[4];
        icmp.Slice(4, 4).CopyTo(rest);
        byte newType, newCode = 0;
        bool isError = true;
        switch (type)
        {
            case IcmpMessage.V6EchoRequest: newType = IcmpMessage.V4EchoRequest; isError = false; break;
            case IcmpMessage.V6EchoReply: newType = IcmpMessage.V4EchoReply; isError = false; break;
            case IcmpMessage.V6DestinationUnreachable:
                newType = IcmpMessage.V4DestinationUnreachable;
                rest.Clear();
                switch (code)
                {
                    case 0 or 2 or 3: newCode = 1; break;
                    case 1: newCode = 10; break;
                    case 4: newCode = 3; break;
                    default: return TranslateError.UntranslatableIcmp;
                }
                break;
            case IcmpMessage.V6PacketTooBig:
                {
                    newType = IcmpMessage.V4DestinationUnreachable;
                    newCode = 4;
                    uint mtu = BinaryPrimitives.ReadUInt32BigEndian(rest);
                    uint mtu4 = Math.Clamp(mtu < 20 ? 0 : mtu - 20, 68u, 65535u);
                    rest.Clear();
                    BinaryPrimitives.WriteUInt16BigEndian(rest[2..], (ushort)mtu4);
                    break;
                }
            case IcmpMessage.V6TimeExceeded: newType = IcmpMessage.V4TimeExceeded; newCode = code; rest.Clear(); break;
            case IcmpMessage.V6ParameterProblem:
                {
                    if (code == 1) { newType = IcmpMessage.V4DestinationUnreachable; newCode = 2; rest.Clear(); break; }
                    if (code != 0) return TranslateError.UntranslatableIcmp;
                    uint ptr6 = BinaryPrimitives.ReadUInt32BigEndian(rest);
                    int pointer = ptr6 switch
                    {
                        0 => 0, 1 => 1, 4 or 5 => 2, 6 => 9, 7 => 8, >= 8 and <= 23 => 12, >= 24 and <= 39 => 16, _ => -1,
                    };
                    if (pointer < 0) return TranslateError.UntranslatableIcmp;
                    newType = IcmpMessage.V4ParameterProblem;
                    rest.Clear();
                    rest[0] = (byte)pointer;
                    break;
                }
            default: return TranslateError.UntranslatableIcmp;
        }
        output[0] = newType;
        output[1] = newCode;
        output[2] = 0;
        output[3] = 0;
        rest.CopyTo(output[4..]);
        ReadOnlySpan<byte> body = icmp[IcmpMessage.HeaderLength..];
        int room = output.Length - IcmpMessage.HeaderLength;
        if (!isError)
        {
            if (body.Length > room) return TranslateError.BufferTooSmall;
            body.CopyTo(output[8..]);
            length = IcmpMessage.HeaderLength + body.Length;
            return TranslateError.None;
        }
        var err = InnerIpv6ToIpv4(body, output[8..], outerSrc6, outerDst6, src4, dst4, out int innerLength);
        if (err != TranslateError.None) return err;
        length = IcmpMessage.HeaderLength + innerLength;
        return TranslateError.None;
    }

    private static TranslateError InnerIpv6ToIpv4(ReadOnlySpan<byte> inner, Span<byte> output, ReadOnlySpan<byte> outerSrc6,
        ReadOnlySpan<byte> outerDst6, ReadOnlySpan<byte> src4, ReadOnlySpan<byte> dst4, out int length)
    {
        length = 0;
        if (inner.Length < IpConstants.Ipv6HeaderLength || inner[0] >> 4 != 6) return TranslateError.Malformed;
        byte next = inner[6];
        if (IsExtensionHeader(next)) return TranslateError.ExtensionHeader;
        int originalPayload = BinaryPrimitives.ReadUInt16BigEndian(inner[4..]);
        Span<byte> innerSrc = stackalloc byte[4];
        Span<byte> innerDst = stackalloc byte[4];
        if (inner.Slice(8, 16).SequenceEqual(outerDst6)) dst4.CopyTo(innerSrc);
        else if (!TryExtractIpv4(inner.Slice(8, 16), innerSrc)) return TranslateError.UntranslatableAddress;
        if (inner.Slice(24, 16).SequenceEqual(outerSrc6)) src4.CopyTo(innerDst);
        else if (!TryExtractIpv4(inner.Slice(24, 16), innerDst)) return TranslateError.UntranslatableAddress;
        ReadOnlySpan<byte> transport = inner[IpConstants.Ipv6HeaderLength..];
        if (output.Length < IpConstants.Ipv4HeaderLength + transport.Length) return TranslateError.BufferTooSmall;
        WriteIpv4Header(output, TrafficClassOf(inner), originalPayload, next == IpConstants.ProtocolIcmpV6 ? IpConstants.ProtocolIcmp : next,
            inner[7], innerSrc, innerDst);
        Span<byte> t = output.Slice(IpConstants.Ipv4HeaderLength, transport.Length);
        transport.CopyTo(t);
        if (next == IpConstants.ProtocolIcmpV6)
        {
            if (t.Length >= 4 && IcmpMessage.IsEchoType(transport[0], v4: false))
            {
                ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(transport);
                t[0] = transport[0] == IcmpMessage.V6EchoRequest ? IcmpMessage.V4EchoRequest : IcmpMessage.V4EchoReply;
                ushort c = BinaryPrimitives.ReadUInt16BigEndian(t[2..]);
                c = InternetChecksum.Update(c, oldWord, BinaryPrimitives.ReadUInt16BigEndian(t));
                c = InternetChecksum.Adjust(c, InternetChecksum.PseudoHeader(inner.Slice(8, 16), inner.Slice(24, 16), IpConstants.ProtocolIcmpV6, originalPayload), 0);
                BinaryPrimitives.WriteUInt16BigEndian(t[2..], c);
            }
        }
        else
        {
            FixTransportChecksum(t, next, inner.Slice(8, 16), inner.Slice(24, 16), innerSrc, innerDst, truncated: true);
        }
        length = IpConstants.Ipv4HeaderLength + transport.Length;
        return TranslateError.None;
    }
}
