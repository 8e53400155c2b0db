using System.Buffers;
using System.Net;

namespace Firezone.Snownet;

/// <summary>
/// Datagrams the node itself produced (ICE checks, WireGuard handshakes and keepalives, flushed packets), in FIFO
/// order, in pooled buffers. A datagram handed out by <see cref="TryDequeue"/> stays valid until the next call: its
/// buffer goes back to the pool then.
/// </summary>
internal sealed class TransmitQueue
{
    private readonly Queue<(IPEndPoint? Source, IPEndPoint Destination, byte[] Buffer, int Length)> _queue = new();
    private byte[]? _lent;

    public int Count => _queue.Count;

    public void Enqueue(IPEndPoint? source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, payload.Length));
        payload.CopyTo(buffer);
        _queue.Enqueue((source, destination, buffer, payload.Length));
    }

    public bool TryDequeue(out Transmit transmit)
    {
        ReturnLent();
        if (!_queue.TryDequeue(out var item))
        {
            transmit = default;
            return false;
        }

        _lent = item.Buffer;
        transmit = new Transmit(item.Source, item.Destination, item.Buffer.AsMemory(0, item.Length));
        return true;
    }

    public void Clear()
    {
        ReturnLent();
        while (_queue.TryDequeue(out var item))
        {
            ArrayPool<byte>.Shared.Return(item.Buffer);
        }
    }

    private void ReturnLent()
    {
        if (_lent is not null)
        {
            ArrayPool<byte>.Shared.Return(_lent);
            _lent = null;
        }
    }
}
