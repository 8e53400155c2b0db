using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

public class ChecksumProperties
{
    /// <summary>RFC 1071 the plain way: big-endian 16-bit words, an odd last byte padded, end-around carry.</summary>
    private static int Reference(uint start, byte[] data)
    {
        ulong sum = start;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (ulong)((data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0));
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (int)(sum % 0xFFFF); // 0 and 0xFFFF are the same one's-complement value
    }

    [Property(MaxTest = 500)]
    public Property The_running_sum_of_any_bytes_at_any_offset_equals_the_plain_RFC_1071_sum() =>
        Prop.ForAll(PacketGen.Bytes(0, 3000).ToArbitrary(), Gen.Choose(0, 7).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (data, skip, start) =>
        {
            var slice = data.AsSpan(Math.Min(skip, data.Length)).ToArray(); // unaligned starts
            var offset = data.AsSpan(Math.Min(skip, data.Length));
            Assert.Equal(Reference((uint)start, slice), InternetChecksum.Fold(InternetChecksum.Add((uint)start, offset)) % 0xFFFF);
        });
}
