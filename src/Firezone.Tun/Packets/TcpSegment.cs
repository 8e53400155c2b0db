using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>View over a TCP header and payload.</summary>
public readonly ref struct TcpSegment
{
    /// <summary>TCP header without options.</summary>
    public const int MinHeaderLength = 20;
    /// <summary>FIN flag.</summary>
    public const byte FlagFin = 0x01;
    /// <summary>SYN flag.</summary>
    public const byte FlagSyn = 0x02;
    /// <summary>RST flag.</summary>
    public const byte FlagRst = 0x04;
    /// <summary>PSH flag.</summary>
    public const byte FlagPsh = 0x08;
    /// <summary>ACK flag.</summary>
    public const byte FlagAck = 0x10;
    private readonly Span<byte> _data;
    private TcpSegment(Span<byte> data) => _data = data;

    /// <summary>Parses a TCP header: at least 20 bytes, data offset between 5 and the available bytes.</summary>
    public static bool TryParse(Span<byte> data, out TcpSegment tcp)
    {
        tcp = default;
        if (data.Length < MinHeaderLength) return false;
        int off = (data[12] >> 4) * 4;
        if (off < MinHeaderLength || off > data.Length) return false;
        tcp = new TcpSegment(data);
        return true;
    }

    /// <summary>Source port.</summary>
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_data);
    /// <summary>Destination port.</summary>
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_data[2..]);
    /// <summary>Sequence number.</summary>
    public uint SequenceNumber => BinaryPrimitives.ReadUInt32BigEndian(_data[4..]);
    /// <summary>Acknowledgement number.</summary>
    public uint AcknowledgementNumber => BinaryPrimitives.ReadUInt32BigEndian(_data[8..]);
    /// <summary>Header length in bytes (data offset × 4).</summary>
    public int HeaderLength => (_data[12] >> 4) * 4;
    /// <summary>Flags byte (FIN..CWR).</summary>
    public byte Flags => _data[13];
    /// <summary>Window.</summary>
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_data[14..]);
    /// <summary>Checksum field.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_data[16..]);
    /// <summary>Payload bytes.</summary>
    public Span<byte> Payload => _data[HeaderLength..];
    /// <summary>The option bytes between the fixed header and the payload (empty without options).</summary>
    public Span<byte> Options => _data[MinHeaderLength..HeaderLength];

    /// <summary>Option kind of the maximum segment size (RFC 9293 §3.2).</summary>
    public const byte OptionKindMaximumSegmentSize = 2;

    /// <summary>
    /// The maximum segment size option (kind 2, length 4), if present. Walks the options like RFC 9293 §3.2: kind 0 ends
    /// the list, kind 1 is one byte of padding, every other kind has a length byte of at least 2 that must fit inside
    /// the option bytes; a malformed list ends the walk (never throws).
    /// </summary>
    public bool TryGetMaximumSegmentSize(out ushort mss)
    {
        mss = 0;
        Span<byte> o = Options;
        int i = 0;
        while (i < o.Length)
        {
            byte kind = o[i];
            if (kind == 0) return false;
            if (kind == 1) { i++; continue; }
            if (i + 1 >= o.Length) return false;
            int len = o[i + 1];
            if (len < 2 || i + len > o.Length) return false;
            if (kind == OptionKindMaximumSegmentSize && len == 4)
            {
                mss = BinaryPrimitives.ReadUInt16BigEndian(o[(i + 2)..]);
                return true;
            }
            i += len;
        }
        return false;
    }
}
