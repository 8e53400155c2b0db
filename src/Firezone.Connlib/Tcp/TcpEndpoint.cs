using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Tcp;

/// <summary>
/// An IP address and port as a plain value (no <see cref="IPAddress"/> object), so the socket set can key its tables
/// by it without allocating per packet. IPv4 addresses sit in the low 32 bits of <see cref="Address"/>.
/// </summary>
internal readonly record struct TcpEndpoint(UInt128 Address, ushort Port, bool IsIPv6)
{
    /// <summary>From raw address bytes (4 or 16) and a port.</summary>
    public static TcpEndpoint FromBytes(ReadOnlySpan<byte> address, ushort port)
        => address.Length == 4
            ? new TcpEndpoint(BinaryPrimitives.ReadUInt32BigEndian(address), port, false)
            : new TcpEndpoint(BinaryPrimitives.ReadUInt128BigEndian(address), port, true);

    /// <summary>From an IPv4 or IPv6 address (an IPv4-mapped IPv6 address stays IPv6).</summary>
    public static TcpEndpoint From(IPAddress address, int port)
    {
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw new ArgumentException("Not an IP address.", nameof(address));
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out int n);
        return FromBytes(b[..n], checked((ushort)port));
    }

    /// <summary>From an <see cref="IPEndPoint"/>.</summary>
    public static TcpEndpoint From(IPEndPoint endpoint) => From(endpoint.Address, endpoint.Port);

    /// <summary>Length of the address in bytes (4 or 16).</summary>
    public int AddressLength => IsIPv6 ? 16 : 4;

    /// <summary>Writes the address bytes; returns the length (4 or 16).</summary>
    public int WriteAddress(Span<byte> destination)
    {
        if (IsIPv6) BinaryPrimitives.WriteUInt128BigEndian(destination, Address);
        else BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Address);
        return AddressLength;
    }

    /// <summary>The same address with another port.</summary>
    public TcpEndpoint WithPort(ushort port) => this with { Port = port };

    /// <summary>True if both endpoints carry the same address (ports ignored).</summary>
    public bool SameAddress(TcpEndpoint other) => Address == other.Address && IsIPv6 == other.IsIPv6;

    /// <summary>Multicast (224.0.0.0/4, ff00::/8) or the IPv4 limited broadcast: never a TCP peer (RFC 9293 §3.9.2.1).</summary>
    public bool IsMulticastOrBroadcast => IsIPv6
        ? (byte)(Address >> 120) == 0xFF
        : ((uint)Address >> 28) == 0xE || (uint)Address == 0xFFFF_FFFF;

    /// <summary>The address as an <see cref="IPAddress"/> (allocates).</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[16];
        int n = WriteAddress(b);
        return new IPAddress(b[..n]);
    }

    /// <summary>As an <see cref="IPEndPoint"/> (allocates).</summary>
    public IPEndPoint ToIPEndPoint() => new(ToIPAddress(), Port);

    /// <inheritdoc/>
    public override string ToString() => IsIPv6 ? $"[{ToIPAddress()}]:{Port}" : $"{ToIPAddress()}:{Port}";
}

/// <summary>A connection's key: our endpoint and the peer's.</summary>
internal readonly record struct TcpFourTuple(TcpEndpoint Local, TcpEndpoint Remote)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Local} <-> {Remote}";
}
