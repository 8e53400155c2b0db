namespace Firezone.Testing;

/// <summary>The transport of a generated <see cref="TunnelPacket"/> (tunnel spec §9.4: ICMP, UDP and TCP transitions).</summary>
public enum TunnelProtocol
{
    /// <summary>ICMP (v4) or ICMPv6 echo request.</summary>
    IcmpEcho,

    /// <summary>UDP datagram.</summary>
    Udp,

    /// <summary>TCP segment (no flags, sequence 0: what the tunnel test sends, not a connection).</summary>
    Tcp,
}
