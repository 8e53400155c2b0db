using System.Buffers.Binary;
using System.Net.Sockets;
using Firezone.Tun.Io;

namespace Firezone.Connlib.Relay;

/// <summary>
/// One thread watching a share of the allocation sockets (by port) with a level-triggered epoll set, like upstream's
/// "mio worker": non-blocking <c>recvmmsg</c> into buffers with 4 bytes of headroom, the ChannelData header written
/// in place; what every socket reported ready in one wake-up had queued is collected into one batch and sent from a
/// listening socket in one <c>sendmmsg</c>, grouped per client into GSO messages. Datagrams
/// from peers with a permission but no bound channel go to the control plane (RFC 8656 Data indications); from
/// anyone else they are dropped here. No lock, no allocation per datagram.
/// </summary>
internal sealed class PeerWorker : IDisposable
{
    private const int BatchSize = 64;
    private const int MinimumRoom = 8; // a socket's turn gets at least this many slots
    private const int BufferSize = 65536;
    private const int Header = 4;
    private const int RoundsPerWake = 4; // then give other ready sockets their turn (epoll reports it again)

    private readonly RelayDataPath _path;
    private readonly int _thread;
    private readonly Epoll _epoll = new(capacity: 64);
    private readonly EventFd _wake = new();
    private readonly UdpReceiveBatch _receive = new(BatchSize, BufferSize, headroom: Header);
    private readonly ForwardBatch _forward = new(BatchSize);
    private const ulong WakeToken = ulong.MaxValue;
    private int _filled;
    private int _received; // since the last flush

    public PeerWorker(RelayDataPath path, int thread)
    {
        _path = path;
        _thread = thread;
        if (!_epoll.TryAdd(_wake.Handle, EpollEvents.In, WakeToken, out int errno))
        {
            throw NativeIoException.FromErrno("epoll_ctl(eventfd)", errno);
        }
    }

    /// <summary>Starts watching an allocation socket; false (with the errno) if the kernel refused.</summary>
    public bool TryAdd(RelayUdpSocket socket, out int errno) => _epoll.TryAdd(socket.Socket.SafeHandle, EpollEvents.In, socket.Token, out errno);

    /// <summary>Stops watching an allocation socket (before it is closed).</summary>
    public void Remove(RelayUdpSocket socket) => _epoll.TryRemove(socket.Socket.SafeHandle);

    /// <summary>Wakes the thread (used at shutdown).</summary>
    public void Wake() => _wake.Signal();

    public void Run(CancellationToken stopping)
    {
        Span<EpollEvent> events = stackalloc EpollEvent[64];
        WakeCoalescer.Enter();
        var coalescer = default(WakeCoalescer);
        while (!stopping.IsCancellationRequested)
        {
            int n;
            try
            {
                n = _epoll.Wait(events, 1000);
            }
            catch (Exception e) when (e is NativeIoException or ObjectDisposedException)
            {
                return;
            }

            // Every ready socket's datagrams go into one receive batch, then out in one send batch per listener.
            for (int i = 0; i < n; i++)
            {
                ulong token = events[i].Token;
                if (token == WakeToken)
                {
                    _wake.Reset();
                    continue;
                }

                int port = (int)(token & 0xFFFF);
                var family = (token & (1UL << 16)) != 0 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
                if (_path.AllocationSockets.Get(port, family) is { } socket)
                {
                    Drain(socket);
                }
            }

            int received = _received;
            Flush();
            coalescer.AfterWake(received, _receive.Capacity);
        }
    }

    /// <summary>Reads what <paramref name="socket"/> has queued (a bounded amount, for fairness) into the batch.</summary>
    private void Drain(RelayUdpSocket socket)
    {
        ref var counters = ref _path.Counters.For(_thread);
        for (int round = 0; round < RoundsPerWake; round++)
        {
            if (_filled >= _receive.Capacity - MinimumRoom)
            {
                Flush();
            }

            int start = _filled;
            int count;
            try
            {
                count = _receive.Receive(socket.Socket, wait: false, start);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // an ICMP error reported on the socket, or the socket was just freed
            }

            _filled += count;
            _received += count;
            for (int i = start; i < start + count; i++)
            {
                int length = _receive.Length(i);
                var source = _receive.Source(i);
                if (!_path.Forwarder.TryRelayToClient(length, source, socket.Port, out var relay))
                {
                    if (!_path.Forwarder.IsPermitted(source, socket.Port))
                    {
                        counters.UnknownPeer++; // forged or stale traffic never reaches the control plane
                    }
                    else if (!_path.PeerControl.TryEnqueue(_receive.Datagram(i), source, socket.Port))
                    {
                        counters.ControlQueueFull++;
                    }

                    continue;
                }

                if (_path.ListenerFor(relay.Client.AddressFamily, _thread) is not { } listener)
                {
                    counters.NoAllocationSocket++;
                    continue;
                }

                var buffer = _receive.Buffer(i);
                BinaryPrimitives.WriteUInt16BigEndian(buffer, relay.Channel);
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)length);
                _forward.Add(buffer, 0, Header + length, listener, relay.ClientSocketAddress);
                counters.PeerToClientPackets++;
                counters.PeerToClientBytes += length;
            }

            if (start + count < _receive.Capacity)
            {
                return; // drained
            }
        }
    }

    /// <summary>Sends what the batch collected; its receive slots are free again afterwards.</summary>
    private void Flush()
    {
        if (_forward.Count > 0)
        {
            _path.Counters.For(_thread).SendFailed += _forward.Send();
        }

        _filled = 0;
        _received = 0;
    }

    public void Dispose()
    {
        _epoll.Dispose();
        _wake.Dispose();
        _receive.Dispose();
        _forward.Dispose();
    }
}
