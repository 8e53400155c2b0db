namespace Firezone.Snownet.Turn;

/// <summary>
/// A command waiting in the <see cref="TurnServer"/>'s queue, with what the server needs to finish it when the host
/// polls it: a CreateAllocation remembers its allocation and generation (void if the allocation has since moved or
/// failed), an Allocate response is built only then (see <see cref="PendingAllocateResponse"/>).
/// </summary>
internal readonly record struct QueuedCommand(TurnServerCommand Command, RelayAllocation? Allocation = null, int Generation = 0, PendingAllocateResponse? Pending = null);

/// <summary>A growable ring buffer of <see cref="QueuedCommand"/>: FIFO, plus pushing to the front for retried allocation sockets.</summary>
internal sealed class TurnServerCommandQueue
{
    private QueuedCommand[] _items = new QueuedCommand[16];
    private int _head;
    private int _count;

    /// <summary>Number of queued commands.</summary>
    public int Count => _count;

    /// <summary>Appends at the back.</summary>
    public void Enqueue(in QueuedCommand command)
    {
        Grow();
        _items[(_head + _count) % _items.Length] = command;
        _count++;
    }

    /// <summary>Inserts at the front (polled next).</summary>
    public void PushFront(in QueuedCommand command)
    {
        Grow();
        _head = (_head - 1 + _items.Length) % _items.Length;
        _items[_head] = command;
        _count++;
    }

    /// <summary>Takes the front command.</summary>
    public bool TryDequeue(out QueuedCommand command)
    {
        if (_count == 0)
        {
            command = default;
            return false;
        }

        command = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        _count--;
        return true;
    }

    private void Grow()
    {
        if (_count < _items.Length)
        {
            return;
        }

        var larger = new QueuedCommand[_items.Length * 2];
        for (int i = 0; i < _count; i++)
        {
            larger[i] = _items[(_head + i) % _items.Length];
        }

        _items = larger;
        _head = 0;
    }
}
