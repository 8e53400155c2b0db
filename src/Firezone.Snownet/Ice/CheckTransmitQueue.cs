using System.Diagnostics;
using System.Net;

namespace Firezone.Snownet.Ice;

/// <summary>
/// The agent's outgoing datagrams: each check is encoded when it is queued (under the key valid at that moment) into
/// a buffer from a free list, and handed out as a <see cref="Transmit"/> whose payload stays valid until the next
/// <see cref="TryDequeue"/> (which recycles it). Steady state allocates nothing; the free list grows to the largest
/// number of datagrams ever queued at once.
/// </summary>
internal sealed class CheckTransmitQueue
{
    /// <summary>Size of a pooled buffer: any response and any request whose USERNAME is under 100 bytes.</summary>
    private const int BufferSize = 192;

    private readonly Queue<Entry> _queue = new();
    private readonly Stack<byte[]> _free = new();
    private byte[]? _lent;

    /// <summary>Datagrams waiting to be polled.</summary>
    public int Count => _queue.Count;

    /// <summary>Encodes <paramref name="check"/> with <paramref name="codec"/> and queues it.</summary>
    public void Enqueue(IPEndPoint source, IPEndPoint destination, IConnectivityCheckCodec codec, in ConnectivityCheck check, CheckIntegrityKey key)
    {
        int needed = check.EncodedLengthBound;
        if (!_free.TryPop(out byte[]? buffer) || buffer.Length < needed)
        {
            if (buffer is not null)
            {
                _free.Push(buffer);
            }

            buffer = new byte[Math.Max(needed, BufferSize)];
        }

        int length = codec.Encode(in check, key, buffer);
        _queue.Enqueue(new Entry(source, destination, buffer, length));
    }

    /// <summary>The next datagram; the previously returned payload is recycled (its bytes are no longer valid).</summary>
    public bool TryDequeue(out Transmit transmit)
    {
        Recycle();
        if (!_queue.TryDequeue(out Entry e))
        {
            transmit = default;
            return false;
        }

        _lent = e.Buffer;
        transmit = new Transmit(e.Source, e.Destination, new ReadOnlyMemory<byte>(e.Buffer, 0, e.Length));
        return true;
    }

    private void Recycle()
    {
        if (_lent is { } lent)
        {
            Poison(lent);
            _free.Push(lent);
            _lent = null;
        }
    }

    /// <summary>Debug builds overwrite recycled payloads so that a caller keeping one past its lifetime sees garbage.</summary>
    [Conditional("DEBUG")]
    private static void Poison(byte[] buffer) => buffer.AsSpan().Fill(0xEE);

    private readonly record struct Entry(IPEndPoint Source, IPEndPoint Destination, byte[] Buffer, int Length);
}
