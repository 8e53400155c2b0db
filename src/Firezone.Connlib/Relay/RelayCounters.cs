using System.Runtime.InteropServices;

namespace Firezone.Connlib.Relay;

/// <summary>Why the relay's data path dropped a datagram.</summary>
internal enum RelayDropReason
{
    /// <summary>ChannelData for a channel that is not bound (upstream drops these silently too).</summary>
    UnknownChannel,

    /// <summary>Peer traffic from an address with neither a bound channel nor a permission (upstream: silent).</summary>
    UnknownPeer,

    /// <summary>A bound channel whose allocation socket is gone (freed concurrently).</summary>
    NoAllocationSocket,

    /// <summary>The kernel refused the send (buffer full, no route, socket closed).</summary>
    SendFailed,

    /// <summary>The control plane's queue was full (a STUN or unmatched peer datagram was not handled).</summary>
    ControlQueueFull,
}

/// <summary>
/// Counters of one data-path thread: written by that thread only (plain stores), read by anyone (64-bit reads are
/// atomic; a reader may see a value a few packets old). Padded so two threads' counters never share a cache line.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct RelayCounterBlock
{
    [FieldOffset(64)] public long ClientToPeerPackets;
    [FieldOffset(72)] public long ClientToPeerBytes;
    [FieldOffset(80)] public long PeerToClientPackets;
    [FieldOffset(88)] public long PeerToClientBytes;
    [FieldOffset(96)] public long UnknownChannel;
    [FieldOffset(104)] public long NoAllocationSocket;
    [FieldOffset(112)] public long SendFailed;
    [FieldOffset(120)] public long ControlQueueFull;
    [FieldOffset(128)] public long UnknownPeer;
}

/// <summary>The counters of every data-path thread of a session, summed on read.</summary>
internal sealed class RelayCounters
{
    private readonly RelayCounterBlock[] _blocks;

    public RelayCounters(int threads) => _blocks = new RelayCounterBlock[threads];

    /// <summary>The block of thread <paramref name="index"/> (that thread writes it, nobody else).</summary>
    public ref RelayCounterBlock For(int index) => ref _blocks[index];

    public long ClientToPeerPackets => Sum(static (in RelayCounterBlock b) => b.ClientToPeerPackets);

    public long ClientToPeerBytes => Sum(static (in RelayCounterBlock b) => b.ClientToPeerBytes);

    public long PeerToClientPackets => Sum(static (in RelayCounterBlock b) => b.PeerToClientPackets);

    public long PeerToClientBytes => Sum(static (in RelayCounterBlock b) => b.PeerToClientBytes);

    public long Drops(RelayDropReason reason) => reason switch
    {
        RelayDropReason.UnknownChannel => Sum(static (in RelayCounterBlock b) => b.UnknownChannel),
        RelayDropReason.UnknownPeer => Sum(static (in RelayCounterBlock b) => b.UnknownPeer),
        RelayDropReason.NoAllocationSocket => Sum(static (in RelayCounterBlock b) => b.NoAllocationSocket),
        RelayDropReason.SendFailed => Sum(static (in RelayCounterBlock b) => b.SendFailed),
        _ => Sum(static (in RelayCounterBlock b) => b.ControlQueueFull),
    };

    private delegate long Field(in RelayCounterBlock block);

    private long Sum(Field field)
    {
        long total = 0;
        for (int i = 0; i < _blocks.Length; i++)
        {
            total += field(in _blocks[i]); // a plain 64-bit load of another thread's counter
        }

        return total;
    }
}
