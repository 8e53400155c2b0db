using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>View over a UDP header and payload (the IP payload of a UDP packet).</summary>
public readonly ref struct UdpDatagram
{
    /// <summary>UDP header length.</summary>
    public const int HeaderLength = 8;
    private readonly Span<byte> _data;
    private UdpDatagram(Span<byte> data) => _data = data;

    /// <summary>Parses a UDP header: at least 8 bytes and a length field between 8 and the available bytes.</summary>
    public static bool TryParse(Span<byte> data, out UdpDatagram udp)
    {
        udp = default;
        if (data.Length < HeaderLength) return false;
        int len = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        if (len < HeaderLength || len > data.Length) return false;
        udp = new UdpDatagram(data[..len]);
        return true;
    }

    /// <summary>Source port.</summary>
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_data);
    /// <summary>Destination port.</summary>
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_data[2..]);
    /// <summary>Length field (header + payload).</summary>
    public int Length => _data.Length;
    /// <summary>Checksum field.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_data[6..]);
    /// <summary>Payload bytes.</summary>
    public Span<byte> Payload => _data[HeaderLength..];
}
