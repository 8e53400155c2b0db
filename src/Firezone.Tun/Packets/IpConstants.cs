namespace Firezone.Tun.Packets;

/// <summary>Sizes and protocol numbers of the IP packet library (spec: hosts-and-tun §1, §3.1).</summary>
public static class IpConstants
{
    /// <summary>Largest IP packet accepted or produced (= TUN MTU).</summary>
    public const int MaxPacketSize = 1280;
    /// <summary>Headroom kept in front of a packet read from a TUN so NAT46 can grow the header in place.</summary>
    public const int Nat46Headroom = 20;
    /// <summary>WireGuard overhead in bytes.</summary>
    public const int WireGuardOverhead = 32;
    /// <summary>TURN channel-data overhead in bytes.</summary>
    public const int ChannelDataOverhead = 4;
    /// <summary>Size of a packet buffer: 1280 + 32 + 20 + 4 = 1336.</summary>
    public const int BufferSize = MaxPacketSize + WireGuardOverhead + Nat46Headroom + ChannelDataOverhead;
    /// <summary>IPv4 header without options.</summary>
    public const int Ipv4HeaderLength = 20;
    /// <summary>IPv6 fixed header.</summary>
    public const int Ipv6HeaderLength = 40;
    /// <summary>IP protocol number of ICMPv4.</summary>
    public const byte ProtocolIcmp = 1;
    /// <summary>IP protocol number of TCP.</summary>
    public const byte ProtocolTcp = 6;
    /// <summary>IP protocol number of UDP.</summary>
    public const byte ProtocolUdp = 17;
    /// <summary>IP protocol number of ICMPv6.</summary>
    public const byte ProtocolIcmpV6 = 58;
    /// <summary>Reserved next-header value used by Firezone's p2p control packets.</summary>
    public const byte ProtocolFzP2pControl = 0xFF;
}

/// <summary>Why a buffer is not a valid IP packet.</summary>
public enum IpParseError
{
    /// <summary>Valid.</summary>
    None,
    /// <summary>Longer than <see cref="IpConstants.MaxPacketSize"/>.</summary>
    TooLarge,
    /// <summary>Shorter than the fixed header.</summary>
    TooShort,
    /// <summary>Version nibble is neither 4 nor 6.</summary>
    InvalidVersion,
    /// <summary>IPv4 IHL below 5 or beyond the data.</summary>
    BadHeaderLength,
    /// <summary>IPv4 total length or IPv6 payload length inconsistent with the data.</summary>
    BadLength,
}
