using System.Runtime.InteropServices;
using System.Text;

namespace Firezone.Tun.Netlink;

/// <summary>Builds one netlink request: header, fixed family struct, then 4-byte aligned attributes (host byte order).</summary>
internal sealed class NetlinkMessageWriter
{
    private readonly byte[] _buffer = new byte[4096];
    private int _length;

    public void Begin(ushort type, ushort flags, uint sequence)
    {
        Array.Clear(_buffer, 0, _buffer.Length);
        Span<byte> h = _buffer;
        MemoryMarshal.Write(h[4..], in type);
        MemoryMarshal.Write(h[6..], in flags);
        MemoryMarshal.Write(h[8..], in sequence);
        _length = RtNetlink.HeaderLength;
    }

    public ushort Type => MemoryMarshal.Read<ushort>(_buffer.AsSpan(4));

    public uint Sequence => MemoryMarshal.Read<uint>(_buffer.AsSpan(8));

    /// <summary>Reserves a zeroed fixed-size struct (ifinfomsg, ifaddrmsg, rtmsg, fib_rule_hdr).</summary>
    public Span<byte> Fixed(int size)
    {
        Span<byte> s = _buffer.AsSpan(_length, size);
        _length += RtNetlink.Align(size);
        return s;
    }

    public void Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        ushort len = (ushort)(4 + value.Length);
        Span<byte> a = _buffer.AsSpan(_length);
        MemoryMarshal.Write(a, in len);
        MemoryMarshal.Write(a[2..], in type);
        value.CopyTo(a[4..]);
        _length += RtNetlink.Align(len);
    }

    public void AttributeU32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        MemoryMarshal.Write(v, in value);
        Attribute(type, v);
    }

    public void AttributeU8(ushort type, byte value) => Attribute(type, [value]);

    public void AttributeString(ushort type, string value)
    {
        Span<byte> v = stackalloc byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, v);
        v[^1] = 0;
        Attribute(type, v);
    }

    public ReadOnlySpan<byte> Finish()
    {
        uint len = (uint)_length;
        MemoryMarshal.Write(_buffer.AsSpan(), in len);
        return _buffer.AsSpan(0, _length);
    }
}
