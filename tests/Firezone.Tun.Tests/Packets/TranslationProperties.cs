using System.Buffers.Binary;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class TranslationProperties
{
    // A packet of either family whose translation fits 1280 bytes, with random traffic class and hop limit.
    private static Gen<(PacketSpec Spec, byte Tc, byte Hop)> Translatable(bool v4) =>
        from spec in PacketGen.Spec(v4)
        from tc in PacketGen.Byte
        from hop in PacketGen.Byte
        select (spec with { Payload = spec.Payload.Take(1280 - 40 - 20 - 20).ToArray() }, tc, hop);

    private static byte[] Materialize(PacketSpec spec, byte tc, byte hop)
    {
        byte[] buffer = new byte[1280];
        int n = spec.Build(buffer);
        var bytes = buffer.AsSpan(0, n).ToArray();
        if (spec.V4) { bytes[1] = tc; bytes[8] = hop; }
        else { bytes[0] = (byte)(0x60 | (tc >> 4)); bytes[1] = (byte)(tc << 4); bytes[7] = hop; }
        IpPacket.TryParse(bytes, out var p);
        p.RecomputeChecksums();
        return bytes;
    }

    [Property]
    public Property Nat64_after_Nat46_gives_back_the_original_ipv4_packet() => Prop.ForAll(
        (from t in Translatable(true) from s6 in PacketGen.V6Address from d6 in PacketGen.V6Address select (t, s6, d6)).ToArbitrary(), c =>
    {
        var ((spec, tc, hop), s6, d6) = c;
        byte[] original = Materialize(spec, tc, hop);
        byte[] v6 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(original, v6, s6.GetAddressBytes(), d6.GetAddressBytes(), out int n6));
        Assert.Equal(original.Length + 20, n6);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(v6.AsSpan(0, n6), out var p6));
        Assert.Equal(tc, p6.TrafficClass); // whole TOS byte, ECN included
        Assert.Equal(hop, p6.HopLimit);
        Assert.Equal(s6, p6.Source);
        Assert.Equal(d6, p6.Destination);
        Assert.True(p6.ChecksumsValid(), "translated IPv6 packet has a bad checksum");
        Assert.True(p6.TryGetTransportChecksum(out ushort stored) && p6.TryComputeTransportChecksum(out ushort scratch) && stored == scratch);
        byte[] back = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv6ToIpv4(v6.AsSpan(0, n6), back, spec.Src.GetAddressBytes(), spec.Dst.GetAddressBytes(), out int n4));
        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(back, 0, n4));
    });

    [Property]
    public Property Nat46_after_Nat64_gives_back_the_original_ipv6_packet() => Prop.ForAll(
        (from t in Translatable(false) from s4 in PacketGen.V4Address from d4 in PacketGen.V4Address select (t, s4, d4)).ToArbitrary(), c =>
    {
        var ((spec, tc, hop), s4, d4) = c;
        byte[] original = Materialize(spec, tc, hop);
        byte[] v4 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv6ToIpv4(original, v4, s4.GetAddressBytes(), d4.GetAddressBytes(), out int n4));
        Assert.Equal(IpParseError.None, IpPacket.TryParse(v4.AsSpan(0, n4), out var p4));
        Assert.Equal(tc, p4.TrafficClass); // any traffic class, also > 63
        Assert.True(p4.DontFragment);
        Assert.True(p4.ChecksumsValid(), "translated IPv4 packet has a bad checksum");
        byte[] back = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(v4.AsSpan(0, n4), back, spec.Src.GetAddressBytes(), spec.Dst.GetAddressBytes(), out int n6));
        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(back, 0, n6));
    });

    [Property]
    public Property In_place_translation_uses_the_20_byte_headroom_and_round_trips() => Prop.ForAll(
        (from t in Translatable(true) from s6 in PacketGen.V6Address from d6 in PacketGen.V6Address select (t, s6, d6)).ToArbitrary(), c =>
    {
        var ((spec, tc, hop), s6, d6) = c;
        byte[] original = Materialize(spec, tc, hop);
        byte[] buffer = new byte[IpConstants.BufferSize];
        original.CopyTo(buffer, IpConstants.Nat46Headroom);
        Assert.Equal(TranslateError.None, IpTranslator.TranslateInPlace(buffer, 20, original.Length, s6.GetAddressBytes(), d6.GetAddressBytes(), out int start6, out int len6));
        Assert.Equal(0, start6);
        Assert.Equal(TranslateError.None, IpTranslator.TranslateInPlace(buffer, start6, len6, spec.Src.GetAddressBytes(), spec.Dst.GetAddressBytes(), out int start4, out int len4));
        Assert.Equal(20, start4);
        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(buffer, start4, len4));
    });

    [Property]
    public Property In_place_translation_equals_the_copying_translation_in_both_directions() => Prop.ForAll(
        (from v4 in Gen.Elements(true, false)
         from t in Translatable(v4)
         from s6 in PacketGen.V6Address
         from d6 in PacketGen.V6Address
         from s4 in PacketGen.V4Address
         from d4 in PacketGen.V4Address
         from headroom in Gen.Elements(0, 8, 20, 24)
         select (v4, t, s6, d6, s4, d4, headroom)).ToArbitrary(), c =>
    {
        var (v4, (spec, tc, hop), s6, d6, s4, d4, headroom) = c;
        byte[] original = Materialize(spec, tc, hop);
        byte[] src = (v4 ? s6 : s4).GetAddressBytes(), dst = (v4 ? d6 : d4).GetAddressBytes();
        byte[] copied = new byte[1336];
        var expected = v4 ? IpTranslator.Ipv4ToIpv6(original, copied, src, dst, out int n) : IpTranslator.Ipv6ToIpv4(original, copied, src, dst, out n);
        byte[] buffer = new byte[IpConstants.BufferSize];
        original.CopyTo(buffer, headroom);
        var actual = IpTranslator.TranslateInPlace(buffer, headroom, original.Length, src, dst, out int start, out int length);
        Assert.Equal(expected, actual);
        if (actual == TranslateError.None)
        {
            Assert.Equal(Convert.ToHexString(copied, 0, n), Convert.ToHexString(buffer, start, length));
            Assert.Equal(v4 ? Math.Max(0, headroom + (original[0] & 0x0F) * 4 - 40) : headroom + 20, start);
        }
    });

    // ICMPv4 errors (type, code, rest of header) that have an exact inverse through ICMPv6.
    private static Gen<(byte Type, byte Code, uint Hdr)> RoundTrippableV4Errors => Gen.OneOf(
        Gen.Elements<(byte, byte, uint)>((3, 1, 0), (3, 3, 0), (3, 10, 0), (3, 2, 0), (11, 0, 0), (11, 1, 0)),
        Gen.Choose(1260, 65535).Select(mtu => ((byte)3, (byte)4, (uint)mtu)),
        Gen.Elements(0, 1, 2, 8, 9, 12, 16).Select(ptr => ((byte)12, (byte)0, (uint)ptr << 24)));

    private static Gen<(byte Type, byte Code, uint Hdr)> RoundTrippableV6Errors => Gen.OneOf(
        Gen.Elements<(byte, byte, uint)>((1, 0, 0), (1, 1, 0), (1, 4, 0), (3, 0, 0), (3, 1, 0), (4, 1, 6)),
        Gen.Choose(1280, 65555).Select(mtu => ((byte)2, (byte)0, (uint)mtu)),
        Gen.Elements(0u, 1u, 4u, 6u, 7u, 8u, 24u).Select(ptr => ((byte)4, (byte)0, ptr)));

    [Property]
    public Property Icmpv4_errors_translate_with_their_inner_packet_and_round_trip() => Prop.ForAll(
        (from err in RoundTrippableV4Errors
         from inner in Translatable(true)
         from cut in Gen.Choose(28, 1100)
         from routerSrc in Gen.Elements(false, true)
         from router in PacketGen.V4Address
         from s6 in PacketGen.V6Address
         from d6 in PacketGen.V6Address
         select (err, inner, cut, routerSrc, router, s6, d6)).ToArbitrary(), c =>
    {
        var (err, (spec, tc, hop), cut, routerSrc, router, s6, d6) = c;
        byte[] offending = Materialize(spec, tc, hop);
        offending = offending.Take(Math.Min(cut, offending.Length)).ToArray();
        // The error goes back to the offending packet's sender; from its destination or from a router on the way.
        IPAddress errSrc = routerSrc ? router : spec.Dst;
        byte[] rest = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(rest, err.Hdr);
        byte[] original = new byte[1280];
        int n = PacketBuilder.Icmp(original, errSrc, spec.Src, err.Type, err.Code, rest, offending);
        original = original.Take(n).ToArray();

        byte[] v6 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(original, v6, s6.GetAddressBytes(), d6.GetAddressBytes(), out int n6));
        Assert.Equal(n + 40, n6); // outer and inner header both grow by 20
        IpPacket.TryParse(v6.AsSpan(0, n6), out var p6);
        Assert.True(p6.ChecksumsValid());
        Assert.True(p6.TryGetIcmp(out var icmp6));
        Assert.True(icmp6.IsError);
        Assert.Equal(6, icmp6.Body[0] >> 4); // the quoted packet is IPv6 now
        Assert.Equal(d6.GetAddressBytes(), icmp6.Body.Slice(8, 16).ToArray()); // inner source = the translated receiver

        byte[] back = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv6ToIpv4(v6.AsSpan(0, n6), back, errSrc.GetAddressBytes(), spec.Src.GetAddressBytes(), out int n4));
        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(back, 0, n4));
    });

    [Property]
    public Property Icmpv6_errors_translate_with_their_inner_packet_and_round_trip() => Prop.ForAll(
        (from err in RoundTrippableV6Errors
         from inner in Translatable(false)
         from cut in Gen.Choose(48, 1100)
         from s4 in PacketGen.V4Address
         from d4 in PacketGen.V4Address
         select (err, inner, cut, s4, d4)).ToArbitrary(), c =>
    {
        var (err, (spec, tc, hop), cut, s4, d4) = c;
        byte[] offending = Materialize(spec, tc, hop);
        offending = offending.Take(Math.Min(cut, offending.Length)).ToArray();
        byte[] rest = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(rest, err.Hdr);
        byte[] original = new byte[1280];
        int n = PacketBuilder.Icmp(original, spec.Dst, spec.Src, err.Type, err.Code, rest, offending);
        original = original.Take(n).ToArray();

        byte[] v4 = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv6ToIpv4(original, v4, s4.GetAddressBytes(), d4.GetAddressBytes(), out int n4));
        Assert.Equal(n - 40, n4);
        IpPacket.TryParse(v4.AsSpan(0, n4), out var p4);
        Assert.True(p4.ChecksumsValid());
        byte[] back = new byte[1336];
        Assert.Equal(TranslateError.None, IpTranslator.Ipv4ToIpv6(v4.AsSpan(0, n4), back, spec.Dst.GetAddressBytes(), spec.Src.GetAddressBytes(), out int n6));
        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(back, 0, n6));
    });
}
