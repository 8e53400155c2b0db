using System.Buffers.Binary;

namespace Firezone.Snownet.WireGuard;

/// <summary>TAI64N timestamps (12 bytes, big-endian seconds + 2^62, then nanoseconds) for handshake initiations.</summary>
internal static class Tai64N
{
    /// <summary>Length of a TAI64N label.</summary>
    public const int Length = 12;

    private const ulong Base = 0x4000_0000_0000_000AUL; // 2^62 + 10 s TAI-UTC offset, as WireGuard implementations write it.

    /// <summary>Writes the timestamp of <paramref name="now"/> (UTC).</summary>
    public static void Write(DateTime now, Span<byte> output)
    {
        var ticks = now.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks;
        var seconds = (ulong)(ticks / TimeSpan.TicksPerSecond);
        var nanos = (uint)(ticks % TimeSpan.TicksPerSecond * 100);
        BinaryPrimitives.WriteUInt64BigEndian(output, Base + seconds);
        BinaryPrimitives.WriteUInt32BigEndian(output[8..], nanos);
    }

    /// <summary>True if <paramref name="candidate"/> is strictly later than <paramref name="previous"/>.</summary>
    public static bool IsAfter(ReadOnlySpan<byte> candidate, ReadOnlySpan<byte> previous) =>
        candidate[..Length].SequenceCompareTo(previous[..Length]) > 0;
}
