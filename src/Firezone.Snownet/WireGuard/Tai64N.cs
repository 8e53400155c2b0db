using System.Buffers.Binary;

namespace Firezone.Snownet.WireGuard;

/// <summary>
/// TAI64N timestamps (12 bytes, big-endian seconds + 2^62 + 10, then nanoseconds) for handshake initiations. The
/// tunnel computes them as its wall-clock anchor plus the monotonic <c>now</c> (see <see cref="Tunnel"/>).
/// </summary>
internal static class Tai64N
{
    /// <summary>Length of a TAI64N label.</summary>
    public const int Length = 12;

    private const ulong Base = 0x4000_0000_0000_000AUL; // 2^62 + 10 s TAI-UTC offset, as WireGuard implementations write it.

    /// <summary>Writes the timestamp of <paramref name="time"/>.</summary>
    public static void Write(DateTimeOffset time, Span<byte> output)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = (ulong)(ticks / TimeSpan.TicksPerSecond);
        var nanos = (uint)(ticks % TimeSpan.TicksPerSecond * 100);
        BinaryPrimitives.WriteUInt64BigEndian(output, Base + seconds);
        BinaryPrimitives.WriteUInt32BigEndian(output[8..], nanos);
    }

    /// <summary>The instant a label written by <see cref="Write"/> denotes (100 ns resolution; diagnostics and tests).</summary>
    public static DateTimeOffset Read(ReadOnlySpan<byte> label)
    {
        var seconds = BinaryPrimitives.ReadUInt64BigEndian(label) - Base;
        var nanos = BinaryPrimitives.ReadUInt32BigEndian(label[8..]);
        return DateTimeOffset.UnixEpoch + TimeSpan.FromTicks((long)seconds * TimeSpan.TicksPerSecond + nanos / 100);
    }

    /// <summary>True if <paramref name="candidate"/> is strictly later than <paramref name="previous"/>.</summary>
    public static bool IsAfter(ReadOnlySpan<byte> candidate, ReadOnlySpan<byte> previous) =>
        candidate[..Length].SequenceCompareTo(previous[..Length]) > 0;
}
