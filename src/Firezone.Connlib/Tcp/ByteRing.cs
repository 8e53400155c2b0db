namespace Firezone.Connlib.Tcp;

/// <summary>
/// A fixed-capacity circular byte buffer over a caller-supplied (pooled) array: the readable bytes are
/// <c>[0, Count)</c>; bytes may also be written ahead of <see cref="Count"/> (out-of-order data) and committed later.
/// </summary>
internal sealed class ByteRing
{
    private byte[] _buffer;
    private int _capacity;
    private int _head;

    public ByteRing(byte[] buffer, int capacity)
    {
        _buffer = buffer;
        _capacity = capacity;
    }

    public int Capacity => _capacity;
    public int Count { get; private set; }
    public int Free => _capacity - Count;
    public byte[] Array => _buffer;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the number of bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        WriteAt(0, data[..n]);
        Count += n;
        return n;
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> bytes past <see cref="Count"/> (must fit in <see cref="Free"/>).</summary>
    public void WriteAt(int offset, ReadOnlySpan<byte> data)
    {
        int start = (_head + Count + offset) % _capacity;
        int first = Math.Min(data.Length, _capacity - start);
        data[..first].CopyTo(_buffer.AsSpan(start));
        data[first..].CopyTo(_buffer.AsSpan(0));
    }

    /// <summary>Makes <paramref name="n"/> bytes written ahead by <see cref="WriteAt"/> readable.</summary>
    public void Commit(int n) => Count += n;

    /// <summary>Copies bytes from <paramref name="offset"/> into <paramref name="destination"/> without consuming them.</summary>
    public void Peek(int offset, Span<byte> destination)
    {
        int start = (_head + offset) % _capacity;
        int first = Math.Min(destination.Length, _capacity - start);
        _buffer.AsSpan(start, first).CopyTo(destination);
        _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Copies and consumes up to <paramref name="destination"/>.Length bytes; returns how many.</summary>
    public int Read(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Count);
        Peek(0, destination[..n]);
        Discard(n);
        return n;
    }

    /// <summary>Consumes <paramref name="n"/> readable bytes.</summary>
    public void Discard(int n)
    {
        _head = (_head + n) % _capacity;
        Count -= n; // the head never jumps back to 0: out-of-order bytes may sit ahead of it
    }

    /// <summary>Hands the array back (the ring is unusable afterwards).</summary>
    public byte[] Detach()
    {
        byte[] b = _buffer;
        _buffer = [];
        _capacity = 1;
        Count = 0;
        _head = 0;
        return b;
    }
}
