namespace Firezone.Connlib.Io;

/// <summary>
/// A bounded single-producer single-consumer queue of IP packets in preallocated slots (no allocation, no lock): the
/// producer fills <see cref="TryBeginWrite"/>'s slot and publishes it with <see cref="CommitWrite"/>, the consumer
/// reads <see cref="TryPeek"/>'s slot and releases it with <see cref="Release"/>. Each slot holds a packet at
/// <see cref="Headroom"/> (room for in-place NAT46 growth). <see cref="CommitWrite"/> reports when the queue was
/// empty before (wake the consumer); <see cref="Release"/> when it was full before (wake a waiting producer).
/// </summary>
internal sealed class PacketRing
{
    private readonly byte[][] _slots;
    private readonly int[] _lengths;
    private long _head; // consumer's
    private long _tail; // producer's
    private int _count;

    /// <summary>Creates a ring of <paramref name="capacity"/> slots of <paramref name="slotSize"/> bytes each.</summary>
    public PacketRing(int capacity, int slotSize, int headroom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        Headroom = headroom;
        _slots = new byte[capacity][];
        _lengths = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new byte[slotSize];
        }
    }

    /// <summary>Slots.</summary>
    public int Capacity { get; }

    /// <summary>Where a packet starts in its slot.</summary>
    public int Headroom { get; }

    /// <summary>Packets queued now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Producer: the next free slot (the whole array; write at <see cref="Headroom"/>), or false when full.</summary>
    public bool TryBeginWrite(out byte[] slot)
    {
        if (Volatile.Read(ref _count) >= Capacity)
        {
            slot = null!;
            return false;
        }

        slot = _slots[_tail % Capacity];
        return true;
    }

    /// <summary>Producer: publishes the slot of <see cref="TryBeginWrite"/> with <paramref name="length"/> bytes. True when the queue was empty.</summary>
    public bool CommitWrite(int length)
    {
        _lengths[_tail % Capacity] = length;
        _tail++;
        return Interlocked.Increment(ref _count) == 1;
    }

    /// <summary>Consumer: the oldest packet's slot and length, or false when empty.</summary>
    public bool TryPeek(out byte[] slot, out int length)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            slot = null!;
            length = 0;
            return false;
        }

        long index = _head % Capacity;
        slot = _slots[index];
        length = _lengths[index];
        return true;
    }

    /// <summary>Consumer: frees the slot of <see cref="TryPeek"/>. True when the queue was full.</summary>
    public bool Release()
    {
        _head++;
        return Interlocked.Decrement(ref _count) == Capacity - 1;
    }
}
