using System.Buffers.Binary;
using System.Net;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class TranslationTests
{
    private static readonly IPAddress A4 = IPAddress.Parse("198.18.5.1"), B4 = IPAddress.Parse("198.18.5.2");
    private static readonly IPAddress A6 = IPAddress.Parse("2001:2::1"), B6 = IPAddress.Parse("2001:2::2");

    private static byte[] Udp4(byte tos)
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Udp(b, A4, B4, 1000, 53, "query"u8);
        b[1] = tos;
        IpPacket.TryParse(b.AsSpan(0, n), out var p);
        p.RecomputeChecksums();
        return b.Take(n).ToArray();
    }

    [Fact]
    public void Nat46_keeps_the_ecn_bits_fixing_upstream_dscp_only_quirk()
    {
        byte[] v6 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(Udp4(0xB9), v6, A6.GetAddressBytes(), B6.GetAddressBytes(), out int n));
        IpPacket.TryParse(v6.AsSpan(0, n), out var p);
        Assert.Equal(0xB9, p.TrafficClass); // DSCP 46 (EF) + ECN 01; upstream would write 46 and drop ECN
    }

    [Fact]
    public void Nat64_accepts_traffic_class_above_63_fixing_upstream_failure()
    {
        byte[] v6 = new byte[1336];
        IpTranslator.Ipv4ToIpv6(Udp4(0xB8), v6, A6.GetAddressBytes(), B6.GetAddressBytes(), out int n);
        byte[] v4 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv6ToIpv4(v6.AsSpan(0, n), v4, A4.GetAddressBytes(), B4.GetAddressBytes(), out int n4));
        IpPacket.TryParse(v4.AsSpan(0, n4), out var p);
        Assert.Equal(0xB8, p.TrafficClass);
    }

    [Fact]
    public void Icmp_error_inner_packet_is_translated_fixing_upstream_untranslated_payload()
    {
        byte[] inner = Udp4(0);
        byte[] err = new byte[1336];
        int n = PacketBuilder.Icmp(err, B4, A4, 3, 3, new byte[4], inner.AsSpan(0, 28));
        byte[] v6 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(err.AsSpan(0, n), v6, B6.GetAddressBytes(), A6.GetAddressBytes(), out int n6));
        IpPacket.TryParse(v6.AsSpan(0, n6), out var p);
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((1, 4), (icmp.Type, icmp.Code)); // port unreachable
        Assert.Equal(0x60, icmp.Body[0] & 0xF0);
        Assert.Equal(A6.GetAddressBytes(), icmp.Body.Slice(8, 16).ToArray());
        Assert.Equal(B6.GetAddressBytes(), icmp.Body.Slice(24, 16).ToArray());
        Assert.Equal(IpConstants.ProtocolUdp, icmp.Body[6]);
        Assert.True(p.ChecksumsValid());
    }

    [Fact]
    public void Packet_too_big_translates_from_ipv6_to_ipv4_fixing_upstream_drop()
    {
        byte[] inner = new byte[1336];
        int ni = PacketBuilder.Udp(inner, B6, A6, 1, 2, new byte[100]);
        byte[] err = new byte[1336];
        byte[] mtu = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mtu, 1400);
        int n = PacketBuilder.Icmp(err, A6, B6, 2, 0, mtu, inner.AsSpan(0, ni));
        byte[] v4 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv6ToIpv4(err.AsSpan(0, n), v4, A4.GetAddressBytes(), B4.GetAddressBytes(), out int n4));
        IpPacket.TryParse(v4.AsSpan(0, n4), out var p);
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((3, 4), (icmp.Type, icmp.Code));
        Assert.Equal(1380, BinaryPrimitives.ReadUInt16BigEndian(icmp.RestOfHeader[2..]));
    }

    [Fact]
    public void Fragmentation_needed_without_mtu_uses_the_rfc1191_plateau()
    {
        byte[] inner = new byte[1336];
        int ni = PacketBuilder.Udp(inner, A4, B4, 1, 2, new byte[1100]);
        byte[] err = new byte[1336];
        int n = PacketBuilder.Icmp(err, B4, A4, 3, 4, new byte[4], inner.AsSpan(0, 28));
        byte[] v6 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(err.AsSpan(0, n), v6, B6.GetAddressBytes(), A6.GetAddressBytes(), out int n6));
        IpPacket.TryParse(v6.AsSpan(0, n6), out var p);
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((2, 0), (icmp.Type, icmp.Code));
        Assert.Equal(1280u, BinaryPrimitives.ReadUInt32BigEndian(icmp.RestOfHeader)); // plateau 1006 + 20, raised to the IPv6 minimum
    }

    [Fact]
    public void Extension_headers_and_unknown_icmp_are_refused()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Raw(b, A6, B6, 44, new byte[16]);
        Assert.Equal(TranslateError.ExtensionHeader, IpTranslator.Ipv6ToIpv4(b.AsSpan(0, n), new byte[1336], A4.GetAddressBytes(), B4.GetAddressBytes(), out _));
        n = PacketBuilder.Icmp(b, A6, B6, 135, 0, new byte[4], new byte[16]); // neighbour solicitation
        Assert.Equal(TranslateError.UntranslatableIcmp, IpTranslator.Ipv6ToIpv4(b.AsSpan(0, n), new byte[1336], A4.GetAddressBytes(), B4.GetAddressBytes(), out _));
        n = PacketBuilder.Icmp(b, A4, B4, 13, 0, new byte[4], new byte[12]); // timestamp
        Assert.Equal(TranslateError.UntranslatableIcmp, IpTranslator.Ipv4ToIpv6(b.AsSpan(0, n), new byte[1336], A6.GetAddressBytes(), B6.GetAddressBytes(), out _));
    }

    [Fact]
    public void A_1280_byte_ipv4_packet_is_too_large_for_ipv6_and_the_sender_can_be_told_so()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Udp(b, A4, B4, 1, 2, new byte[1280 - 28]);
        Assert.Equal(TranslateError.TooLarge, IpTranslator.Ipv4ToIpv6(b.AsSpan(0, n), new byte[1336], A6.GetAddressBytes(), B6.GetAddressBytes(), out _));
        byte[] e = new byte[1336];
        int ne = IcmpErrorBuilder.PacketTooBig(b.AsSpan(0, n), e, 1260);
        IpPacket.TryParse(e.AsSpan(0, ne), out var p);
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.Equal((3, 4), (icmp.Type, icmp.Code));
        Assert.Equal(1260, BinaryPrimitives.ReadUInt16BigEndian(icmp.RestOfHeader[2..]));
    }

    [Fact]
    public void Well_known_prefix_embeds_and_extracts()
    {
        byte[] v6 = new byte[16];
        IpTranslator.EmbedIpv4(A4.GetAddressBytes(), v6);
        Assert.Equal(IPAddress.Parse("64:ff9b::198.18.5.1"), new IPAddress(v6));
        byte[] v4 = new byte[4];
        Assert.True(IpTranslator.TryExtractIpv4(v6, v4));
        Assert.Equal(A4, new IPAddress(v4));
        Assert.False(IpTranslator.TryExtractIpv4(A6.GetAddressBytes(), v4));
    }
}
