using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Firezone.Tun.Packets;

/// <summary>
/// The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words, plus the incremental update of
/// RFC 1624 (equation 3: <c>HC' = ~(~HC + ~m + m')</c>) used by every header rewrite in this library.
/// </summary>
public static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> (as big-endian 16-bit words, an odd last byte padded with zero) to a running sum.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        int i = 0;
        if (BitConverter.IsLittleEndian && data.Length >= 32)
        {
            // RFC 1071 §2(B), byte-order independence: sum the words in memory order as 32-bit halves of native 64-bit
            // loads (no carry is lost below 2^32 additions), fold to 16 bits, then swap the bytes back.
            ulong native = 0;
            ref byte start = ref MemoryMarshal.GetReference(data);
            if (Vector256.IsHardwareAccelerated)
            {
                var accumulator = Vector256<ulong>.Zero;
                for (; data.Length - i >= 32; i += 32)
                {
                    var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt32());
                    accumulator += low + high;
                }

                native = Vector256.Sum(accumulator);
            }

            for (; data.Length - i >= 32; i += 32)
            {
                ulong a = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
                ulong b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i + 8));
                ulong c = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i + 16));
                ulong d = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i + 24));
                native += (a & 0xFFFFFFFF) + (a >> 32) + (b & 0xFFFFFFFF) + (b >> 32) + (c & 0xFFFFFFFF) + (c >> 32) + (d & 0xFFFFFFFF) + (d >> 32);
            }

            sum += BinaryPrimitives.ReverseEndianness(Fold(native));
        }

        while (data.Length - i >= 8)
        {
            ulong w = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (w >> 48) + ((w >> 32) & 0xFFFF) + ((w >> 16) & 0xFFFF) + (w & 0xFFFF);
            i += 8;
        }
        while (data.Length - i >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            i += 2;
        }
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>Folds a running sum to 16 bits with end-around carry (the one's-complement sum, not yet inverted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The checksum to store for a running sum: the one's complement of the folded sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>Checksum of <paramref name="data"/> from scratch.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>Running sum of an IPv4 or IPv6 pseudo-header (addresses of 4 or 16 bytes each).</summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int length)
    {
        ulong sum = Add(0, source);
        sum = Add(sum, destination);
        return sum + protocol + (uint)(length >> 16) + (uint)(length & 0xFFFF);
    }

    /// <summary>
    /// RFC 1624 incremental update: the checksum after the 16-bit-aligned field <paramref name="oldBytes"/> was replaced
    /// by <paramref name="newBytes"/> (same, even length).
    /// </summary>
    public static ushort Update(ushort checksum, ReadOnlySpan<byte> oldBytes, ReadOnlySpan<byte> newBytes)
    {
        ulong sum = (ushort)~checksum;
        for (int i = 0; i + 1 < oldBytes.Length; i += 2)
        {
            sum += (ushort)~BinaryPrimitives.ReadUInt16BigEndian(oldBytes[i..]);
            sum += BinaryPrimitives.ReadUInt16BigEndian(newBytes[i..]);
        }
        return Finish(sum);
    }

    /// <summary>RFC 1624 incremental update for one 16-bit word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
        => Finish((ulong)(ushort)~checksum + (ushort)~oldWord + newWord);

    /// <summary>
    /// Incremental update by whole running sums: removes <paramref name="removedSum"/> and adds <paramref name="addedSum"/>
    /// (e.g. an old and a new pseudo-header).
    /// </summary>
    public static ushort Adjust(ushort checksum, ulong removedSum, ulong addedSum)
        => Finish((ulong)(ushort)~checksum + (ushort)~Fold(removedSum) + Fold(addedSum));

    /// <summary>True if the one's-complement sum over <paramref name="sum"/> (data including its checksum) verifies.</summary>
    public static bool Verifies(ulong sum) => Fold(sum) == 0xFFFF;

    /// <summary>True if two stored checksums denote the same one's-complement value (0x0000 and 0xFFFF are both zero).</summary>
    public static bool Equivalent(ushort a, ushort b) => a == b || (a is 0 or 0xFFFF && b is 0 or 0xFFFF);
}
