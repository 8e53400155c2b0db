using System.Buffers.Binary;

namespace Firezone.Tun.Linux;

/// <summary>
/// The 10-byte <c>struct virtio_net_hdr</c> that precedes every packet on a TUN opened with <c>IFF_VNET_HDR</c>
/// (linux/virtio_net.h; little-endian on x86-64 and arm64, the only layouts the native layer supports): whether the
/// packet carries a partial checksum to complete (<see cref="NeedsChecksum"/>: the field at
/// <see cref="ChecksumStart"/> + <see cref="ChecksumOffset"/> holds the pseudo-header sum) and whether it is a TCP
/// super-packet of <see cref="GsoSize"/>-byte segments (<see cref="GsoType"/>).
/// </summary>
internal readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    /// <summary>Bytes of the header.</summary>
    public const int Size = 10;

    /// <summary><c>VIRTIO_NET_HDR_F_NEEDS_CSUM</c>.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary><c>VIRTIO_NET_HDR_GSO_NONE</c>.</summary>
    public const byte GsoNone = 0;

    /// <summary><c>VIRTIO_NET_HDR_GSO_TCPV4</c>.</summary>
    public const byte GsoTcpV4 = 1;

    /// <summary><c>VIRTIO_NET_HDR_GSO_TCPV6</c>.</summary>
    public const byte GsoTcpV6 = 4;

    /// <summary><c>VIRTIO_NET_HDR_GSO_ECN</c> (a flag on the GSO type).</summary>
    public const byte GsoEcn = 0x80;

    /// <summary>True when the checksum at <see cref="ChecksumStart"/> + <see cref="ChecksumOffset"/> is partial.</summary>
    public bool NeedsChecksum => (Flags & FlagNeedsChecksum) != 0;

    /// <summary>Reads a header from the first <see cref="Size"/> bytes.</summary>
    public static VirtioNetHeader Read(ReadOnlySpan<byte> source) => new(
        source[0],
        source[1],
        BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[8..]));

    /// <summary>Writes the header into the first <see cref="Size"/> bytes.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ChecksumOffset);
    }
}
