using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Tun.Packets;

/// <summary>
/// A validated, mutable view over one IPv4 or IPv6 packet (at most 1280 bytes). Parsing never throws; header
/// rewrites keep every checksum valid with RFC 1624 incremental updates.
/// </summary>
/// <remarks>
/// Like upstream, IPv6 extension headers are not walked: <see cref="Protocol"/> is the fixed header's next header,
/// so a packet with extension headers has no transport view. Checksums are not verified by parsing.
/// </remarks>
public readonly ref struct IpPacket
{
    private readonly Span<byte> _data;

    private IpPacket(Span<byte> data) => _data = data;

    /// <summary>Validates <paramref name="data"/> and returns a view trimmed to the packet's own length.</summary>
    public static IpParseError TryParse(Span<byte> data, out IpPacket packet)
    {
        packet = default;
        if (data.Length > IpConstants.MaxPacketSize) return IpParseError.TooLarge;
        if (data.Length < 1) return IpParseError.TooShort;
        int version = data[0] >> 4;
        if (version == 4)
        {
            if (data.Length < IpConstants.Ipv4HeaderLength) return IpParseError.TooShort;
            int ihl = (data[0] & 0x0F) * 4;
            if (ihl < IpConstants.Ipv4HeaderLength || ihl > data.Length) return IpParseError.BadHeaderLength;
            int total = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
            if (total < ihl || total > data.Length) return IpParseError.BadLength;
            packet = new IpPacket(data[..total]);
            return IpParseError.None;
        }
        if (version == 6)
        {
            if (data.Length < IpConstants.Ipv6HeaderLength) return IpParseError.TooShort;
            int total = IpConstants.Ipv6HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
            if (total > data.Length) return IpParseError.BadLength;
            packet = new IpPacket(data[..total]);
            return IpParseError.None;
        }
        return IpParseError.InvalidVersion;
    }

    /// <summary>Parses or returns false (never throws).</summary>
    public static bool TryParse(Span<byte> data, out IpPacket packet, out IpParseError error)
    {
        error = TryParse(data, out packet);
        return error == IpParseError.None;
    }

    /// <summary>The packet's bytes (exactly its length).</summary>
    public Span<byte> Bytes => _data;
    /// <summary>True if this view holds a parsed packet.</summary>
    public bool IsValid => !_data.IsEmpty;
    /// <summary>4 or 6.</summary>
    public int Version => _data[0] >> 4;
    /// <summary>True for IPv4.</summary>
    public bool IsIpv4 => Version == 4;
    /// <summary>Total packet length.</summary>
    public int Length => _data.Length;
    /// <summary>IPv4: IHL×4; IPv6: 40.</summary>
    public int HeaderLength => IsIpv4 ? (_data[0] & 0x0F) * 4 : IpConstants.Ipv6HeaderLength;
    /// <summary>IPv4 protocol / IPv6 next header of the fixed header.</summary>
    public byte Protocol => IsIpv4 ? _data[9] : _data[6];
    /// <summary>The bytes after the IP header.</summary>
    public Span<byte> Payload => _data[HeaderLength..];
    /// <summary>Source address bytes (4 or 16).</summary>
    public Span<byte> SourceBytes => IsIpv4 ? _data.Slice(12, 4) : _data.Slice(8, 16);
    /// <summary>Destination address bytes (4 or 16).</summary>
    public Span<byte> DestinationBytes => IsIpv4 ? _data.Slice(16, 4) : _data.Slice(24, 16);
    /// <summary>Source address (allocates).</summary>
    public IPAddress Source => new(SourceBytes);
    /// <summary>Destination address (allocates).</summary>
    public IPAddress Destination => new(DestinationBytes);
    /// <summary>Address family.</summary>
    public AddressFamily AddressFamily => IsIpv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
    /// <summary>IPv4 TOS byte (DSCP+ECN) / IPv6 traffic class.</summary>
    public byte TrafficClass => IsIpv4 ? _data[1] : (byte)(((_data[0] & 0x0F) << 4) | (_data[1] >> 4));
    /// <summary>IPv4 TTL / IPv6 hop limit.</summary>
    public byte HopLimit => IsIpv4 ? _data[8] : _data[7];
    /// <summary>IPv6 flow label (0 for IPv4).</summary>
    public int FlowLabel => IsIpv4 ? 0 : ((_data[1] & 0x0F) << 16) | (_data[2] << 8) | _data[3];
    /// <summary>IPv4 identification (0 for IPv6).</summary>
    public ushort Identification => IsIpv4 ? BinaryPrimitives.ReadUInt16BigEndian(_data[4..]) : (ushort)0;
    /// <summary>IPv4 DF flag.</summary>
    public bool DontFragment => IsIpv4 && (_data[6] & 0x40) != 0;
    /// <summary>IPv4 MF flag or non-zero fragment offset: a fragment whose transport header may be absent.</summary>
    public bool IsFragment => IsIpv4 && ((_data[6] & 0x20) != 0 || (BinaryPrimitives.ReadUInt16BigEndian(_data[6..]) & 0x1FFF) != 0);
    /// <summary>IPv4 header checksum (0 for IPv6).</summary>
    public ushort HeaderChecksum => IsIpv4 ? BinaryPrimitives.ReadUInt16BigEndian(_data[10..]) : (ushort)0;

    /// <summary>True for Firezone's p2p control packet (IPv6, next header 0xFF, both addresses <c>::</c>).</summary>
    public bool IsFzP2pControl => !IsIpv4 && _data[6] == IpConstants.ProtocolFzP2pControl
        && _data.Slice(8, 32).IndexOfAnyExcept((byte)0) < 0;

    /// <summary>The UDP view, if this is a (non-fragmented) UDP packet with a well-formed header.</summary>
    public bool TryGetUdp(out UdpDatagram udp)
    {
        udp = default;
        if (Protocol != IpConstants.ProtocolUdp || IsFragment) return false;
        return UdpDatagram.TryParse(Payload, out udp);
    }

    /// <summary>The TCP view, if this is a (non-fragmented) TCP packet with a well-formed header.</summary>
    public bool TryGetTcp(out TcpSegment tcp)
    {
        tcp = default;
        if (Protocol != IpConstants.ProtocolTcp || IsFragment) return false;
        return TcpSegment.TryParse(Payload, out tcp);
    }

    /// <summary>The ICMPv4 (on IPv4) or ICMPv6 (on IPv6) view, if present and at least 8 bytes.</summary>
    public bool TryGetIcmp(out IcmpMessage icmp)
    {
        icmp = default;
        byte expected = IsIpv4 ? IpConstants.ProtocolIcmp : IpConstants.ProtocolIcmpV6;
        if (Protocol != expected || IsFragment) return false;
        return IcmpMessage.TryParse(Payload, IsIpv4, out icmp);
    }

    /// <summary>Offset of the transport checksum inside the payload, or -1 if the transport has none we maintain.</summary>
    /// <summary>IPv4 fragment offset (in 8-byte units; 0 for IPv6 and for first fragments).</summary>
    public int FragmentOffset => IsIpv4 ? BinaryPrimitives.ReadUInt16BigEndian(_data[6..]) & 0x1FFF : 0;

    /// <summary>
    /// Offset of the transport checksum in the payload, or -1. A first fragment (offset 0, MF set) carries the transport
    /// header, so incremental rewrites update it (the checksum covers the reassembled datagram), while a computation
    /// from scratch is impossible on it.
    /// </summary>
    private int TransportChecksumOffset(bool incremental = false)
    {
        if (FragmentOffset != 0 || (!incremental && IsFragment)) return -1;
        int available = Payload.Length;
        return Protocol switch
        {
            IpConstants.ProtocolUdp when available >= UdpDatagram.HeaderLength => 6,
            IpConstants.ProtocolTcp when available >= TcpSegment.MinHeaderLength => 16,
            IpConstants.ProtocolIcmp when IsIpv4 && available >= 4 => 2,
            IpConstants.ProtocolIcmpV6 when !IsIpv4 && available >= 4 => 2,
            _ => -1,
        };
    }

    private bool TransportUsesPseudoHeader => Protocol != IpConstants.ProtocolIcmp || !IsIpv4;

    /// <summary>Sets the source address (same family) and updates IPv4-header and transport checksums incrementally.</summary>
    public void SetSource(ReadOnlySpan<byte> address) => RewriteAddress(SourceBytes, address);

    /// <summary>Sets the destination address (same family) and updates checksums incrementally.</summary>
    public void SetDestination(ReadOnlySpan<byte> address) => RewriteAddress(DestinationBytes, address);

    /// <summary>Sets the source address from an <see cref="IPAddress"/> of the same family.</summary>
    public void SetSource(IPAddress address) => SetSource(AddressBytes(address, stackalloc byte[16]));

    /// <summary>Sets the destination address from an <see cref="IPAddress"/> of the same family.</summary>
    public void SetDestination(IPAddress address) => SetDestination(AddressBytes(address, stackalloc byte[16]));

    internal static ReadOnlySpan<byte> AddressBytes(IPAddress address, Span<byte> scratch)
    {
        address.TryWriteBytes(scratch, out int n);
        return scratch[..n];
    }

    private void RewriteAddress(Span<byte> field, ReadOnlySpan<byte> address)
    {
        if (address.Length != field.Length)
            throw new ArgumentException("Address family does not match the packet's.", nameof(address));
        if (IsIpv4) SetUInt16(10, InternetChecksum.Update(HeaderChecksum, field, address));
        int off = TransportUsesPseudoHeader ? TransportChecksumOffset(incremental: true) : -1;
        if (off >= 0) UpdateTransportChecksum(off, field, address);
        address.CopyTo(field);
    }

    private void UpdateTransportChecksum(int off, ReadOnlySpan<byte> oldBytes, ReadOnlySpan<byte> newBytes)
    {
        Span<byte> p = Payload;
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(p[off..]);
        bool udp = Protocol == IpConstants.ProtocolUdp;
        if (udp && old == 0 && IsIpv4) return; // IPv4 UDP without checksum stays without one.
        ushort updated = InternetChecksum.Update(old, oldBytes, newBytes);
        if (udp && updated == 0) updated = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(p[off..], updated);
    }

    /// <summary>TCP/UDP source port, or the ICMP echo identifier (like upstream's "source protocol"); false if neither.</summary>
    public bool TrySetSourcePort(ushort port) => RewritePortOrId(port, source: true);

    /// <summary>TCP/UDP destination port, or the ICMP echo identifier; false if neither.</summary>
    public bool TrySetDestinationPort(ushort port) => RewritePortOrId(port, source: false);

    private bool RewritePortOrId(ushort value, bool source)
    {
        if (FragmentOffset != 0) return false; // later fragments carry no transport header
        Span<byte> p = Payload;
        int field;
        switch (Protocol)
        {
            case IpConstants.ProtocolUdp when p.Length >= UdpDatagram.HeaderLength:
            case IpConstants.ProtocolTcp when p.Length >= TcpSegment.MinHeaderLength:
                field = source ? 0 : 2;
                break;
            case IpConstants.ProtocolIcmp when IsIpv4 && p.Length >= 8 && IcmpMessage.IsEchoType(p[0], true):
            case IpConstants.ProtocolIcmpV6 when !IsIpv4 && p.Length >= 8 && IcmpMessage.IsEchoType(p[0], false):
                field = 4;
                break;
            default:
                return false;
        }
        Span<byte> newBytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(newBytes, value);
        UpdateTransportChecksum(TransportChecksumOffset(incremental: true), p.Slice(field, 2), newBytes);
        newBytes.CopyTo(p.Slice(field, 2));
        return true;
    }

    /// <summary>Sets the ICMP echo sequence number with an incremental checksum update; false if not an echo.</summary>
    public bool TrySetIcmpSequence(ushort sequence)
    {
        if (!TryGetIcmp(out var icmp) || !icmp.IsEcho) return false;
        Span<byte> p = Payload;
        Span<byte> newBytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(newBytes, sequence);
        UpdateTransportChecksum(2, p.Slice(6, 2), newBytes);
        newBytes.CopyTo(p.Slice(6, 2));
        return true;
    }

    /// <summary>Sets TTL / hop limit (IPv4 header checksum updated incrementally).</summary>
    public void SetHopLimit(byte hopLimit)
    {
        if (IsIpv4)
        {
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(_data[8..]);
            ushort newWord = (ushort)((hopLimit << 8) | _data[9]);
            SetUInt16(10, InternetChecksum.Update(HeaderChecksum, oldWord, newWord));
            _data[8] = hopLimit;
        }
        else
        {
            _data[7] = hopLimit;
        }
    }

    /// <summary>Decrements TTL / hop limit like a router; false if it was already 0 or 1 (then unchanged).</summary>
    public bool TryDecrementHopLimit()
    {
        byte h = HopLimit;
        if (h <= 1) return false;
        SetHopLimit((byte)(h - 1));
        return true;
    }

    private void SetUInt16(int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(_data[offset..], value);

    /// <summary>The transport checksum computed from scratch over the current bytes (its own field taken as zero).</summary>
    public bool TryComputeTransportChecksum(out ushort checksum)
    {
        checksum = 0;
        int off = TransportChecksumOffset();
        if (off < 0) return false;
        Span<byte> p = Payload;
        ulong sum = TransportUsesPseudoHeader ? InternetChecksum.PseudoHeader(SourceBytes, DestinationBytes, Protocol, p.Length) : 0;
        sum = InternetChecksum.Add(sum, p[..off]);
        sum = InternetChecksum.Add(sum, p[(off + 2)..]);
        checksum = InternetChecksum.Finish(sum);
        if (Protocol == IpConstants.ProtocolUdp && checksum == 0) checksum = 0xFFFF;
        return true;
    }

    /// <summary>The stored transport checksum, if the transport has one we maintain.</summary>
    public bool TryGetTransportChecksum(out ushort checksum)
    {
        checksum = 0;
        int off = TransportChecksumOffset();
        if (off < 0) return false;
        checksum = BinaryPrimitives.ReadUInt16BigEndian(Payload[off..]);
        return true;
    }

    /// <summary>The IPv4 header checksum computed from scratch (0 for IPv6).</summary>
    public ushort ComputeHeaderChecksum()
    {
        if (!IsIpv4) return 0;
        Span<byte> h = _data[..HeaderLength];
        ulong sum = InternetChecksum.Add(0, h[..10]);
        sum = InternetChecksum.Add(sum, h[12..]);
        return InternetChecksum.Finish(sum);
    }

    /// <summary>Recomputes every checksum from scratch: transport (UDP 0 becomes a real checksum), then the IPv4 header.</summary>
    public void RecomputeChecksums()
    {
        int off = TransportChecksumOffset();
        if (off >= 0)
        {
            TryComputeTransportChecksum(out ushort c);
            BinaryPrimitives.WriteUInt16BigEndian(Payload[off..], c);
        }
        if (IsIpv4) SetUInt16(10, ComputeHeaderChecksum());
    }

    /// <summary>
    /// True if the IPv4 header checksum and the transport checksum (where present; an IPv4 UDP checksum of 0 means
    /// "none") verify.
    /// </summary>
    public bool ChecksumsValid()
    {
        if (IsIpv4 && !InternetChecksum.Verifies(InternetChecksum.Add(0, _data[..HeaderLength]))) return false;
        int off = TransportChecksumOffset();
        if (off < 0) return true;
        Span<byte> p = Payload;
        if (Protocol == IpConstants.ProtocolUdp && IsIpv4 && BinaryPrimitives.ReadUInt16BigEndian(p[off..]) == 0) return true;
        ulong sum = TransportUsesPseudoHeader ? InternetChecksum.PseudoHeader(SourceBytes, DestinationBytes, Protocol, p.Length) : 0;
        return InternetChecksum.Verifies(InternetChecksum.Add(sum, p));
    }

    /// <summary>Short description: "UDP 1.2.3.4:5 -> 6.7.8.9:10" etc. (allocates; for logs and test messages).</summary>
    public override string ToString()
    {
        if (!IsValid) return "(invalid)";
        string proto = Protocol switch
        {
            IpConstants.ProtocolUdp => "UDP",
            IpConstants.ProtocolTcp => "TCP",
            IpConstants.ProtocolIcmp => "ICMP",
            IpConstants.ProtocolIcmpV6 => "ICMPv6",
            _ => $"proto {Protocol}",
        };
        string ports = "";
        if (TryGetUdp(out var u)) ports = $" {u.SourcePort}->{u.DestinationPort}";
        else if (TryGetTcp(out var t)) ports = $" {t.SourcePort}->{t.DestinationPort}{((t.Flags & TcpSegment.FlagSyn) != 0 ? " syn" : "")}";
        else if (TryGetIcmp(out var i)) ports = $" type {i.Type} code {i.Code}";
        return $"{proto} {Source} -> {Destination}{ports} len {Length}";
    }
}
