using System.Buffers.Binary;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class TcpOptionProperties
{
    [Property(MaxTest = 300)]
    public Property Span_builder_writes_every_field_and_the_mss_option_and_equals_the_IPAddress_builder_without_it(
        bool v6, ushort sp, ushort dp, uint seq, uint ack, byte flags, ushort window, ushort mss, byte[] payload)
    {
        payload = payload.Length > 1000 ? payload[..1000] : payload;
        var src = IPAddress.Parse(v6 ? "2001:2::1" : "198.18.0.1");
        var dst = IPAddress.Parse(v6 ? "2001:2::2" : "198.18.0.2");
        byte[] buf = new byte[IpConstants.MaxPacketSize];
        int n = PacketBuilder.TcpFromAddressBytes(buf, src.GetAddressBytes(), dst.GetAddressBytes(), sp, dp, seq, ack, flags, window, mss, payload);
        Assert.Equal(IpParseError.None, IpPacket.TryParse(buf.AsSpan(0, n), out var p));
        Assert.True(p.ChecksumsValid());
        Assert.Equal(src, p.Source);
        Assert.True(p.TryGetTcp(out var t));
        Assert.Equal((sp, dp, seq, ack, flags, window), (t.SourcePort, t.DestinationPort, t.SequenceNumber, t.AcknowledgementNumber, t.Flags, t.Window));
        Assert.Equal(payload, t.Payload.ToArray());
        Assert.Equal(mss != 0, t.TryGetMaximumSegmentSize(out ushort parsed));
        Assert.Equal(mss, parsed);
        Assert.Equal(mss != 0 ? 24 : 20, t.HeaderLength);
        if (mss == 0)
        {
            byte[] other = new byte[IpConstants.MaxPacketSize];
            int m = PacketBuilder.Tcp(other, src, dst, sp, dp, payload, flags, seq, ack, window);
            Assert.Equal(other.AsSpan(0, m).ToArray(), buf.AsSpan(0, n).ToArray());
        }
        return true.ToProperty();
    }

    [Fact]
    public void Mss_option_is_found_after_nop_padding_and_unknown_options_and_not_past_end_of_list()
    {
        // NOP, NOP, (kind 8 timestamps, len 10), MSS 1460 ; then a list where MSS follows the end-of-list option.
        byte[] withNops = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 0x05, 0xB4];
        Assert.True(Parse(withNops).TryGetMaximumSegmentSize(out ushort mss));
        Assert.Equal(1460, mss);
        byte[] ended = [0, 0, 0, 0, 2, 4, 0x05, 0xB4];
        Assert.False(Parse(ended).TryGetMaximumSegmentSize(out _));
        byte[] badLength = [3, 1, 2, 4, 0x05, 0xB4, 0, 0]; // length 1 < 2: malformed, the walk ends
        Assert.False(Parse(badLength).TryGetMaximumSegmentSize(out _));
        byte[] overrun = [1, 1, 1, 2, 4, 0x05, 0xB4, 9]; // option kind 9 with no length byte
        Assert.True(Parse(overrun).TryGetMaximumSegmentSize(out mss));
        Assert.Equal(1460, mss);
    }

    [Property(MaxTest = 2000)]
    public bool Option_walk_never_throws_on_garbage(byte[] options)
    {
        int len = options.Length / 4 * 4;
        if (len > 40) len = 40;
        Parse(options[..len]).TryGetMaximumSegmentSize(out _);
        return true;
    }

    private static TcpSegment Parse(byte[] options)
    {
        byte[] seg = new byte[20 + options.Length];
        seg[12] = (byte)(((20 + options.Length) / 4) << 4);
        options.CopyTo(seg, 20);
        Assert.True(TcpSegment.TryParse(seg, out var t));
        return t;
    }
}
