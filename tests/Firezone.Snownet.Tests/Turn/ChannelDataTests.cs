using Firezone.Snownet.Turn;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Turn;

public class ChannelDataTests
{
    [Property]
    public void Valid_channels_round_trip_with_any_payload(ushort seed, byte[] payload)
    {
        ushort channel = (ushort)(0x4000 + (seed % 0x4000));
        payload ??= [];
        byte[] frame = ChannelData.Encode(channel, payload);
        Assert.Equal(4 + payload.Length, frame.Length);
        Assert.True(ChannelData.LooksLikeChannelData(frame));
        Assert.True(ChannelData.TryParse(frame, out var parsed));
        Assert.Equal(channel, parsed.Channel);
        Assert.Equal(payload, parsed.Payload.ToArray());
    }

    [Property]
    public void Channels_outside_0x4000_0x7FFF_are_rejected(ushort channel, byte[] payload)
    {
        payload ??= [];
        var frame = new byte[4 + payload.Length];
        ChannelData.WriteHeader(frame, channel, payload.Length);
        payload.CopyTo(frame, 4);
        bool valid = channel is >= 0x4000 and <= 0x7FFF;
        Assert.Equal(valid, ChannelData.TryParse(frame, out _));
    }

    [Fact]
    public void Regression_channel_0x8000_with_empty_payload_is_rejected()
    {
        Assert.False(ChannelData.TryParse([0x80, 0x00, 0x00, 0x00], out _));
    }

    [Fact]
    public void Edges_of_the_channel_range()
    {
        Assert.True(ChannelData.TryParse([0x40, 0x00, 0x00, 0x00], out _));
        Assert.True(ChannelData.TryParse([0x4F, 0xFF, 0x00, 0x00], out _));
        Assert.True(ChannelData.TryParse([0x50, 0x00, 0x00, 0x00], out _)); // RFC 5766 range, accepted on purpose
        Assert.True(ChannelData.TryParse([0x7F, 0xFF, 0x00, 0x00], out _));
        Assert.False(ChannelData.TryParse([0x3F, 0xFF, 0x00, 0x00], out _));
    }

    [Fact]
    public void Padding_after_the_declared_length_is_ignored_and_short_frames_rejected()
    {
        Assert.True(ChannelData.TryParse([0x40, 0x01, 0x00, 0x02, 0xAA, 0xBB, 0x00, 0x00], out var frame));
        Assert.Equal(new byte[] { 0xAA, 0xBB }, frame.Payload.ToArray());
        Assert.False(ChannelData.TryParse([0x40, 0x01, 0x00, 0x03, 0xAA, 0xBB], out _));
        Assert.False(ChannelData.TryParse([0x40, 0x01, 0x00], out _));
    }

    [Property]
    public void Arbitrary_bytes_never_throw(byte[] bytes)
    {
        if (ChannelData.TryParse(bytes ?? [], out var frame))
        {
            Assert.True(frame.Payload.Length <= bytes!.Length - 4);
        }
    }
}
