using Firezone.Connlib.Io;
using Firezone.Tun;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Tests.Io;

/// <summary>The TUN threads and their two bounded queues (tunnel spec §1, "Io").</summary>
public sealed class TunDriverTests
{
    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void The_read_queue_holds_at_most_1000_packets_and_the_reader_waits_for_room_instead_of_dropping()
    {
        using var tun = new InMemoryTun(capacity: 5000);
        var counters = new TunnelCounters();
        int wakes = 0;
        using var driver = new TunDriver(tun, () => Interlocked.Increment(ref wakes), counters, NullLogger.Instance, "test");
        for (int i = 0; i < 1500; i++)
        {
            Assert.True(tun.TryInject(Packet(i)));
        }

        WaitFor(() => driver.Inbound.Count == TunDriver.QueueCapacity);
        Thread.Sleep(100);
        Assert.Equal(TunDriver.QueueCapacity, driver.Inbound.Count); // bounded
        Assert.Equal(1, Volatile.Read(ref wakes)); // woken once, when the queue turned non-empty

        var seen = new List<int>();
        while (seen.Count < 1500)
        {
            WaitFor(() => driver.Inbound.Count > 0);
            Assert.True(driver.Inbound.TryPeek(out var slot, out int length));
            Assert.Equal(40, length);
            seen.Add(BitConverter.ToInt32(slot, driver.Inbound.Headroom + 20)); // read at the 20-byte offset
            driver.ReleaseInbound();
        }

        Assert.Equal(Enumerable.Range(0, 1500), seen); // nothing dropped, in order
        Assert.Equal(1500, counters.TunPacketsRead);
    }

    [Fact]
    public void Packets_longer_than_1280_bytes_are_dropped_and_counted()
    {
        using var tun = new InMemoryTun();
        var counters = new TunnelCounters();
        using var driver = new TunDriver(tun, () => { }, counters, NullLogger.Instance, "test");
        tun.TryInject(new byte[1281]);
        tun.TryInject(new byte[1280]);

        WaitFor(() => driver.Inbound.Count == 1);
        Assert.True(driver.Inbound.TryPeek(out _, out int length));
        Assert.Equal(1280, length);
        Assert.Equal(1, counters.Drops(TunnelDropReason.OversizeTunPacket));
    }

    [Fact]
    public void The_write_queue_is_bounded_at_1000_packets_and_a_full_queue_drops_and_counts()
    {
        using var tun = new GatedTun();
        var counters = new TunnelCounters();
        using var driver = new TunDriver(tun, () => { }, counters, NullLogger.Instance, "test");
        Assert.True(driver.TryWrite(Packet(0)));
        Assert.True(tun.Writing.Wait(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken)); // the writer holds packet 0 inside the device
        int accepted = 0;
        for (int i = 1; i <= 1500; i++)
        {
            accepted += driver.TryWrite(Packet(i)) ? 1 : 0;
        }

        // Packet 0 still occupies its slot until the device took it: 999 more fit.
        Assert.Equal(TunDriver.QueueCapacity - 1, accepted);
        Assert.Equal(1500 - accepted, counters.Drops(TunnelDropReason.TunQueueFull));
        tun.Gate.Set();
        WaitFor(() => driver.Outbound.Count == 0);
        Assert.Equal(TunDriver.QueueCapacity, tun.Written);
    }

    /// <summary>A device whose writes wait for <see cref="Gate"/>.</summary>
    private sealed class GatedTun : ITun
    {
        private int _written;

        public ManualResetEventSlim Gate { get; } = new();

        public ManualResetEventSlim Writing { get; } = new();

        public int Written => Volatile.Read(ref _written);

        public string Name => "gated";

        public TunReadStatus TryRead(Span<byte> buffer, out int length)
        {
            length = 0;
            return TunReadStatus.WouldBlock;
        }

        public bool TryWrite(ReadOnlySpan<byte> packet)
        {
            Writing.Set();
            Gate.Wait(TimeSpan.FromSeconds(10));
            Interlocked.Increment(ref _written);
            return true;
        }

        public async ValueTask WaitReadableAsync(CancellationToken cancellationToken = default) => await Task.Delay(Timeout.Infinite, cancellationToken);

        public void Dispose()
        {
            Gate.Set();
        }
    }

    [Fact]
    public void A_closed_device_stops_reading_and_a_new_one_can_be_set()
    {
        var first = new InMemoryTun();
        using var second = new InMemoryTun();
        var counters = new TunnelCounters();
        using var driver = new TunDriver(first, () => { }, counters, NullLogger.Instance, "test");
        first.Close();
        Thread.Sleep(50);
        driver.SetTun(second);
        second.TryInject(Packet(9));

        WaitFor(() => driver.Inbound.Count == 1);
        Assert.Equal(1, driver.Inbound.Count);
        first.Dispose();
    }

    [Fact]
    public void Dispose_ends_both_threads()
    {
        using var tun = new InMemoryTun();
        var driver = new TunDriver(tun, () => { }, new TunnelCounters(), NullLogger.Instance, "test");
        var threads = driver.Threads;
        Assert.All(threads, t => Assert.True(t.IsAlive));

        driver.Dispose();

        Assert.All(threads, t => Assert.False(t.IsAlive));
    }

    /// <summary>A device that holds every enqueued packet until a flush.</summary>
    private sealed class HoldingTun : ITun, Firezone.Tun.Io.ICoalescingTun
    {
        private readonly List<int> _held = [];
        private readonly List<int> _written = [];

        public string Name => "holding";

        public int Flushes { get; private set; }

        public int[] Written
        {
            get
            {
                lock (_written)
                {
                    return [.. _written];
                }
            }
        }

        public bool HasQueued => _held.Count > 0;

        public bool Enqueue(ReadOnlySpan<byte> packet)
        {
            _held.Add(BitConverter.ToInt32(packet[20..]));
            return true;
        }

        public bool FlushQueued()
        {
            Flushes++;
            lock (_written)
            {
                _written.AddRange(_held);
            }

            _held.Clear();
            return true;
        }

        public TunReadStatus TryRead(Span<byte> buffer, out int length)
        {
            length = 0;
            return TunReadStatus.WouldBlock;
        }

        public bool TryWrite(ReadOnlySpan<byte> packet) => throw new InvalidOperationException("a coalescing device gets Enqueue");

        public async ValueTask WaitReadableAsync(CancellationToken cancellationToken = default) => await Task.Delay(Timeout.Infinite, cancellationToken);

        public void Dispose()
        {
        }
    }

    [Fact]
    public void A_coalescing_device_gets_every_packet_in_order_and_writes_what_it_holds_once_the_queue_runs_empty()
    {
        using var tun = new HoldingTun();
        var counters = new TunnelCounters();
        using var driver = new TunDriver(tun, () => { }, counters, NullLogger.Instance, "test");
        for (int i = 0; i < 600; i++)
        {
            Assert.True(driver.TryWrite(Packet(i)));
        }

        WaitFor(() => tun.Written.Length == 600);
        Assert.Equal(Enumerable.Range(0, 600), tun.Written); // nothing stays held while the writer waits
        Assert.Equal(600, counters.TunPacketsWritten);
        Assert.True(tun.Flushes >= 1);
    }

    /// <summary>A device that counts writes.</summary>
    private sealed class CountingTun : ITun
    {
        private int _written;

        public int Written => Volatile.Read(ref _written);

        public string Name => "counting";

        public TunReadStatus TryRead(Span<byte> buffer, out int length)
        {
            length = 0;
            return TunReadStatus.WouldBlock;
        }

        public bool TryWrite(ReadOnlySpan<byte> packet)
        {
            Interlocked.Increment(ref _written);
            return true;
        }

        public async ValueTask WaitReadableAsync(CancellationToken cancellationToken = default) => await Task.Delay(Timeout.Infinite, cancellationToken);

        public void Dispose()
        {
        }
    }

    [Fact]
    public void With_a_deferred_writer_wake_up_the_loop_hands_over_a_batch_when_it_signals_or_the_queue_reaches_the_threshold()
    {
        using var tun = new CountingTun();
        using var driver = new TunDriver(tun, () => { }, new TunnelCounters(), NullLogger.Instance, "test") { DeferWriterWake = true };
        Assert.True(driver.TryWrite(Packet(-1)));
        driver.SignalWriter();
        WaitFor(() => tun.Written == 1);
        Thread.Sleep(100); // the writer drained the queue and waits again
        for (int i = 0; i < 10; i++)
        {
            Assert.True(driver.TryWrite(Packet(i)));
        }

        Thread.Sleep(100);
        Assert.Equal(1, tun.Written); // not woken yet
        driver.SignalWriter();
        WaitFor(() => tun.Written == 11);
        Assert.Equal(11, tun.Written);

        for (int i = 0; i < TunDriver.WriterWakeThreshold; i++)
        {
            Assert.True(driver.TryWrite(Packet(i)));
        }

        WaitFor(() => tun.Written == 11 + TunDriver.WriterWakeThreshold); // the threshold woke it without a signal
        Assert.Equal(11 + TunDriver.WriterWakeThreshold, tun.Written);
    }

    private static byte[] Packet(int sequence)
    {
        var packet = new byte[40];
        packet[0] = 0x45;
        BitConverter.TryWriteBytes(packet.AsSpan(20), sequence);
        return packet;
    }
}
