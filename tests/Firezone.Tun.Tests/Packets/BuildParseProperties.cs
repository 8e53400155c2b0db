using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class BuildParseProperties
{
    [Property]
    public Property Parse_of_build_gives_back_every_field() => Prop.ForAll(PacketGen.AnySpecArb, spec =>
    {
        byte[] buffer = new byte[IpConstants.BufferSize];
        int n = spec.Build(buffer);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(buffer.AsSpan(0, n), out IpPacket p));
        Assert.Equal(spec.V4 ? 4 : 6, p.Version);
        Assert.Equal(spec.Src, p.Source);
        Assert.Equal(spec.Dst, p.Destination);
        Assert.Equal(n, p.Length);
        Assert.Equal(PacketBuilder.DefaultHopLimit, p.HopLimit);
        Assert.Equal(0, p.TrafficClass);
        Assert.True(p.ChecksumsValid());
        Assert.False(p.IsFzP2pControl);
        switch (spec.Kind)
        {
            case 0:
                Assert.True(p.TryGetUdp(out var u));
                Assert.Equal(spec.A, u.SourcePort);
                Assert.Equal(spec.B, u.DestinationPort);
                Assert.Equal(spec.Payload, u.Payload.ToArray());
                Assert.False(p.TryGetTcp(out _));
                break;
            case 1:
                Assert.True(p.TryGetTcp(out var t));
                Assert.Equal(spec.A, t.SourcePort);
                Assert.Equal(spec.B, t.DestinationPort);
                Assert.Equal(0u, t.SequenceNumber);
                Assert.Equal(128, t.Window);
                Assert.Equal(0, t.Flags);
                Assert.Equal(spec.Payload, t.Payload.ToArray());
                break;
            default:
                Assert.True(p.TryGetIcmp(out var i));
                Assert.True(i.IsEcho);
                Assert.False(i.IsError);
                Assert.Equal(spec.A, i.Identifier);
                Assert.Equal(spec.B, i.Sequence);
                Assert.Equal(spec.Kind == 2, i.Type is IcmpMessage.V4EchoRequest or IcmpMessage.V6EchoRequest);
                Assert.Equal(spec.Payload, i.Body.ToArray());
                break;
        }
    });

    [Property]
    public Property Built_checksums_equal_an_independent_reference_computation() => Prop.ForAll(PacketGen.AnySpecArb, spec =>
    {
        byte[] buffer = new byte[IpConstants.BufferSize];
        int n = spec.Build(buffer);
        IpPacket.TryParse(buffer.AsSpan(0, n), out IpPacket p);
        Assert.True(p.TryGetTransportChecksum(out ushort stored));
        Assert.Equal(ReferenceChecksum.Transport(buffer.AsSpan(0, n).ToArray()), stored);
        if (spec.V4) Assert.Equal(ReferenceChecksum.Ipv4Header(buffer.AsSpan(0, n).ToArray()), p.HeaderChecksum);
    });

    [Fact]
    public void Parse_rejects_packets_above_1280_bytes()
    {
        byte[] b = new byte[1281];
        b[0] = 0x45;
        Assert.Equal(IpParseError.TooLarge, IpPacket.TryParse(b, out _));
    }

    [Fact]
    public void Parse_rejects_bad_versions_and_lengths()
    {
        Assert.Equal(IpParseError.InvalidVersion, IpPacket.TryParse(new byte[] { 0x55, 0, 0, 20 }, out _));
        Assert.Equal(IpParseError.TooShort, IpPacket.TryParse(new byte[] { 0x45, 0, 0 }, out _));
        Assert.Equal(IpParseError.TooShort, IpPacket.TryParse(Span<byte>.Empty, out _));
        byte[] v4 = new byte[20];
        v4[0] = 0x44;
        Assert.Equal(IpParseError.BadHeaderLength, IpPacket.TryParse(v4, out _));
        v4[0] = 0x45;
        v4[3] = 21;
        Assert.Equal(IpParseError.BadLength, IpPacket.TryParse(v4, out _));
        byte[] v6 = new byte[40];
        v6[0] = 0x60;
        v6[5] = 1;
        Assert.Equal(IpParseError.BadLength, IpPacket.TryParse(v6, out _));
    }

    [Fact]
    public void Mixed_families_in_a_builder_are_rejected()
        => Assert.Throws<ArgumentException>(() => PacketBuilder.Udp(new byte[1336], System.Net.IPAddress.Loopback, System.Net.IPAddress.IPv6Loopback, 1, 2, []));

    [Fact]
    public void P2p_control_packets_are_recognised()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.FzP2pControl(b, 1, "{}"u8);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(b.AsSpan(0, n), out var p));
        Assert.True(p.IsFzP2pControl);
        Assert.Equal(0, p.HopLimit);
        Assert.Equal(1, p.Payload[0]);
    }

    [Fact]
    public void Trailing_bytes_beyond_the_ip_length_are_not_part_of_the_packet()
    {
        byte[] b = new byte[1336];
        int n = PacketBuilder.Udp(b, System.Net.IPAddress.Parse("198.18.5.1"), System.Net.IPAddress.Parse("198.18.5.2"), 1, 2, "hi"u8);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(b.AsSpan(0, n + 10), out var p));
        Assert.Equal(n, p.Length);
    }
}

/// <summary>A deliberately naive checksum (byte pairs, modulo folding at the end) to check the library against.</summary>
internal static class ReferenceChecksum
{
    public static ushort Sum(IEnumerable<byte> bytes)
    {
        var list = bytes.ToList();
        if (list.Count % 2 == 1) list.Add(0);
        long sum = 0;
        for (int i = 0; i < list.Count; i += 2) sum += (list[i] << 8) | list[i + 1];
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)(~sum & 0xFFFF);
    }

    public static ushort Ipv4Header(byte[] packet)
    {
        int ihl = (packet[0] & 0xF) * 4;
        var h = packet.Take(ihl).ToArray();
        h[10] = h[11] = 0;
        return Sum(h);
    }

    public static ushort Transport(byte[] packet)
    {
        bool v4 = packet[0] >> 4 == 4;
        int hl = v4 ? (packet[0] & 0xF) * 4 : 40;
        byte proto = v4 ? packet[9] : packet[6];
        var payload = packet.Skip(hl).ToArray();
        int off = proto switch { 17 => 6, 6 => 16, _ => 2 };
        payload[off] = payload[off + 1] = 0;
        var pseudo = new List<byte>();
        if (proto != 1)
        {
            pseudo.AddRange(v4 ? packet.Skip(12).Take(8) : packet.Skip(8).Take(32));
            int len = payload.Length;
            pseudo.AddRange(new byte[] { 0, 0, (byte)(len >> 8), (byte)len, 0, 0, 0, proto });
        }
        ushort c = Sum(pseudo.Concat(payload));
        return proto == 17 && c == 0 ? (ushort)0xFFFF : c;
    }
}
