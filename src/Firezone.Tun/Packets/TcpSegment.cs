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
}
