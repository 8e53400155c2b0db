using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// An IP address as a value (the 4 or 16 bytes in one <see cref="UInt128"/> plus the family), so tables keyed by
/// address are probed straight from a packet's header bytes without building an <see cref="IPAddress"/>. Ordered as
/// upstream's <c>IpAddr</c>: every IPv4 address before every IPv6 address, then numerically.
/// </summary>
/// <param name="Value">The address bits (IPv4 in the low 32 bits).</param>
/// <param name="IsV6">True for IPv6.</param>
internal readonly record struct IpKey(UInt128 Value, bool IsV6) : IComparable<IpKey>
{
    /// <summary>4 or 16.</summary>
    public int Length => IsV6 ? 16 : 4;

    /// <summary>The key of raw address bytes (4 or 16, network order).</summary>
    public static IpKey From(ReadOnlySpan<byte> address) => address.Length == 4
        ? new IpKey(BinaryPrimitives.ReadUInt32BigEndian(address), false)
        : new IpKey(BinaryPrimitives.ReadUInt128BigEndian(address), true);

    /// <summary>The key of an IPv4 or IPv6 address (IPv4-mapped IPv6 addresses stay IPv6, as upstream's).</summary>
    public static IpKey From(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || !address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"Not an IP address: {address}", nameof(address));
        }

        return From(bytes[..written]);
    }

    /// <summary>Writes the 4 or 16 address bytes; returns how many.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (IsV6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination, Value);
            return 16;
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Value);
        return 4;
    }

    /// <summary>The address (allocates).</summary>
    public IPAddress ToAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        return new IPAddress(bytes[..WriteTo(bytes)]);
    }

    /// <summary>True when <paramref name="address"/> holds exactly this address.</summary>
    public bool Is(ReadOnlySpan<byte> address) =>
        address.Length == Length && (IsV6 ? BinaryPrimitives.ReadUInt128BigEndian(address) : BinaryPrimitives.ReadUInt32BigEndian(address)) == Value;

    /// <inheritdoc/>
    public int CompareTo(IpKey other) => IsV6 != other.IsV6 ? IsV6.CompareTo(other.IsV6) : Value.CompareTo(other.Value);

    /// <inheritdoc/>
    public override string ToString() => ToAddress().ToString();
}
