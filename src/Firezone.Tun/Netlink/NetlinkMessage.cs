using System.Runtime.InteropServices;

namespace Firezone.Tun.Netlink;

/// <summary>One received netlink message (copied out of the receive buffer) with attribute lookup.</summary>
internal sealed class NetlinkMessage(ushort type, byte[] body)
{
    /// <summary>Message type (RTM_NEWADDR, RTM_NEWROUTE…).</summary>
    public ushort Type { get; } = type;

    /// <summary>Bytes after the netlink header: the fixed struct, then attributes.</summary>
    public byte[] Body { get; } = body;

    public byte U8(int offset) => Body[offset];

    public uint U32(int offset) => MemoryMarshal.Read<uint>(Body.AsSpan(offset));

    public int I32(int offset) => MemoryMarshal.Read<int>(Body.AsSpan(offset));

    /// <summary>Finds attribute <paramref name="type"/> after a fixed struct of <paramref name="fixedLength"/> bytes.</summary>
    public bool TryGetAttribute(int fixedLength, ushort type, out ReadOnlySpan<byte> value)
    {
        value = default;
        ReadOnlySpan<byte> rest = Body.AsSpan();
        int offset = RtNetlink.Align(fixedLength);
        while (offset + 4 <= rest.Length)
        {
            ushort len = MemoryMarshal.Read<ushort>(rest[offset..]);
            ushort t = (ushort)(MemoryMarshal.Read<ushort>(rest[(offset + 2)..]) & 0x3FFF); // strip NLA_F_NESTED / NET_BYTEORDER
            if (len < 4 || offset + len > rest.Length) return false;
            if (t == type)
            {
                value = rest.Slice(offset + 4, len - 4);
                return true;
            }
            offset += RtNetlink.Align(len);
        }
        return false;
    }

    public bool TryGetU32(int fixedLength, ushort type, out uint value)
    {
        value = 0;
        if (!TryGetAttribute(fixedLength, type, out var v) || v.Length < 4) return false;
        value = MemoryMarshal.Read<uint>(v);
        return true;
    }
}
