using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>View over an ICMPv4 or ICMPv6 message (at least the 8-byte header).</summary>
public readonly ref struct IcmpMessage
{
    /// <summary>ICMPv4 echo reply.</summary>
    public const byte V4EchoReply = 0;
    /// <summary>ICMPv4 destination unreachable.</summary>
    public const byte V4DestinationUnreachable = 3;
    /// <summary>ICMPv4 echo request.</summary>
    public const byte V4EchoRequest = 8;
    /// <summary>ICMPv4 time exceeded.</summary>
    public const byte V4TimeExceeded = 11;
    /// <summary>ICMPv4 parameter problem.</summary>
    public const byte V4ParameterProblem = 12;
    /// <summary>ICMPv6 destination unreachable.</summary>
    public const byte V6DestinationUnreachable = 1;
    /// <summary>ICMPv6 packet too big.</summary>
    public const byte V6PacketTooBig = 2;
    /// <summary>ICMPv6 time exceeded.</summary>
    public const byte V6TimeExceeded = 3;
    /// <summary>ICMPv6 parameter problem.</summary>
    public const byte V6ParameterProblem = 4;
    /// <summary>ICMPv6 echo request.</summary>
    public const byte V6EchoRequest = 128;
    /// <summary>ICMPv6 echo reply.</summary>
    public const byte V6EchoReply = 129;
    /// <summary>ICMP header length (type, code, checksum, rest of header).</summary>
    public const int HeaderLength = 8;

    private readonly Span<byte> _data;
    private readonly bool _v4;
    private IcmpMessage(Span<byte> data, bool v4) { _data = data; _v4 = v4; }

    /// <summary>Parses an ICMP message of at least 8 bytes.</summary>
    public static bool TryParse(Span<byte> data, bool isIcmpV4, out IcmpMessage icmp)
    {
        icmp = default;
        if (data.Length < HeaderLength) return false;
        icmp = new IcmpMessage(data, isIcmpV4);
        return true;
    }

    internal static bool IsEchoType(byte type, bool v4)
        => v4 ? type is V4EchoRequest or V4EchoReply : type is V6EchoRequest or V6EchoReply;

    internal static bool IsErrorType(byte type, bool v4)
        => v4 ? type is 3 or 4 or 5 or 11 or 12 : type < 128;

    /// <summary>True for ICMPv4.</summary>
    public bool IsV4 => _v4;
    /// <summary>Type.</summary>
    public byte Type => _data[0];
    /// <summary>Code.</summary>
    public byte Code => _data[1];
    /// <summary>Checksum field.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_data[2..]);
    /// <summary>True for echo request/reply.</summary>
    public bool IsEcho => IsEchoType(Type, _v4);
    /// <summary>True for an error message (which carries the offending packet).</summary>
    public bool IsError => IsErrorType(Type, _v4);
    /// <summary>Echo identifier (bytes 4–5).</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_data[4..]);
    /// <summary>Echo sequence number (bytes 6–7).</summary>
    public ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(_data[6..]);
    /// <summary>The 4 "rest of header" bytes (identifier/sequence, MTU, pointer…).</summary>
    public Span<byte> RestOfHeader => _data.Slice(4, 4);
    /// <summary>Bytes after the 8-byte header (echo data or the offending packet of an error).</summary>
    public Span<byte> Body => _data[HeaderLength..];
    /// <summary>Whole message.</summary>
    public Span<byte> Bytes => _data;
}
