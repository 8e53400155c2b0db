using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Turn;

/// <summary>A transport address (IP + port) as an allocation-free dictionary key.</summary>
internal readonly record struct AddressKey(UInt128 Address, ushort Port, bool IsIPv6)
{
    /// <summary>The same key with port 0 (for IP-only permissions).</summary>
    public AddressKey IpOnly => this with { Port = 0 };

    /// <summary>Key of an endpoint.</summary>
    public static AddressKey From(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(bytes, out int written);
        bool v6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        UInt128 address = v6 ? BinaryPrimitives.ReadUInt128BigEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
        _ = written;
        return new AddressKey(address, (ushort)endPoint.Port, v6);
    }

    /// <summary>Key of a socket address (Linux/Windows sockaddr_in / sockaddr_in6 layout), without allocating.</summary>
    public static bool TryFrom(SocketAddress socketAddress, out AddressKey key)
    {
        var buffer = socketAddress.Buffer.Span[..socketAddress.Size];
        key = default;
        if (buffer.Length < 8)
        {
            return false;
        }

        ushort port = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        switch (socketAddress.Family)
        {
            case AddressFamily.InterNetwork:
                key = new AddressKey(BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]), port, false);
                return true;
            case AddressFamily.InterNetworkV6 when buffer.Length >= 24:
                key = new AddressKey(BinaryPrimitives.ReadUInt128BigEndian(buffer[8..]), port, true);
                return true;
            default:
                return false;
        }
    }
}
