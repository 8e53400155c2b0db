using System.Buffers;
using System.Threading.Channels;
using Firezone.Tun.Io;
using Firezone.Tun.Packets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace Firezone.Tun.Linux;

/// <summary>
/// A Linux TUN device over <c>/dev/net/tun</c>: <c>IFF_TUN | IFF_NO_PI</c> (bare IP packets), opened with
/// <c>O_CLOEXEC</c> (fixing upstream, whose fd leaked into child processes) and <c>O_NONBLOCK</c>. Reads are driven by
/// a dedicated reader thread (default; measured faster under load in the <c>tun-throughput</c> benchmark) or by epoll
/// readiness (<see cref="TunReadMode"/>). Disposing closes the fd, which destroys the interface with its addresses
/// and routes. The device is created in the network namespace of the calling thread.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxTun : ITun, IPollableTun, ICoalescingTun, ICoalescedPacketSink
{
    /// <summary>Default interface name (spec §1).</summary>
    public const string DefaultName = "tun-firezone";
    /// <summary>Default MTU (spec §1).</summary>
    public const int DefaultMtu = 1280;

    /// <summary>The read mode used by <see cref="TunReadMode.Default"/> (the faster one in the tun-throughput benchmark).</summary>
    public const TunReadMode DefaultReadMode = TunReadMode.ReaderThread;

    private const nuint TUNSETIFF = 0x400454CA;
    private const nuint SIOCSIFMTU = 0x8922;
    private const nuint SIOCGIFINDEX = 0x8933;
    private const short IFF_TUN = 0x0001;
    private const short IFF_NO_PI = 0x1000;
    private const short IFF_MULTI_QUEUE = 0x0100;
    private const short IFF_VNET_HDR = 0x4000;
    private const nuint TUNSETOFFLOAD = 0x400454D0;
    private const uint TUN_F_CSUM = 0x01;
    private const uint TUN_F_TSO4 = 0x02;
    private const uint TUN_F_TSO6 = 0x04;
    private const int OffloadReadBufferSize = VirtioNetHeader.Size + IpConstants.Ipv6HeaderLength + 65_535; // the largest IPv6 packet without jumbograms
    private const int IfReqSize = 40;
    private const int IfNameSize = 16;

    private readonly FdHandle _fd;
    private readonly object _reactorGate = new();
    private Epoll? _epoll;
    private EventFd? _wake;
    private Thread? _reactor;
    private TaskCompletionSource? _waiter;
    private volatile bool _disposed;
    private long _readErrors;
    private long _writeDrops;

    private readonly TunReadMode _mode;
    private Channel<(byte[] Buffer, int Length)>? _queue;

    // Offload (IFF_VNET_HDR + TSO): the reader's super-packet and the segment it hands out next; the writer's coalescer.
    private readonly byte[]? _superPacket;
    private readonly TcpCoalescer? _coalescer;
    private int _superLength;
    private int _segmentIp;
    private int _segmentTcp;
    private int _segmentSize;
    /// <summary>The reader thread's read size: the MTU, at least 1,280 (a device with a larger MTU once had its packets cut at 1,280).</summary>
    private readonly int _queuedPacketSize;
    private int _segmentIndex;
    private int _segmentCount;
    private long _segmentsRead;

    private LinuxTun(FdHandle fd, string name, int interfaceIndex, TunReadMode mode, bool offload, int mtu)
    {
        _queuedPacketSize = Math.Max(IpConstants.MaxPacketSize, mtu);
        _fd = fd;
        Name = name;
        InterfaceIndex = interfaceIndex;
        _mode = mode;
        IsOffloaded = offload;
        if (offload)
        {
            _superPacket = GC.AllocateUninitializedArray<byte>(OffloadReadBufferSize, pinned: true);
            _coalescer = new TcpCoalescer(VirtioNetHeader.Size, this);
        }
        if (mode == TunReadMode.ReaderThread) StartReaderThread();
    }

    /// <summary>
    /// True when the device was opened with <c>IFF_VNET_HDR</c> and TCP segmentation offload (<see cref="CreateWithOffload"/>):
    /// reads split the kernel's TCP super-packets into MTU-sized packets and complete partial checksums; writes through
    /// <see cref="ICoalescingTun"/> merge consecutive TCP segments of a flow into super-packets.
    /// </summary>
    internal bool IsOffloaded { get; }

    /// <summary>TCP segments merged into super-packets by writes so far.</summary>
    internal long SegmentsCoalesced => _coalescer?.Merged ?? 0;

    /// <summary>Packets cut out of TCP super-packets by reads so far.</summary>
    internal long SegmentsSplit => Interlocked.Read(ref _segmentsRead);

    /// <summary>How reads are driven.</summary>
    public TunReadMode ReadMode => _mode;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    SafeHandle? IPollableTun.ReadHandle => _mode == TunReadMode.Epoll ? _fd : null;

    /// <summary>The file descriptor (for tests that inspect its flags).</summary>
    internal int FileDescriptor => (int)_fd.DangerousGetHandle();

    /// <summary>Kernel interface index (in the namespace the device was created in).</summary>
    public int InterfaceIndex { get; }

    /// <summary>Reads that failed with an unexpected error (counted, not fatal, like upstream).</summary>
    public long ReadErrors => Interlocked.Read(ref _readErrors);

    /// <summary>Writes that were dropped (queue full, link down, invalid packet).</summary>
    public long WriteDrops => Interlocked.Read(ref _writeDrops);

    /// <summary>Creates (or attaches to) the TUN interface <paramref name="name"/> and sets its MTU.</summary>
    /// <exception cref="TunDeviceException">The device cannot be created (missing permission, bad name…).</exception>
    public static LinuxTun Create(string name = DefaultName, int mtu = DefaultMtu, TunReadMode readMode = TunReadMode.Default)
        => Open(name, mtu, multiQueue: false, readMode, offload: false);

    /// <summary>
    /// Creates the TUN interface with offload (see <see cref="IsOffloaded"/>; a deliberate difference from upstream,
    /// which opens it without <c>IFF_VNET_HDR</c>), reads in <see cref="TunReadMode.Epoll"/> mode (direct). Falls back to
    /// checksum offload only when the kernel refuses TSO.
    /// </summary>
    internal static LinuxTun CreateWithOffload(string name = DefaultName, int mtu = DefaultMtu)
        => Open(name, mtu, multiQueue: false, TunReadMode.Epoll, offload: true);

    /// <summary>
    /// Creates a multi-queue TUN (<c>IFF_MULTI_QUEUE</c>): one <see cref="LinuxTun"/> per queue, all for the same
    /// interface; the kernel spreads flows over the queues. The interface lives until the last queue is disposed.
    /// </summary>
    public static LinuxTun[] CreateMultiQueue(string name, int queues, int mtu = DefaultMtu, TunReadMode readMode = TunReadMode.Default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        var result = new LinuxTun[queues];
        try
        {
            for (int i = 0; i < queues; i++) result[i] = Open(name, mtu, multiQueue: true, readMode, offload: false);
        }
        catch
        {
            foreach (var t in result) t?.Dispose();
            throw;
        }
        return result;
    }

    private static unsafe LinuxTun Open(string name, int mtu, bool multiQueue, TunReadMode mode, bool offload)
    {
        ArgumentNullException.ThrowIfNull(name);
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length == 0 || nameBytes.Length >= IfNameSize)
            throw new ArgumentException("Interface names must have 1 to 15 characters.", nameof(name));
        int fd = LibC.Open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) throw TunDeviceException.FromErrno("open /dev/net/tun", LibC.LastError);
        var handle = new FdHandle(fd);
        try
        {
            byte* ifr = stackalloc byte[IfReqSize];
            new Span<byte>(ifr, IfReqSize).Clear();
            nameBytes.CopyTo(new Span<byte>(ifr, IfNameSize));
            *(short*)(ifr + IfNameSize) = (short)(IFF_TUN | IFF_NO_PI | (multiQueue ? IFF_MULTI_QUEUE : 0) | (offload ? IFF_VNET_HDR : 0));
            if (LibC.Ioctl(handle, TUNSETIFF, ifr) < 0) throw TunDeviceException.FromErrno($"TUNSETIFF {name}", LibC.LastError);
            if (offload && LibC.Ioctl(handle, TUNSETOFFLOAD, (void*)(nuint)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0)
            {
                _ = LibC.Ioctl(handle, TUNSETOFFLOAD, (void*)(nuint)TUN_F_CSUM); // no TSO: still the header, full-size packets
            }
            string actual = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(ifr, IfNameSize)).TrimEnd('\0');
            int index = ConfigureLink(actual, mtu);
            return new LinuxTun(handle, actual, index, mode == TunReadMode.Default ? DefaultReadMode : mode, offload, mtu);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Sets the MTU (SIOCSIFMTU) and returns the interface index (SIOCGIFINDEX).</summary>
    private static unsafe int ConfigureLink(string name, int mtu)
    {
        int fd = LibC.Socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) throw TunDeviceException.FromErrno("socket", LibC.LastError);
        using var s = new FdHandle(fd);
        {
            byte* ifr = stackalloc byte[IfReqSize];
            var span = new Span<byte>(ifr, IfReqSize);
            span.Clear();
            Encoding.ASCII.GetBytes(name, span[..IfNameSize]);
            if (mtu > 0)
            {
                *(int*)(ifr + IfNameSize) = mtu;
                if (LibC.Ioctl(s, SIOCSIFMTU, ifr) < 0) throw TunDeviceException.FromErrno($"SIOCSIFMTU {name} {mtu}", LibC.LastError);
            }
            *(int*)(ifr + IfNameSize) = 0;
            if (LibC.Ioctl(s, SIOCGIFINDEX, ifr) < 0) throw TunDeviceException.FromErrno($"SIOCGIFINDEX {name}", LibC.LastError);
            return *(int*)(ifr + IfNameSize);
        }
    }

    /// <inheritdoc/>
    public TunReadStatus TryRead(Span<byte> buffer, out int length)
    {
        if (_superPacket is not null) return ReadOffloaded(buffer, out length);
        if (_queue is null) return ReadFromDevice(buffer, out length);
        if (_queue.Reader.TryRead(out var item))
        {
            length = Math.Min(item.Length, buffer.Length);
            item.Buffer.AsSpan(0, length).CopyTo(buffer);
            ArrayPool<byte>.Shared.Return(item.Buffer);
            return TunReadStatus.Packet;
        }
        length = 0;
        return _queue.Reader.Completion.IsCompleted || _disposed ? TunReadStatus.Closed : TunReadStatus.WouldBlock;
    }

    /// <summary>
    /// Offloaded read: the next segment of the current super-packet, else one read from the device: a plain packet
    /// (its partial checksum completed) or a TCP super-packet, whose first segment is returned. Malformed ones are
    /// dropped and counted as read errors.
    /// </summary>
    private TunReadStatus ReadOffloaded(Span<byte> buffer, out int length)
    {
        var super = _superPacket!;
        while (true)
        {
            if (_segmentIndex < _segmentCount)
            {
                length = TcpSegmentation.WriteSegment(super.AsSpan(VirtioNetHeader.Size, _superLength), _segmentIp, _segmentTcp, _segmentSize, _segmentIndex++, buffer);
                if (length > 0)
                {
                    Interlocked.Increment(ref _segmentsRead);
                    return TunReadStatus.Packet;
                }

                _segmentIndex = _segmentCount; // a segment larger than the caller's buffer: drop the rest
                Interlocked.Increment(ref _readErrors);
                continue;
            }

            var status = ReadFromDevice(super, out int read);
            if (status != TunReadStatus.Packet)
            {
                length = 0;
                return status;
            }

            if (read < VirtioNetHeader.Size)
            {
                Interlocked.Increment(ref _readErrors);
                continue;
            }

            var header = VirtioNetHeader.Read(super);
            var packet = super.AsSpan(VirtioNetHeader.Size, read - VirtioNetHeader.Size);
            int gsoType = header.GsoType & ~VirtioNetHeader.GsoEcn;
            if (gsoType == VirtioNetHeader.GsoNone)
            {
                if (header.NeedsChecksum && !TcpSegmentation.CompleteChecksum(packet, header.ChecksumStart, header.ChecksumOffset))
                {
                    Interlocked.Increment(ref _readErrors);
                    continue;
                }

                length = Math.Min(packet.Length, buffer.Length); // a longer packet arrives truncated: the caller drops it
                packet[..length].CopyTo(buffer);
                return TunReadStatus.Packet;
            }

            if (gsoType is not (VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6) || header.GsoSize == 0
                || !TcpSegmentation.TryParse(packet, out _segmentIp, out _segmentTcp))
            {
                Interlocked.Increment(ref _readErrors);
                continue;
            }

            _superLength = packet.Length;
            _segmentSize = header.GsoSize;
            _segmentIndex = 0;
            _segmentCount = TcpSegmentation.SegmentCount(packet.Length, _segmentIp + _segmentTcp, header.GsoSize);
        }
    }

    private unsafe TunReadStatus ReadFromDevice(Span<byte> buffer, out int length)
    {
        length = 0;
        try
        {
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    nint n = LibC.Read(_fd, p, buffer.Length);
                    if (n > 0)
                    {
                        length = (int)n;
                        return TunReadStatus.Packet;
                    }
                    if (n == 0) return TunReadStatus.Closed;
                    int errno = LibC.LastError;
                    switch (errno)
                    {
                        case LibC.EINTR: continue;
                        case LibC.EAGAIN: return TunReadStatus.WouldBlock;
                        case LibC.EBADFD or LibC.EBADF or LibC.ENODEV: return TunReadStatus.Closed;
                        default:
                            Interlocked.Increment(ref _readErrors);
                            return TunReadStatus.WouldBlock;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return TunReadStatus.Closed;
        }
    }

    /// <inheritdoc/>
    public unsafe bool TryWrite(ReadOnlySpan<byte> packet)
    {
        if (IsOffloaded)
        {
            return WriteWithHeader(packet);
        }

        fixed (byte* p = packet)
        {
            while (true)
            {
                nint n = LibC.Write(_fd, p, packet.Length); // throws ObjectDisposedException after Dispose
                if (n == packet.Length) return true;
                if (n < 0 && LibC.LastError == LibC.EINTR) continue;
                Interlocked.Increment(ref _writeDrops);
                return false;
            }
        }
    }

    /// <summary>Offloaded write of one plain packet: a zero virtio header (no GSO, checksums complete), then the packet.</summary>
    private unsafe bool WriteWithHeader(ReadOnlySpan<byte> packet)
    {
        byte* header = stackalloc byte[VirtioNetHeader.Size];
        new Span<byte>(header, VirtioNetHeader.Size).Clear();
        fixed (byte* p = packet)
        {
            var vectors = stackalloc NativeLayout.IoVec[2];
            vectors[0] = new NativeLayout.IoVec { Base = header, Length = VirtioNetHeader.Size };
            vectors[1] = new NativeLayout.IoVec { Base = p, Length = (nuint)packet.Length };
            while (true)
            {
                nint n = LibC.Writev(_fd, vectors, 2);
                if (n == VirtioNetHeader.Size + packet.Length) return true;
                if (n < 0 && LibC.LastError == LibC.EINTR) continue;
                Interlocked.Increment(ref _writeDrops);
                return false;
            }
        }
    }

    /// <inheritdoc/>
    bool ICoalescingTun.Enqueue(ReadOnlySpan<byte> packet) => _coalescer is { } c ? c.Add(packet) : TryWrite(packet);

    /// <inheritdoc/>
    bool ICoalescingTun.HasQueued => _coalescer?.HasPending ?? false;

    /// <inheritdoc/>
    bool ICoalescingTun.FlushQueued() => _coalescer?.Flush() ?? true;

    /// <inheritdoc/>
    unsafe bool ICoalescedPacketSink.Write(Span<byte> buffer, in CoalescedPacket packet)
    {
        var header = packet.Segments == 1
            ? default
            : new VirtioNetHeader(
                VirtioNetHeader.FlagNeedsChecksum,
                packet.IsIPv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
                (ushort)(packet.IpHeaderLength + packet.TcpHeaderLength),
                (ushort)packet.SegmentSize,
                (ushort)packet.IpHeaderLength,
                16);
        header.Write(buffer);
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = LibC.Write(_fd, p, buffer.Length);
                if (n == buffer.Length) return true;
                if (n < 0 && LibC.LastError == LibC.EINTR) continue;
                Interlocked.Increment(ref _writeDrops);
                return false;
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask WaitReadableAsync(CancellationToken cancellationToken = default)
    {
        if (_disposed) return default;
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        if (_queue is not null)
        {
            var wait = _queue.Reader.WaitToReadAsync(cancellationToken);
            return wait.IsCompletedSuccessfully ? default : new ValueTask(wait.AsTask());
        }
        return WaitEpollAsync(cancellationToken);
    }

    private ValueTask WaitEpollAsync(CancellationToken cancellationToken)
    {
        EnsureReactor();
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _waiter, tcs, null) is not null)
            throw new InvalidOperationException("Only one reader may wait for readiness at a time.");
        if (!_epoll!.TryModify(_fd, EpollEvents.In | EpollEvents.OneShot, DeviceToken, out int errno))
        {
            Interlocked.CompareExchange(ref _waiter, null, tcs);
            if (_disposed) return default;
            throw TunDeviceException.FromErrno("epoll_ctl", errno);
        }
        if (_disposed) Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
        return cancellationToken.CanBeCanceled ? new ValueTask(WaitCancellable(tcs, cancellationToken)) : new ValueTask(tcs.Task);
    }

    private async Task WaitCancellable(TaskCompletionSource tcs, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(() =>
        {
            if (Interlocked.CompareExchange(ref _waiter, null, tcs) == tcs) tcs.TrySetCanceled(cancellationToken);
        }))
        {
            await tcs.Task.ConfigureAwait(false);
        }
    }

    private void StartReaderThread()
    {
        _wake = CreateWake();
        _queue = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var thread = new Thread(ReaderLoop) { IsBackground = true, Name = $"tun-reader {Name}" };
        _reactor = thread;
        thread.Start();
    }

    /// <summary>Packets buffered between the reader thread and the consumer (upstream: 1000).</summary>
    public const int QueueCapacity = 1000;

    private unsafe void ReaderLoop()
    {
        var writer = _queue!.Writer;
        byte[]? buffer = null;
        bool fdAdded = false, wakeAdded = false;
        try
        {
            // Both descriptors stay referenced while this thread polls them by number; Dispose joins it before closing.
            _fd.DangerousAddRef(ref fdAdded);
            _wake!.Handle.DangerousAddRef(ref wakeAdded);
            LibC.PollFd* fds = stackalloc LibC.PollFd[2];
            fds[0] = new LibC.PollFd { Fd = (int)_fd.DangerousGetHandle(), Events = LibC.POLLIN };
            fds[1] = new LibC.PollFd { Fd = (int)_wake.Handle.DangerousGetHandle(), Events = LibC.POLLIN };
            while (!_disposed)
            {
                buffer ??= ArrayPool<byte>.Shared.Rent(_queuedPacketSize);
                var status = ReadFromDevice(buffer.AsSpan(0, _queuedPacketSize), out int length);
                if (status == TunReadStatus.Packet)
                {
                    if (!writer.TryWrite((buffer, length)))
                    {
                        // Queue full: stop reading (the kernel queue then fills and drops), like upstream's bounded channel.
                        while (!_disposed && !writer.TryWrite((buffer, length)))
                        {
                            if (LibC.Poll(fds + 1, 1, 1) > 0) return;
                        }
                        if (_disposed) return;
                    }
                    buffer = null;
                    continue;
                }
                if (status == TunReadStatus.Closed) return;
                fds[0].Revents = fds[1].Revents = 0;
                int n = LibC.Poll(fds, 2, -1);
                if (n > 0 && fds[1].Revents != 0) return;
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (wakeAdded) _wake!.Handle.DangerousRelease();
            if (fdAdded) _fd.DangerousRelease();
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
            writer.TryComplete();
        }
    }

    private const ulong WakeToken = 0;
    private const ulong DeviceToken = 1;

    private static EventFd CreateWake()
    {
        try
        {
            return new EventFd();
        }
        catch (NativeIoException e)
        {
            throw TunDeviceException.FromErrno("eventfd", e.ErrorCode);
        }
    }

    private void EnsureReactor()
    {
        if (_reactor is not null) return;
        lock (_reactorGate)
        {
            if (_reactor is not null) return;
            ObjectDisposedException.ThrowIf(_disposed, this);
            Epoll epoll;
            try
            {
                epoll = new Epoll(capacity: 2);
            }
            catch (NativeIoException e)
            {
                throw TunDeviceException.FromErrno("epoll_create1", e.ErrorCode);
            }
            EventFd wake;
            try
            {
                wake = CreateWake();
            }
            catch
            {
                epoll.Dispose();
                throw;
            }
            // The device is registered disarmed; each wait arms it one-shot.
            if (!epoll.TryAdd(wake.Handle, EpollEvents.In, WakeToken, out int errno)
                || !epoll.TryAdd(_fd, EpollEvents.None, DeviceToken, out errno))
            {
                wake.Dispose();
                epoll.Dispose();
                throw TunDeviceException.FromErrno("epoll_ctl add", errno);
            }
            _epoll = epoll;
            _wake = wake;
            var thread = new Thread(ReactorLoop) { IsBackground = true, Name = $"tun-epoll {Name}" };
            thread.Start();
            _reactor = thread;
        }
    }

    private void ReactorLoop()
    {
        Span<EpollEvent> events = stackalloc EpollEvent[2];
        try
        {
            while (true)
            {
                int n = _epoll!.Wait(events, -1);
                bool stop = false;
                for (int i = 0; i < n; i++)
                {
                    if (events[i].Token == WakeToken) stop = true;
                    else Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
                }
                if (stop || _disposed) break;
            }
        }
        catch (Exception e) when (e is NativeIoException or ObjectDisposedException)
        {
        }
        Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
    }

    /// <summary>Closes the device (destroying the interface once no queue holds it) and stops the readiness thread.</summary>
    public void Dispose()
    {
        lock (_reactorGate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        if (_reactor is not null)
        {
            _wake!.Signal();
            if (Thread.CurrentThread != _reactor) _reactor.Join();
            _wake.Dispose();
            _epoll?.Dispose();
        }
        if (_queue is not null)
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var item)) ArrayPool<byte>.Shared.Return(item.Buffer);
        }
        Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
        _fd.Dispose();
    }
}

/// <summary>How a <see cref="LinuxTun"/> drives reads.</summary>
public enum TunReadMode
{
    /// <summary>The mode measured fastest (see <see cref="LinuxTun.DefaultReadMode"/>).</summary>
    Default,
    /// <summary>
    /// A dedicated thread blocks in poll(2), reads packets into pooled buffers and queues up to
    /// <see cref="LinuxTun.QueueCapacity"/> of them; <see cref="ITun.TryRead"/> copies from the queue.
    /// </summary>
    ReaderThread,
    /// <summary><see cref="ITun.TryRead"/> reads the fd directly; readiness comes from a private epoll instance (one-shot).</summary>
    Epoll,
}
