using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public sealed record Rewrite(int Op, byte[] Address, ushort Value)
{
    public override string ToString() => $"op {Op} value {Value} addr {Convert.ToHexString(Address)}";
}

public class RewriteProperties
{
    private static Gen<Rewrite> RewriteGen =>
        from op in Gen.Choose(0, 5)
        from a4 in Gen.ArrayOf(PacketGen.Byte, 4)
        from a6 in Gen.ArrayOf(PacketGen.Byte, 16)
        from v in PacketGen.UShort
        select new Rewrite(op, op < 2 ? (v % 2 == 0 ? a4 : a6) : a4, v);

    private static Arbitrary<(PacketSpec, Rewrite[], bool)> Cases =>
        (from spec in PacketGen.AnySpec
         from rewrites in Gen.ArrayOf(RewriteGen).Select(a => a.Take(12).ToArray())
         from zeroUdpChecksum in Gen.Elements(true, false, false, false)
         select (spec, rewrites, zeroUdpChecksum)).ToArbitrary();

    [Property]
    public Property Checksums_verify_after_every_rewrite_and_equal_a_recomputation_from_scratch() => Prop.ForAll(Cases, c =>
    {
        var (spec, rewrites, zeroUdp) = c;
        byte[] buffer = new byte[IpConstants.BufferSize];
        int n = spec.Build(buffer);
        IpPacket.TryParse(buffer.AsSpan(0, n), out IpPacket p);
        bool noUdpChecksum = zeroUdp && spec.V4 && spec.Kind == 0;
        if (noUdpChecksum) { buffer[20 + 6] = 0; buffer[20 + 7] = 0; }
        foreach (var r in rewrites)
        {
            int addrLen = spec.V4 ? 4 : 16;
            byte[] addr = r.Address.Length == addrLen ? r.Address : Enumerable.Repeat((byte)(r.Value & 0xFF), addrLen).ToArray();
            switch (r.Op)
            {
                case 0: p.SetSource(addr); Assert.Equal(addr, p.SourceBytes.ToArray()); break;
                case 1: p.SetDestination(addr); Assert.Equal(addr, p.DestinationBytes.ToArray()); break;
                case 2: Assert.True(p.TrySetSourcePort(r.Value)); break;
                case 3: Assert.True(p.TrySetDestinationPort(r.Value)); break;
                case 4: p.SetHopLimit((byte)r.Value); Assert.Equal((byte)r.Value, p.HopLimit); break;
                default: Assert.Equal(spec.Kind >= 2, p.TrySetIcmpSequence(r.Value)); break;
            }
            Assert.True(p.ChecksumsValid(), $"checksums invalid after {r}");
            if (spec.V4) Assert.Equal(p.ComputeHeaderChecksum(), p.HeaderChecksum);
            Assert.True(p.TryGetTransportChecksum(out ushort stored));
            if (noUdpChecksum)
            {
                Assert.Equal(0, stored); // "no checksum" must survive rewrites untouched
            }
            else
            {
                Assert.True(p.TryComputeTransportChecksum(out ushort scratch));
                Assert.Equal(scratch, stored);
                Assert.Equal(ReferenceChecksum.Transport(p.Bytes.ToArray()), stored);
            }
        }
    });

    [Property]
    public Property Port_and_identifier_rewrites_are_visible_through_the_views() => Prop.ForAll(
        Arb.Zip(PacketGen.AnySpecArb, Arb.Zip(PacketGen.UShort.ToArbitrary(), PacketGen.UShort.ToArbitrary())), c =>
    {
        var (spec, (s, d)) = c;
        byte[] buffer = new byte[IpConstants.BufferSize];
        int n = spec.Build(buffer);
        IpPacket.TryParse(buffer.AsSpan(0, n), out IpPacket p);
        p.TrySetSourcePort(s);
        p.TrySetDestinationPort(d);
        if (p.TryGetUdp(out var u)) { Assert.Equal(s, u.SourcePort); Assert.Equal(d, u.DestinationPort); }
        else if (p.TryGetTcp(out var t)) { Assert.Equal(s, t.SourcePort); Assert.Equal(d, t.DestinationPort); }
        else { Assert.True(p.TryGetIcmp(out var i)); Assert.Equal(d, i.Identifier); }
    });

    [Property]
    public Property First_fragments_get_the_same_transport_checksum_update_as_the_whole_datagram() => Prop.ForAll(
        (from spec in PacketGen.Spec(v4: true).Where(s => s.Payload.Length >= 24)
         from dst in PacketGen.V4Address
         from port in PacketGen.UShort
         from cut in Gen.Choose(3, 10)
         select (spec, dst, port, cut)).ToArbitrary(), c =>
    {
        var (spec, dst, port, cut) = c;
        byte[] whole = new byte[1336];
        int n = spec.Build(whole);
        int fragLength = Math.Min(n, 20 + cut * 8);
        byte[] fragment = whole.Take(fragLength).ToArray();
        fragment[2] = (byte)(fragLength >> 8);
        fragment[3] = (byte)fragLength;
        fragment[6] |= 0x20; // more fragments, offset 0
        fragment[10] = fragment[11] = 0;
        ushort hc = InternetChecksum.Compute(fragment.AsSpan(0, 20));
        fragment[10] = (byte)(hc >> 8);
        fragment[11] = (byte)hc;
        IpPacket.TryParse(whole.AsSpan(0, n), out var w);
        IpPacket.TryParse(fragment, out var f);
        Assert.True(f.IsFragment);
        w.SetDestination(dst.GetAddressBytes());
        f.SetDestination(dst.GetAddressBytes());
        Assert.Equal(w.TrySetDestinationPort(port), f.TrySetDestinationPort(port));
        int off = spec.Kind switch { 0 => 6, 1 => 16, _ => 2 };
        Assert.Equal(w.Payload.Slice(off, 2).ToArray(), f.Payload.Slice(off, 2).ToArray());
        Assert.True(w.ChecksumsValid());
        Assert.True(f.ChecksumsValid()); // IPv4 header verifies; the transport cannot be checked on a fragment
    });

    [Fact]
    public void Rewriting_an_address_of_the_other_family_throws()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Udp(b, IPAddress.Parse("198.18.5.1"), IPAddress.Parse("198.18.5.2"), 1, 2, []);
        IpPacket.TryParse(b.AsSpan(0, n), out var p);
        try { p.SetSource(new byte[16]); Assert.Fail("expected ArgumentException"); }
        catch (ArgumentException) { }
    }

    [Fact]
    public void Icmp_v4_checksum_is_untouched_by_address_rewrites_because_it_has_no_pseudo_header()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.EchoRequest(b, IPAddress.Parse("198.18.5.1"), IPAddress.Parse("198.18.5.2"), 7, 9, "ping"u8);
        IpPacket.TryParse(b.AsSpan(0, n), out var p);
        p.TryGetTransportChecksum(out ushort before);
        p.SetDestination(IPAddress.Parse("198.18.5.77"));
        p.TryGetTransportChecksum(out ushort after);
        Assert.Equal(before, after);
        Assert.True(p.ChecksumsValid());
    }

    [Fact]
    public void Decrementing_the_hop_limit_stops_at_one()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Udp(b, IPAddress.Parse("198.18.5.1"), IPAddress.Parse("198.18.5.2"), 1, 2, []);
        IpPacket.TryParse(b.AsSpan(0, n), out var p);
        p.SetHopLimit(2);
        Assert.True(p.TryDecrementHopLimit());
        Assert.False(p.TryDecrementHopLimit());
        Assert.Equal(1, p.HopLimit);
        Assert.True(p.ChecksumsValid());
    }
}
