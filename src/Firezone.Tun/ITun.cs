namespace Firezone.Tun;

/// <summary>Result of a non-blocking TUN read.</summary>
public enum TunReadStatus
{
    /// <summary>One packet was read.</summary>
    Packet,
    /// <summary>No packet is available now; wait for readiness.</summary>
    WouldBlock,
    /// <summary>The device is gone (closed, disposed or deleted); drop the TUN.</summary>
    Closed,
}

/// <summary>
/// A layer-3 TUN device: reads and writes whole IP packets (no packet-information prefix, no offload header).
/// One owner at a time; the object may move between threads. Spec: hosts-and-tun §2.1.
/// </summary>
public interface ITun : IDisposable
{
    /// <summary>Interface name (e.g. <c>tun-firezone</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Non-blocking read of exactly one IP packet into <paramref name="buffer"/> (which should hold 1280 bytes; a
    /// longer packet is truncated by the kernel and then rejected by the parser).
    /// </summary>
    TunReadStatus TryRead(Span<byte> buffer, out int length);

    /// <summary>Writes one whole IPv4 or IPv6 packet; false if it was dropped (device queue full).</summary>
    bool TryWrite(ReadOnlySpan<byte> packet);

    /// <summary>
    /// Completes when a read may succeed (or the device is closed, which the next <see cref="TryRead"/> reports).
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    ValueTask WaitReadableAsync(CancellationToken cancellationToken = default);
}

/// <summary>Helpers over <see cref="ITun"/>.</summary>
public static class TunExtensions
{
    /// <summary>Waits for and reads one packet; returns its length, or 0 when the device is closed.</summary>
    public static async ValueTask<int> ReadAsync(this ITun tun, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tun);
        while (true)
        {
            switch (tun.TryRead(buffer.Span, out int length))
            {
                case TunReadStatus.Packet: return length;
                case TunReadStatus.Closed: return 0;
            }
            await tun.WaitReadableAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
