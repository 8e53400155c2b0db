using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Netlink;
using Firezone.Tun.Tests.Packets;

namespace Firezone.Tun.Tests.Netlink;

public class NetlinkMessageTests
{
    private static Gen<(ushort Type, byte[] Value)> AttributeGen =>
        from type in Gen.Choose(1, 0x3FFF)
        from value in PacketGen.Bytes(0, 40)
        select ((ushort)type, value);

    [Property]
    public Property Attributes_written_are_read_back_after_the_fixed_header() => Prop.ForAll(
        Gen.ArrayOf(AttributeGen).Select(a => a.Take(20).DistinctBy(x => x.Type).ToArray()).ToArbitrary(), attributes =>
    {
        var w = new NetlinkMessageWriter();
        w.Begin(24, 0x5, 77);
        w.Fixed(12)[0] = 10;
        foreach (var (t, v) in attributes) w.Attribute(t, v);
        byte[] message = w.Finish().ToArray();
        Assert.Equal(message.Length, MemoryMarshal.Read<int>(message));
        Assert.Equal(0, message.Length % 4);
        Assert.Equal(24, MemoryMarshal.Read<ushort>(message.AsSpan(4)));
        Assert.Equal(77u, MemoryMarshal.Read<uint>(message.AsSpan(8)));
        var m = new NetlinkMessage(24, message[16..]);
        Assert.Equal(10, m.U8(0));
        foreach (var (t, v) in attributes)
        {
            Assert.True(m.TryGetAttribute(12, t, out var read));
            Assert.Equal(v, read.ToArray());
        }
    });

    [Fact]
    public void Table_ids_above_255_travel_as_32_bit_attributes()
    {
        var w = new NetlinkMessageWriter();
        w.Begin(32, 0x605, 1);
        w.Fixed(12);
        w.AttributeU32(15, TunDeviceManager.FirezoneRouteTable);
        byte[] message = w.Finish().ToArray();
        var m = new NetlinkMessage(32, message[16..]);
        Assert.True(m.TryGetU32(12, 15, out uint table));
        Assert.Equal(0x2021fd00u, table);
        Assert.Equal(16 + 12 + 8, message.Length);
    }

    [Property]
    public Property Attribute_lookup_never_throws_on_garbage() => Prop.ForAll(
        Arb.Zip(PacketGen.Bytes(0, 200).ToArbitrary(), Gen.Choose(0, 20).ToArbitrary()), c =>
    {
        var (body, fixedLength) = c;
        var m = new NetlinkMessage(16, body);
        for (ushort t = 0; t < 20; t++)
        {
            m.TryGetAttribute(fixedLength, t, out _);
            m.TryGetU32(fixedLength, t, out _);
        }
        return true;
    });
}
