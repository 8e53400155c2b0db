using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Stun;

/// <summary>Encoding of (XOR-)address attribute values (RFC 8489 §14.1 and §14.2).</summary>
internal static class StunAddressCodec
{
    /// <summary>Value length of an IPv4 address attribute.</summary>
    public const int IPv4Length = 8;

    /// <summary>Value length of an IPv6 address attribute.</summary>
    public const int IPv6Length = 20;

    /// <summary>Value length for the given endpoint.</summary>
    public static int ValueLength(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPv6Length : IPv4Length;

    /// <summary>True if the value is structurally valid (family 1 with 8 bytes, or family 2 with 20 bytes).</summary>
    public static bool IsValid(ReadOnlySpan<byte> value) =>
        (value.Length == IPv4Length && value[1] == (byte)StunAddressFamily.IPv4)
        || (value.Length == IPv6Length && value[1] == (byte)StunAddressFamily.IPv6);

    /// <summary>Writes an address value; a non-empty <paramref name="header"/> (the 20 message header bytes) means XOR encoding.</summary>
    public static void Write(Span<byte> destination, IPEndPoint endPoint, ReadOnlySpan<byte> header)
    {
        bool xor = !header.IsEmpty;
        bool v6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        destination[0] = 0;
        destination[1] = (byte)(v6 ? StunAddressFamily.IPv6 : StunAddressFamily.IPv4);
        ushort port = (ushort)endPoint.Port;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], xor ? (ushort)(port ^ (StunHeader.MagicCookie >> 16)) : port);
        Span<byte> address = destination.Slice(4, v6 ? 16 : 4);
        if (!endPoint.Address.TryWriteBytes(address, out _))
        {
            throw new ArgumentException("Unsupported address.", nameof(endPoint));
        }

        if (xor)
        {
            // The XOR key is the magic cookie followed by the transaction id, i.e. header bytes 4..20.
            ReadOnlySpan<byte> key = header.Slice(4, 16);
            for (int i = 0; i < address.Length; i++)
            {
                address[i] ^= key[i];
            }
        }
    }

    /// <summary>Reads an address value; <paramref name="header"/> non-empty means XOR decoding.</summary>
    public static bool TryRead(ReadOnlySpan<byte> value, ReadOnlySpan<byte> header, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (!IsValid(value))
        {
            return false;
        }

        bool xor = !header.IsEmpty;
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        if (xor)
        {
            port ^= (ushort)(StunHeader.MagicCookie >> 16);
        }

        if (value[1] == (byte)StunAddressFamily.IPv4)
        {
            uint raw = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
            if (xor)
            {
                raw ^= StunHeader.MagicCookie;
            }

            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, raw);
            endPoint = new IPEndPoint(new IPAddress(v4), port);
            return true;
        }

        Span<byte> v6 = stackalloc byte[16];
        value.Slice(4, 16).CopyTo(v6);
        if (xor)
        {
            ReadOnlySpan<byte> key = header.Slice(4, 16);
            for (int i = 0; i < 16; i++)
            {
                v6[i] ^= key[i];
            }
        }

        endPoint = new IPEndPoint(new IPAddress(v6), port);
        return true;
    }
}
