namespace Firezone.Tun.Io;

/// <summary>
/// A TUN device that can merge written TCP segments into super-packets (<c>IFF_VNET_HDR</c> with GSO): the writer
/// hands packets to <see cref="Enqueue"/> and calls <see cref="FlushQueued"/> when its batch ends (nothing stays
/// held past a flush). Used by one writer thread.
/// </summary>
internal interface ICoalescingTun
{
    /// <summary>Writes or holds one IP packet for merging; false when a write failed (a drop).</summary>
    bool Enqueue(ReadOnlySpan<byte> packet);

    /// <summary>True while packets are held.</summary>
    bool HasQueued { get; }

    /// <summary>Writes every held packet; false when a write failed.</summary>
    bool FlushQueued();
}
