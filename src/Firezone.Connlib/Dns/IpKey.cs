using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Dns;

/// <summary>Conversions between addresses and the numbers the DNS tables are keyed by (IPv4 as a host-order <see cref="uint"/>, IPv6 as a <see cref="UInt128"/>), so packet-path lookups read the packet's bytes and allocate nothing.</summary>
internal static class IpKey
{
    /// <summary>An IPv4 address from its host-order number.</summary>
    public static IPAddress V4(uint address)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
        return new IPAddress(bytes);
    }

    /// <summary>An IPv6 address from its number.</summary>
    public static IPAddress V6(UInt128 address)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        return new IPAddress(bytes);
    }

    /// <summary>The host-order number of an IPv4 address (4 bytes, network order).</summary>
    public static uint V4(ReadOnlySpan<byte> address) => BinaryPrimitives.ReadUInt32BigEndian(address);

    /// <summary>The number of an IPv6 address (16 bytes, network order).</summary>
    public static UInt128 V6(ReadOnlySpan<byte> address) => BinaryPrimitives.ReadUInt128BigEndian(address);

    /// <summary>Writes the address's bytes (4 or 16) to <paramref name="destination"/> (at least 16 bytes) and returns them.</summary>
    public static ReadOnlySpan<byte> Bytes(IPAddress address, Span<byte> destination)
    {
        address.TryWriteBytes(destination, out int written);
        return destination[..written];
    }

    /// <summary>True for an IPv4 address.</summary>
    public static bool IsV4(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork;
}
