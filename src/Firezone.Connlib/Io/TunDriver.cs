using Firezone.Tun;
using Firezone.Tun.Io;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Io;

/// <summary>
/// The TUN device on its own threads (tunnel spec §1, "Io"): a reader thread reads packets into a bounded queue of
/// <see cref="QueueCapacity"/> (each at a 20-byte offset so NAT46 can grow it in place; a packet longer than 1280 bytes
/// is dropped and counted; a read of 0 bytes or <see cref="TunReadStatus.Closed"/> means the device is gone) and wakes
/// the tunnel loop once per burst after the queue turned non-empty (when the device runs dry, or after
/// <see cref="WakeAfterPackets"/> packets); when the queue is full it waits for room (back-pressure onto the
/// device). A writer thread takes packets from a second bounded queue and writes them (a full device queue drops
/// them, counted). The device can be swapped (<see cref="SetTun"/>) or closed without stopping the tunnel.
/// <para>
/// A device that merges TCP segments (<see cref="ICoalescingTun"/>) gets the packets one by one and writes what it
/// holds when the queue runs empty (or every <see cref="FlushEvery"/> packets). A device that reads its descriptor
/// directly (<see cref="IPollableTun"/>, e.g. a <c>LinuxTun</c> in epoll mode) is waited for with <c>poll</c> on its
/// descriptor and the reader's wake-up eventfd, so no other thread sits between the kernel and this reader. Both
/// threads wait on eventfds (no spinning waits); neither takes a lock per packet.
/// </para>
/// </summary>
internal sealed partial class TunDriver : IDisposable
{
    /// <summary>Packets per queue (upstream's two bounded channels).</summary>
    public const int QueueCapacity = 1000;

    /// <summary>Largest IP packet the tunnel carries.</summary>
    public const int MaxPacket = 1280;

    /// <summary>Packets written at most before a coalescing device must write what it holds (bounds the delay).</summary>
    public const int FlushEvery = 256;

    /// <summary>Packets the reader queues at most before it wakes the loop (it wakes it at once when the device runs dry).</summary>
    public const int WakeAfterPackets = 64;

    /// <summary>Queued packets that wake the writer even while its wake-up is deferred (<see cref="DeferWriterWake"/>).</summary>
    public const int WriterWakeThreshold = 256;

    /// <summary>Bytes in front of each read packet.</summary>
    public const int Headroom = 20;

    private const int SlotSize = Headroom + MaxPacket + 1; // one more byte tells a longer packet apart

    private readonly Action _wakeLoop;
    private readonly TunnelCounters _counters;
    private readonly ILogger _logger;
    private readonly EventFd _readerWake = new(); // room to read, a new device, stop
    private readonly EventFd _writerWake = new(); // a packet to write, stop
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _reader;
    private readonly Thread _writer;
    private readonly Lock _tunLock = new();
    private ITun? _tun;
    private CancellationTokenSource _swap = new();
    private bool _writerWakePending; // loop thread only

    /// <summary>Starts both threads over <paramref name="tun"/> (null: none yet).</summary>
    public TunDriver(ITun? tun, Action wakeLoop, TunnelCounters counters, ILogger logger, string name)
    {
        _tun = tun;
        _wakeLoop = wakeLoop;
        _counters = counters;
        _logger = logger;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"{name} TUN reader" };
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = $"{name} TUN writer" };
        _reader.Start();
        _writer.Start();
    }

    /// <summary>Packets read from the device, for the tunnel loop (the single consumer).</summary>
    public PacketRing Inbound { get; } = new(QueueCapacity, SlotSize, Headroom);

    /// <summary>Packets for the device, from the tunnel loop (the single producer).</summary>
    public PacketRing Outbound { get; } = new(QueueCapacity, MaxPacket + 64, 0);

    /// <summary>The reader and writer threads (for tests: both end after <see cref="Dispose"/>).</summary>
    internal IReadOnlyList<Thread> Threads => [_reader, _writer];

    /// <summary>Loop: releases a packet taken from <see cref="Inbound"/> (wakes the reader when it waited for room).</summary>
    public void ReleaseInbound()
    {
        if (Inbound.Release())
        {
            _readerWake.Signal();
        }
    }

    /// <summary>
    /// When set, <see cref="TryWrite"/> does not wake the writer itself: the loop calls <see cref="SignalWriter"/> when its
    /// batch is done (or the queue holds <see cref="WriterWakeThreshold"/> packets), so the writer finds whole batches to
    /// merge instead of racing the loop packet by packet.
    /// </summary>
    public bool DeferWriterWake { get; init; }

    /// <summary>Loop: wakes the writer if packets were queued since the queue was empty (with <see cref="DeferWriterWake"/>).</summary>
    public void SignalWriter()
    {
        if (_writerWakePending)
        {
            _writerWakePending = false;
            _writerWake.Signal();
        }
    }

    /// <summary>Loop: queues <paramref name="packet"/> for the device; false (counted) when the queue is full.</summary>
    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacket + 64 || !Outbound.TryBeginWrite(out var slot))
        {
            _counters.Drop(TunnelDropReason.TunQueueFull);
            return false;
        }

        packet.CopyTo(slot);
        if (Outbound.CommitWrite(packet.Length))
        {
            if (!DeferWriterWake)
            {
                _writerWake.Signal();
                return true;
            }

            _writerWakePending = true;
        }

        if (_writerWakePending && Outbound.Count >= WriterWakeThreshold)
        {
            SignalWriter();
        }

        return true;
    }

    /// <summary>Replaces the device (null: none; the old one is not disposed: it is the caller's).</summary>
    public void SetTun(ITun? tun)
    {
        lock (_tunLock)
        {
            _tun = tun;
            var old = _swap;
            _swap = new CancellationTokenSource();
            old.Cancel();
            old.Dispose();
        }

        _readerWake.Signal();
    }

    private (ITun? Tun, CancellationToken Swap) Current()
    {
        lock (_tunLock)
        {
            return (_tun, _swap.Token);
        }
    }

    private void ReadLoop()
    {
        var stop = _stop.Token;
        bool wakePending = false; // the queue turned non-empty and the loop was not woken yet
        int sinceEmpty = 0;
        while (!stop.IsCancellationRequested)
        {
            var tun = Volatile.Read(ref _tun);
            if (tun is null)
            {
                WakeLoop(ref wakePending);
                WaitForTun(stop);
                continue;
            }

            if (!Inbound.TryBeginWrite(out var slot))
            {
                WakeLoop(ref wakePending);
                WaitForWake(_readerWake, 100);
                continue;
            }

            TunReadStatus status;
            int length;
            try
            {
                status = tun.TryRead(slot.AsSpan(Headroom), out length);
            }
            catch (ObjectDisposedException)
            {
                status = TunReadStatus.Closed;
                length = 0;
            }

            switch (status)
            {
                case TunReadStatus.Packet when length == 0:
                case TunReadStatus.Closed:
                    WakeLoop(ref wakePending);
                    LogTunClosed(_logger, tun.Name);
                    lock (_tunLock)
                    {
                        if (ReferenceEquals(_tun, tun))
                        {
                            _tun = null;
                        }
                    }

                    break;
                case TunReadStatus.Packet when length > MaxPacket:
                    _counters.DropConcurrent(TunnelDropReason.OversizeTunPacket);
                    break;
                case TunReadStatus.Packet:
                    _counters.TunPacketsRead++;
                    _counters.TunBytesRead += length;
                    if (Inbound.CommitWrite(length))
                    {
                        wakePending = true;
                        sinceEmpty = 0;
                    }

                    // Wake the loop once per burst (what the device has now, e.g. one TSO super-packet's segments), not
                    // per packet; at most WakeAfterPackets late.
                    if (wakePending && ++sinceEmpty >= WakeAfterPackets)
                    {
                        WakeLoop(ref wakePending);
                    }

                    break;
                default:
                    WakeLoop(ref wakePending);
                    var (current, swap) = Current();
                    if (ReferenceEquals(current, tun))
                    {
                        WaitReadable(tun, swap, stop);
                    }

                    break;
            }
        }
    }

    private void WakeLoop(ref bool pending)
    {
        if (pending)
        {
            pending = false;
            _wakeLoop();
        }
    }

    private void WaitReadable(ITun tun, CancellationToken swap, CancellationToken stop)
    {
        if (tun is IPollableTun { ReadHandle: { } fd })
        {
            // Direct: poll the device and our wake-up together (a swap or stop signals the wake-up).
            try
            {
                if ((FdPoll.WaitReadable(fd, _readerWake.Handle, -1) & FdPoll.Second) != 0)
                {
                    _readerWake.Reset();
                }
            }
            catch (ObjectDisposedException)
            {
            }

            return;
        }

        using var both = CancellationTokenSource.CreateLinkedTokenSource(swap, stop);
        try
        {
            var wait = tun.WaitReadableAsync(both.Token);
            if (!wait.IsCompleted)
            {
                wait.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void WaitForTun(CancellationToken stop)
    {
        if (!stop.IsCancellationRequested)
        {
            WaitForWake(_readerWake, -1);
        }
    }

    /// <summary>Waits for <paramref name="wake"/> (level-triggered: a signal before the wait is not lost) and consumes it.</summary>
    private static void WaitForWake(EventFd wake, int timeoutMilliseconds)
    {
        try
        {
            if (FdPoll.WaitReadable(wake.Handle, timeoutMilliseconds))
            {
                wake.Reset();
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void WriteLoop()
    {
        var stop = _stop.Token;
        ITun? holding = null; // a coalescing device with merged packets not yet written
        int sinceFlush = 0;
        while (!stop.IsCancellationRequested)
        {
            if (!Outbound.TryPeek(out var slot, out int length))
            {
                if (holding is not null)
                {
                    FlushHeld(ref holding, ref sinceFlush); // the batch ended: nothing stays held while we wait
                    continue;
                }

                WaitForWake(_writerWake, -1); // the loop signals when the queue turns non-empty
                continue;
            }

            var tun = Volatile.Read(ref _tun);
            if (holding is not null && !ReferenceEquals(tun, holding))
            {
                FlushHeld(ref holding, ref sinceFlush);
            }

            bool written = false;
            try
            {
                if (tun is ICoalescingTun coalescing)
                {
                    written = coalescing.Enqueue(slot.AsSpan(0, length));
                    if (coalescing.HasQueued)
                    {
                        holding = tun;
                    }
                }
                else
                {
                    written = tun?.TryWrite(slot.AsSpan(0, length)) ?? false;
                }
            }
            catch (ObjectDisposedException)
            {
            }

            if (written)
            {
                _counters.TunPacketsWritten++;
                _counters.TunBytesWritten += length;
            }
            else
            {
                _counters.DropConcurrent(TunnelDropReason.TunWriteFailed);
            }

            Outbound.Release();
            if (holding is not null && ++sinceFlush >= FlushEvery)
            {
                FlushHeld(ref holding, ref sinceFlush);
            }
        }
    }

    /// <summary>Writes what a coalescing device holds (a failed write counts as one drop).</summary>
    private void FlushHeld(ref ITun? holding, ref int sinceFlush)
    {
        try
        {
            if (!((ICoalescingTun)holding!).FlushQueued())
            {
                _counters.DropConcurrent(TunnelDropReason.TunWriteFailed);
            }
        }
        catch (ObjectDisposedException)
        {
        }

        holding = null;
        sinceFlush = 0;
    }

    /// <summary>Stops both threads (waits for them); the device is not disposed.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        lock (_tunLock)
        {
            _swap.Cancel();
        }

        _readerWake.Signal();
        _writerWake.Signal();
        if (_reader.Join(TimeSpan.FromSeconds(5)) & _writer.Join(TimeSpan.FromSeconds(5)))
        {
            _readerWake.Dispose();
            _writerWake.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "TUN device {Name} closed")]
    private static partial void LogTunClosed(ILogger logger, string name);
}
