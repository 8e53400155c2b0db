using System.Net;
using Firezone.Snownet;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// The gateway's own outgoing datagrams (p2p control replies, ICMP answers), encrypted straight into pooled slots of
/// <see cref="Node.BufferSize"/> bytes: a ring of at most <see cref="Capacity"/> slots, allocated on first use and
/// reused afterwards, so steady-state queueing allocates nothing. When full, new datagrams are dropped (counted in
/// <see cref="Dropped"/>): a peer cannot grow it. A polled transmit's payload stays valid until the next call that
/// enqueues <see cref="Capacity"/> more datagrams, which is after the caller's next call into the state.
/// </summary>
internal sealed class PooledTransmitQueue
{
    /// <summary>Datagrams queued at most.</summary>
    public const int Capacity = 128;

    private readonly byte[]?[] _slots = new byte[]?[Capacity];
    private readonly IPEndPoint?[] _sources = new IPEndPoint?[Capacity];
    private readonly IPEndPoint?[] _destinations = new IPEndPoint?[Capacity];
    private readonly int[] _offsets = new int[Capacity];
    private readonly int[] _lengths = new int[Capacity];
    private int _head;
    private int _count;

    /// <summary>Datagrams queued now.</summary>
    public int Count => _count;

    /// <summary>Datagrams dropped because the queue was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>The buffer of the next free slot, or an empty span when the queue is full (the datagram is dropped).</summary>
    public Span<byte> Reserve()
    {
        if (_count == Capacity)
        {
            Dropped++;
            return Span<byte>.Empty;
        }

        int tail = (_head + _count) % Capacity;
        return _slots[tail] ??= new byte[Node.BufferSize];
    }

    /// <summary>Queues the datagram written into the slot <see cref="Reserve"/> returned.</summary>
    public void Commit(IPEndPoint? source, IPEndPoint destination, int offset, int length)
    {
        int tail = (_head + _count) % Capacity;
        _sources[tail] = source;
        _destinations[tail] = destination;
        _offsets[tail] = offset;
        _lengths[tail] = length;
        _count++;
    }

    /// <summary>The oldest queued datagram, or null.</summary>
    public Transmit? Dequeue()
    {
        if (_count == 0)
        {
            return null;
        }

        int i = _head;
        _head = (_head + 1) % Capacity;
        _count--;
        var transmit = new Transmit(_sources[i], _destinations[i]!, _slots[i].AsMemory(_offsets[i], _lengths[i]));
        _sources[i] = null;
        _destinations[i] = null;
        return transmit;
    }
}
