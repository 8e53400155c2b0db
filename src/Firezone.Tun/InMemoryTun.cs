using System.Threading.Channels;

namespace Firezone.Tun;

/// <summary>
/// An <see cref="ITun"/> in memory, for tests and for hosts that run without privileges. The "kernel side" is driven
/// through <see cref="TryInject"/> (a packet the tunnel will read) and <see cref="TryTakeWritten"/> /
/// <see cref="ReadWrittenAsync"/> (packets the tunnel wrote). Both queues are bounded (default 1000 like upstream's
/// TUN channels); a full queue drops the packet and counts it.
/// </summary>
public sealed class InMemoryTun : ITun
{
    private readonly Channel<byte[]> _toTunnel;
    private readonly Channel<byte[]> _fromTunnel;
    private long _droppedInbound;
    private long _droppedOutbound;
    private volatile bool _disposed;

    /// <summary>Creates an in-memory TUN with the given name and queue capacity.</summary>
    public InMemoryTun(string name = "tun-firezone", int capacity = 1000)
    {
        Name = name;
        var options = new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = false, SingleWriter = false };
        _toTunnel = Channel.CreateBounded<byte[]>(options);
        _fromTunnel = Channel.CreateBounded<byte[]>(options);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Packets dropped because the tunnel did not read fast enough.</summary>
    public long DroppedInbound => Interlocked.Read(ref _droppedInbound);

    /// <summary>Packets the tunnel wrote that were dropped because nobody took them.</summary>
    public long DroppedOutbound => Interlocked.Read(ref _droppedOutbound);

    /// <summary>Queues a packet for the tunnel to read (as if the kernel routed it into the device).</summary>
    public bool TryInject(ReadOnlySpan<byte> packet)
    {
        if (_disposed || !_toTunnel.Writer.TryWrite(packet.ToArray()))
        {
            Interlocked.Increment(ref _droppedInbound);
            return false;
        }
        return true;
    }

    /// <summary>Takes the oldest packet the tunnel wrote, if any.</summary>
    public bool TryTakeWritten(out byte[] packet) => _fromTunnel.Reader.TryRead(out packet!);

    /// <summary>Waits for the next packet the tunnel writes; null once the device is closed and drained.</summary>
    public async ValueTask<byte[]?> ReadWrittenAsync(CancellationToken cancellationToken = default)
    {
        while (await _fromTunnel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            if (_fromTunnel.Reader.TryRead(out var p)) return p;
        return null;
    }

    /// <summary>Simulates the device disappearing: pending packets can still be read, then reads report closed.</summary>
    public void Close()
    {
        _toTunnel.Writer.TryComplete();
        _fromTunnel.Writer.TryComplete();
    }

    /// <inheritdoc/>
    public TunReadStatus TryRead(Span<byte> buffer, out int length)
    {
        length = 0;
        if (_disposed) return TunReadStatus.Closed;
        if (_toTunnel.Reader.TryRead(out var p))
        {
            length = Math.Min(p.Length, buffer.Length);
            p.AsSpan(0, length).CopyTo(buffer);
            return TunReadStatus.Packet;
        }
        return _toTunnel.Reader.Completion.IsCompleted ? TunReadStatus.Closed : TunReadStatus.WouldBlock;
    }

    /// <inheritdoc/>
    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fromTunnel.Writer.TryWrite(packet.ToArray())) return true;
        Interlocked.Increment(ref _droppedOutbound);
        return false;
    }

    /// <inheritdoc/>
    public async ValueTask WaitReadableAsync(CancellationToken cancellationToken = default)
    {
        if (_disposed) return;
        await _toTunnel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _disposed = true;
        Close();
    }
}
