using System.Buffers;

namespace Firezone.Snownet.WireGuard;

/// <summary>FIFO of IP packets waiting for a session (at most <see cref="WireGuardTimers.MaxQueuedPackets"/>); buffers are pooled.</summary>
internal sealed class PacketQueue
{
    private readonly (byte[] Buffer, int Length)[] _ring = new (byte[], int)[WireGuardTimers.MaxQueuedPackets];
    private int _head;
    private int _count;

    /// <summary>Number of queued packets.</summary>
    public int Count => _count;

    /// <summary>Copies a packet in; false (packet dropped) if the queue is full.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> packet)
    {
        if (_count == _ring.Length) return false;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(packet.Length, 1));
        packet.CopyTo(buffer);
        _ring[(_head + _count) % _ring.Length] = (buffer, packet.Length);
        _count++;
        return true;
    }

    /// <summary>Length of the oldest packet, or -1 if empty.</summary>
    public int PeekLength => _count == 0 ? -1 : _ring[_head].Length;

    /// <summary>Copies the oldest packet into <paramref name="destination"/> and removes it; returns its length.</summary>
    public int Dequeue(Span<byte> destination)
    {
        var (buffer, length) = _ring[_head];
        buffer.AsSpan(0, length).CopyTo(destination);
        Release();
        return length;
    }

    /// <summary>The oldest packet without removing it.</summary>
    public ReadOnlySpan<byte> Peek() => _ring[_head].Buffer.AsSpan(0, _ring[_head].Length);

    /// <summary>Removes the oldest packet.</summary>
    public void Release()
    {
        ArrayPool<byte>.Shared.Return(_ring[_head].Buffer);
        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        _count--;
    }

    /// <summary>Drops everything; returns how many packets were dropped.</summary>
    public int Clear()
    {
        var dropped = _count;
        while (_count > 0) Release();
        _head = 0;
        return dropped;
    }
}
