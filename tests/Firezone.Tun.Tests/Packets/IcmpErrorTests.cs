using System.Buffers.Binary;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class IcmpErrorTests
{
    [Property]
    public Property Generated_errors_are_valid_and_quote_the_offending_packet() => Prop.ForAll(
        Arb.Zip(PacketGen.AnySpecArb, Gen.Choose(0, 4).ToArbitrary()), c =>
    {
        var (spec, kind) = c;
        byte[] b = new byte[1336];
        int n = spec.Build(b);
        byte[] offending = b.Take(n).ToArray();
        bool v4 = spec.V4;
        bool shouldAnswer = ShouldAnswer(spec);
        byte[] e = new byte[1336];
        int len = kind switch
        {
            0 => IcmpErrorBuilder.DestinationUnreachable(offending, e, UnreachableReason.NoRoute),
            1 => IcmpErrorBuilder.DestinationUnreachable(offending, e, UnreachableReason.Host),
            2 => IcmpErrorBuilder.DestinationUnreachable(offending, e, UnreachableReason.Port),
            3 => IcmpErrorBuilder.AdministrativelyProhibited(offending, e),
            _ => IcmpErrorBuilder.PacketTooBig(offending, e, 1000),
        };
        if (!shouldAnswer) { Assert.Equal(0, len); return; }
        Assert.True(len > 0);
        Assert.True(len <= (v4 ? 576 : 1280));
        Assert.Equal(IpParseError.None, IpPacket.TryParse(e.AsSpan(0, len), out var p));
        Assert.True(p.ChecksumsValid());
        Assert.Equal(spec.Src, p.Destination);
        Assert.Equal(spec.Dst, p.Source);
        Assert.True(p.TryGetIcmp(out var icmp));
        Assert.True(icmp.IsError);
        (byte, byte) expected = (v4, kind) switch
        {
            (true, 0) => (3, 0), (true, 1) => (3, 1), (true, 2) => (3, 3), (true, 3) => (3, 13), (true, _) => (3, 4),
            (false, 0) => (1, 0), (false, 1) => (1, 3), (false, 2) => (1, 4), (false, 3) => (1, 1), (false, _) => (2, 0),
        };
        Assert.Equal(expected, (icmp.Type, icmp.Code));
        if (kind == 4) Assert.Equal(v4 ? 1000u : 1280u, v4 ? BinaryPrimitives.ReadUInt16BigEndian(icmp.RestOfHeader[2..]) : BinaryPrimitives.ReadUInt32BigEndian(icmp.RestOfHeader));
        Assert.Equal(offending.Take(icmp.Body.Length).ToArray(), icmp.Body.ToArray());
        // An error about an error is never generated.
        Assert.Equal(0, IcmpErrorBuilder.DestinationUnreachable(p.Bytes, new byte[1336], UnreachableReason.Port));
    });

    private static bool ShouldAnswer(PacketSpec s)
    {
        byte[] src = s.Src.GetAddressBytes(), dst = s.Dst.GetAddressBytes();
        if (s.V4) return src[0] != 0 && src[0] < 224 && src[0] != 127 && dst[0] < 224;
        return src[0] != 0xFF && src.Any(x => x != 0) && dst[0] != 0xFF;
    }

    [Fact]
    public void An_explicit_source_is_used_for_the_error()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Udp(b, IPAddress.Parse("198.18.5.1"), IPAddress.Parse("198.18.5.2"), 1, 2, []);
        byte[] e = new byte[1336];
        int len = IcmpErrorBuilder.AdministrativelyProhibited(b.AsSpan(0, n), e, IPAddress.Parse("198.18.5.254").GetAddressBytes());
        IpPacket.TryParse(e.AsSpan(0, len), out var p);
        Assert.Equal(IPAddress.Parse("198.18.5.254"), p.Source);
    }
}
