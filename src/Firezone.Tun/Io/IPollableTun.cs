using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>
/// A TUN device whose <see cref="ITun.TryRead"/> reads its descriptor directly: the reading thread can wait for it
/// with <see cref="FdPoll"/> instead of <see cref="ITun.WaitReadableAsync"/> (no readiness thread, no thread-pool
/// continuation between the kernel and the reader).
/// </summary>
internal interface IPollableTun
{
    /// <summary>The descriptor to poll for readability, or null when reads go through a queue of the device's own.</summary>
    SafeHandle? ReadHandle { get; }
}
