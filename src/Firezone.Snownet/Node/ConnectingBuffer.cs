namespace Firezone.Snownet;

/// <summary>
/// WireGuard datagrams a connection produced before a path was nominated (snownet spec §4.3, §4.7): at most 10, the
/// oldest dropped; flushed in order on nomination. The gateway's handshake response to a client initiation that came
/// before its own nomination would otherwise be lost.
/// </summary>
internal sealed class ConnectingBuffer
{
    /// <summary>Capacity in datagrams.</summary>
    public const int Capacity = 10;

    private readonly byte[][] _slots = new byte[Capacity][];
    private readonly int[] _lengths = new int[Capacity];
    private int _start;
    private int _count;

    public int Count => _count;

    /// <summary>Datagrams dropped because the buffer was full.</summary>
    public long Dropped { get; private set; }

    public void Add(ReadOnlySpan<byte> datagram)
    {
        if (_count == Capacity)
        {
            _start = (_start + 1) % Capacity;
            _count--;
            Dropped++;
        }

        int slot = (_start + _count) % Capacity;
        var buffer = _slots[slot];
        if (buffer is null || buffer.Length < datagram.Length)
        {
            buffer = _slots[slot] = new byte[Math.Max(datagram.Length, Node.BufferSize)];
        }

        datagram.CopyTo(buffer);
        _lengths[slot] = datagram.Length;
        _count++;
    }

    /// <summary>Takes the oldest datagram (valid until the next <see cref="Add"/>).</summary>
    public bool TryTake(out ReadOnlySpan<byte> datagram)
    {
        if (_count == 0)
        {
            datagram = default;
            return false;
        }

        datagram = _slots[_start].AsSpan(0, _lengths[_start]);
        _start = (_start + 1) % Capacity;
        _count--;
        return true;
    }

    public void Clear()
    {
        _start = 0;
        _count = 0;
    }
}
