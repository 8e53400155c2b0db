using System.Buffers;
using System.Net;
using System.Threading.Channels;

namespace Firezone.Connlib.Relay;

/// <summary>A datagram handed from a data-path thread to the control plane: a pooled copy and its sender.</summary>
/// <param name="Buffer">Rented from <see cref="ArrayPool{T}.Shared"/>; the consumer returns it.</param>
/// <param name="Length">Bytes of the datagram at the start of <paramref name="Buffer"/>.</param>
/// <param name="Source">The sender (a copy).</param>
/// <param name="AllocationPort">0 for a datagram from a client; the allocation port for peer traffic.</param>
internal readonly record struct ControlInput(byte[] Buffer, int Length, SocketAddress Source, int AllocationPort);

/// <summary>
/// A bounded, many-writer single-reader queue of control-plane input. When it is full a datagram is dropped (and
/// counted by the caller) instead of blocking a data-path thread: a STUN flood cannot stall forwarding, and the
/// control plane's memory stays bounded at <see cref="Capacity"/> datagrams.
/// </summary>
internal sealed class ControlQueue
{
    private readonly Channel<ControlInput> _channel;

    public ControlQueue(int capacity)
    {
        Capacity = capacity;
        _channel = Channel.CreateBounded<ControlInput>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; nothing waits
        });
    }

    public int Capacity { get; }

    public ChannelReader<ControlInput> Reader => _channel.Reader;

    /// <summary>Copies <paramref name="datagram"/> and <paramref name="source"/> into the queue; false when full.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> datagram, SocketAddress source, int allocationPort)
    {
        if (_channel.Reader.Count >= Capacity)
        {
            return false; // full: do not even copy
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(buffer);
        var copy = new SocketAddress(source.Family, source.Size);
        source.Buffer.Span[..source.Size].CopyTo(copy.Buffer.Span);
        if (_channel.Writer.TryWrite(new ControlInput(buffer, datagram.Length, copy, allocationPort)))
        {
            return true;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    /// <summary>Stops accepting input and returns every queued buffer.</summary>
    public void Close()
    {
        _channel.Writer.TryComplete();
        while (_channel.Reader.TryRead(out var input))
        {
            ArrayPool<byte>.Shared.Return(input.Buffer);
        }
    }
}
