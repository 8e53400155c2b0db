using System.Buffers.Binary;

namespace Firezone.Snownet.Turn;

/// <summary>
/// A TURN ChannelData frame (RFC 8656 §12.4): channel number, payload length, payload. Parsing accepts channels
/// 0x4000–0x7FFF (the RFC 5766 range, a superset of Firezone's 0x4000–0x4FFF), requires the declared payload to be
/// present and ignores anything after it (padding). Encoding over UDP adds no padding.
/// </summary>
internal readonly ref struct ChannelData
{
    /// <summary>Size of the header.</summary>
    public const int HeaderLength = 4;

    /// <summary>Lowest channel number.</summary>
    public const ushort MinChannel = 0x4000;

    /// <summary>Highest channel number accepted (RFC 5766).</summary>
    public const ushort MaxChannel = 0x7FFF;

    /// <summary>Highest channel number of the RFC 8656 range, used by Firezone clients.</summary>
    public const ushort MaxRfc8656Channel = 0x4FFF;

    private ChannelData(ushort channel, ReadOnlySpan<byte> payload)
    {
        Channel = channel;
        Payload = payload;
    }

    /// <summary>The channel number.</summary>
    public ushort Channel { get; }

    /// <summary>The payload (exactly the declared length).</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>True for 0x4000–0x7FFF.</summary>
    public static bool IsValidChannel(ushort channel) => channel is >= MinChannel and <= MaxChannel;

    /// <summary>Quick demultiplexing check on the first byte (0x40–0x7F).</summary>
    public static bool LooksLikeChannelData(ReadOnlySpan<byte> datagram) => !datagram.IsEmpty && datagram[0] is >= 0x40 and <= 0x7F;

    /// <summary>Parses a frame; false on anything malformed. Never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ChannelData frame)
    {
        frame = default;
        if (datagram.Length < HeaderLength)
        {
            return false;
        }

        ushort channel = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (!IsValidChannel(channel) || datagram.Length - HeaderLength < length)
        {
            return false;
        }

        frame = new ChannelData(channel, datagram.Slice(HeaderLength, length));
        return true;
    }

    /// <summary>Writes the 4-byte header (for in-place framing in front of a payload).</summary>
    public static void WriteHeader(Span<byte> destination, ushort channel, int payloadLength)
    {
        if ((uint)payloadLength > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength));
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, channel);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
    }

    /// <summary>Writes header + payload into <paramref name="destination"/> and returns the frame length.</summary>
    public static int Encode(ushort channel, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        WriteHeader(destination, channel, payload.Length);
        payload.CopyTo(destination[HeaderLength..]);
        return HeaderLength + payload.Length;
    }

    /// <summary>Header + payload as a new array.</summary>
    public static byte[] Encode(ushort channel, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderLength + payload.Length];
        Encode(channel, payload, frame);
        return frame;
    }
}
