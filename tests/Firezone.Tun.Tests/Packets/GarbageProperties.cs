using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class GarbageProperties
{
    private static readonly byte[] S4 = [198, 18, 5, 1], D4 = [198, 18, 5, 2];
    private static readonly byte[] S6 = IPAddress.Parse("2001:2::1").GetAddressBytes(), D6 = IPAddress.Parse("2001:2::2").GetAddressBytes();

    // Random bytes, but biased to look like IP: a valid version nibble and plausible lengths half of the time.
    private static Gen<byte[]> Garbage =>
        from raw in PacketGen.Bytes(0, 1400)
        from shape in Gen.Choose(0, 3)
        select Shape(raw, shape);

    private static byte[] Shape(byte[] raw, int shape)
    {
        if (raw.Length < 40 || shape == 0) return raw;
        raw[0] = (byte)((shape == 1 ? 0x40 : 0x60) | (raw[0] & 0x0F));
        if (shape == 1) { raw[0] = 0x45; raw[2] = (byte)(Math.Min(raw.Length, 1280) >> 8); raw[3] = (byte)Math.Min(raw.Length, 1280); raw[9] = (byte)(raw[9] % 3 switch { 0 => 1, 1 => 6, _ => 17 }); raw[6] &= 0x40; raw[7] = 0; }
        if (shape >= 2) { int pl = Math.Min(raw.Length, 1280) - 40; raw[4] = (byte)(pl >> 8); raw[5] = (byte)pl; raw[6] = (byte)(raw[6] % 3 switch { 0 => 58, 1 => 6, _ => 17 }); }
        if (shape == 3 && raw.Length > 48) raw[40] = (byte)(raw[40] % 5); // ICMPv6 error types
        return raw;
    }

    // A valid packet with some bytes overwritten at random.
    private static Gen<byte[]> Mutated =>
        from spec in PacketGen.AnySpec
        from flips in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 1279), PacketGen.Byte)).Select(a => a.Take(6).ToArray())
        select Mutate(spec, flips);

    private static byte[] Mutate(PacketSpec spec, (int, byte)[] flips)
    {
        byte[] b = new byte[1336];
        int n = spec.Build(b);
        b = b.Take(n).ToArray();
        foreach (var (i, v) in flips) b[i % n] = v;
        return b;
    }

    [Property(MaxTest = 300)]
    public Property Garbage_never_throws() => Prop.ForAll(Gen.OneOf(Garbage, Mutated).ToArbitrary(), data =>
    {
        Exercise(data);
        return true;
    });

    private static void Exercise(byte[] data)
    {
        byte[] copy = (byte[])data.Clone();
        if (IpPacket.TryParse(copy, out IpPacket p) == IpParseError.None)
        {
            _ = p.ToString();
            _ = p.TrafficClass + p.HopLimit + p.FlowLabel + p.Identification + p.HeaderLength + p.Payload.Length;
            _ = p.IsFzP2pControl;
            _ = p.ChecksumsValid();
            if (p.TryGetUdp(out var u)) _ = u.SourcePort + u.DestinationPort + u.Payload.Length + u.Checksum;
            if (p.TryGetTcp(out var t)) _ = t.SourcePort + t.Flags + t.Payload.Length + t.SequenceNumber + t.AcknowledgementNumber;
            if (p.TryGetIcmp(out var i)) _ = i.Type + i.Code + i.Identifier + i.Sequence + i.Body.Length + (i.IsError ? 1 : 0);
            p.TrySetSourcePort(1);
            p.TrySetDestinationPort(2);
            p.TrySetIcmpSequence(3);
            p.TryDecrementHopLimit();
            if (p.IsIpv4) { p.SetSource(S4); p.SetDestination(D4); } else { p.SetSource(S6); p.SetDestination(D6); }
            p.RecomputeChecksums();
            Assert.True(p.ChecksumsValid(), "RecomputeChecksums must leave valid checksums");
        }
        byte[] outBuf = new byte[1336];
        IpTranslator.Ipv4ToIpv6(data, outBuf, S6, D6, out _);
        IpTranslator.Ipv6ToIpv4(data, outBuf, S4, D4, out _);
        byte[] inPlace = new byte[1336];
        int len = Math.Min(data.Length, 1280);
        data.AsSpan(0, len).CopyTo(inPlace.AsSpan(20));
        IpTranslator.TranslateInPlace(inPlace, 20, len, S6, D6, out _, out _);
        data.AsSpan(0, len).CopyTo(inPlace.AsSpan(20));
        IpTranslator.TranslateInPlace(inPlace, 20, len, S4, D4, out _, out _);
        // A translation that succeeds must produce a packet that parses and whose checksums verify.
        var r = IpTranslator.Ipv4ToIpv6(data, outBuf, S6, D6, out int w);
        if (r == TranslateError.None)
        {
            Assert.Equal(IpParseError.None, IpPacket.TryParse(outBuf.AsSpan(0, w), out _));
        }
        IcmpErrorBuilder.DestinationUnreachable(data, outBuf, UnreachableReason.Port);
        IcmpErrorBuilder.AdministrativelyProhibited(data, outBuf);
        IcmpErrorBuilder.PacketTooBig(data, outBuf, 1200);
    }
}
