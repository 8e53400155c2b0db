namespace Firezone.Snownet.Turn;

/// <summary>
/// Something that can wait in a <see cref="DeadlineQueue"/>. The entry remembers its position in the heap, so the
/// queue can move or remove it in O(log n) without searching and without leaving stale copies behind.
/// </summary>
internal abstract class DeadlineEntry
{
    /// <summary>Position in the owning queue's heap; -1 when not queued. Maintained by <see cref="DeadlineQueue"/> only.</summary>
    internal int HeapIndex = -1;

    /// <summary>True while the entry waits in a queue.</summary>
    public bool IsScheduled => HeapIndex >= 0;
}

/// <summary>
/// An indexed binary min-heap of deadlines, keyed on <see langword="long"/> ticks (the <c>TimeSpan.Ticks</c> of
/// the monotonic instants the engines run on; the queue itself knows no clock).
/// Every entry is in the heap at most once: <see cref="Schedule"/> on a queued entry moves it, <see cref="Remove"/>
/// takes it out, both O(log n); <see cref="TryPeek"/> is O(1). So the heap never holds more nodes than there are
/// live timed items, however often a remote peer refreshes them (a lazy-deletion heap would grow with every refresh).
/// </summary>
/// <remarks>
/// Entries due at the same tick come out by ascending <c>rank</c> (a small number chosen by the caller, e.g. "allocations
/// before channels"), then in the order they were (re)scheduled. Not thread-safe.
/// </remarks>
internal sealed class DeadlineQueue
{
    /// <summary>Largest rank <see cref="Schedule"/> accepts.</summary>
    public const int MaxRank = 127;

    private const int MinCapacity = 16;
    private const int RankShift = 56;
    private const long SequenceMask = (1L << RankShift) - 1;

    private Node[] _nodes = new Node[MinCapacity];
    private int _count;
    private long _sequence;

    private struct Node
    {
        public long Due;
        public long Order; // rank << 56 | sequence: the tie-break for equal deadlines
        public DeadlineEntry Entry;
    }

    /// <summary>Number of queued entries.</summary>
    public int Count => _count;

    /// <summary>The earliest deadline, in O(1); false when the queue is empty.</summary>
    public bool TryPeek(out long due)
    {
        if (_count == 0)
        {
            due = 0;
            return false;
        }

        due = _nodes[0].Due;
        return true;
    }

    /// <summary>The deadline of a queued entry.</summary>
    public long DueOf(DeadlineEntry entry)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(entry.HeapIndex, nameof(entry));
        return _nodes[entry.HeapIndex].Due;
    }

    /// <summary>Queues <paramref name="entry"/> for <paramref name="due"/>, or moves it there if it is already queued.</summary>
    public void Schedule(DeadlineEntry entry, long due, int rank)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if ((uint)rank > MaxRank)
        {
            throw new ArgumentOutOfRangeException(nameof(rank));
        }

        long order = ((long)rank << RankShift) | (_sequence++ & SequenceMask);
        int index = entry.HeapIndex;
        if (index < 0)
        {
            if (_count == _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
            }

            index = _count++;
            _nodes[index] = new Node { Due = due, Order = order, Entry = entry };
            entry.HeapIndex = index;
            SiftUp(index);
            return;
        }

        if (index >= _count || !ReferenceEquals(_nodes[index].Entry, entry))
        {
            throw new InvalidOperationException("The entry belongs to another queue.");
        }

        _nodes[index].Due = due;
        _nodes[index].Order = order;
        if (!SiftUp(index))
        {
            SiftDown(index);
        }
    }

    /// <summary>Takes <paramref name="entry"/> out of the queue; false if it was not queued.</summary>
    public bool Remove(DeadlineEntry entry)
    {
        int index = entry.HeapIndex;
        if (index < 0)
        {
            return false;
        }

        if (index >= _count || !ReferenceEquals(_nodes[index].Entry, entry))
        {
            throw new InvalidOperationException("The entry belongs to another queue.");
        }

        RemoveAt(index);
        return true;
    }

    /// <summary>Takes the earliest entry if its deadline is at or before <paramref name="now"/>.</summary>
    public bool TryDequeueDue(long now, out DeadlineEntry entry)
    {
        if (_count == 0 || _nodes[0].Due > now)
        {
            entry = null!;
            return false;
        }

        entry = _nodes[0].Entry;
        RemoveAt(0);
        return true;
    }

    private void RemoveAt(int index)
    {
        _nodes[index].Entry.HeapIndex = -1;
        int last = --_count;
        if (index != last)
        {
            _nodes[index] = _nodes[last];
            _nodes[index].Entry.HeapIndex = index;
            _nodes[last] = default;
            if (!SiftUp(index))
            {
                SiftDown(index);
            }
        }
        else
        {
            _nodes[last] = default;
        }

        // Give memory back after a mass expiry (amortised O(1)); the array never exceeds twice the peak count.
        if (_nodes.Length > MinCapacity && _count < _nodes.Length / 4)
        {
            Array.Resize(ref _nodes, Math.Max(MinCapacity, _nodes.Length / 2));
        }
    }

    private static bool Less(in Node a, in Node b) => a.Due < b.Due || (a.Due == b.Due && a.Order < b.Order);

    /// <summary>Moves the node at <paramref name="index"/> towards the root; true if it moved.</summary>
    private bool SiftUp(int index)
    {
        var node = _nodes[index];
        int start = index;
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            if (!Less(node, _nodes[parent]))
            {
                break;
            }

            _nodes[index] = _nodes[parent];
            _nodes[index].Entry.HeapIndex = index;
            index = parent;
        }

        _nodes[index] = node;
        node.Entry.HeapIndex = index;
        return index != start;
    }

    private void SiftDown(int index)
    {
        var node = _nodes[index];
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && Less(_nodes[child + 1], _nodes[child]))
            {
                child++;
            }

            if (!Less(_nodes[child], node))
            {
                break;
            }

            _nodes[index] = _nodes[child];
            _nodes[index].Entry.HeapIndex = index;
            index = child;
        }

        _nodes[index] = node;
        node.Entry.HeapIndex = index;
    }
}
