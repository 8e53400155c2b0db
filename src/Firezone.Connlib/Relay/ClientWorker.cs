using System.Net.Sockets;
using Firezone.Snownet.Turn;
using Firezone.Tun.Io;

namespace Firezone.Connlib.Relay;

/// <summary>
/// One thread reading one listening socket (several per family with <c>SO_REUSEPORT</c>; the kernel keeps each
/// client on one of them): blocking <c>recvmmsg</c> batches (split into GRO segments when the kernel coalesced
/// them), ChannelData looked up in the forwarding tables without any lock and sent from the allocation sockets in
/// GSO messages, STUN copied to the control plane's queue. Nothing here allocates per datagram.
/// </summary>
internal sealed class ClientWorker : IDisposable
{
    public const int BatchSize = 64;
    private const int BufferSize = 65536;

    private readonly RelayDataPath _path;
    private readonly RelayUdpSocket _listener;
    private readonly int _thread;
    private readonly UdpReceiveBatch _receive = new(BatchSize, BufferSize);
    private readonly ForwardBatch _forward = new(BatchSize * UdpSendBatch.MaxSegments);

    public ClientWorker(RelayDataPath path, RelayUdpSocket listener, int thread)
    {
        _path = path;
        _listener = listener;
        _thread = thread;
    }

    /// <summary>Runs until <paramref name="stopping"/> is cancelled or the socket is closed.</summary>
    public void Run(CancellationToken stopping)
    {
        var socket = _listener.Socket;
        socket.ReceiveTimeout = 500; // to notice cancellation
        WakeCoalescer.Enter();
        var coalescer = default(WakeCoalescer);
        while (!stopping.IsCancellationRequested)
        {
            int count;
            try
            {
                count = _receive.Receive(socket, wait: true);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset
                                                or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize)
            {
                continue; // an ICMP error reported on a later receive
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (count > 0)
            {
                Handle(count);
                coalescer.AfterWake(count, _receive.Capacity);
            }
        }
    }

    private void Handle(int count)
    {
        ref var counters = ref _path.Counters.For(_thread);
        for (int d = 0; d < count; d++)
        {
            int length = _receive.Length(d);
            int segment = _receive.SegmentSize(d);
            if (segment == 0)
            {
                HandleOne(d, 0, length, ref counters);
                continue;
            }

            for (int offset = 0; offset < length; offset += segment)
            {
                HandleOne(d, offset, Math.Min(segment, length - offset), ref counters);
            }
        }

        if (_forward.Count > 0)
        {
            counters.SendFailed += _forward.Send();
        }
    }

    private void HandleOne(int index, int offset, int length, ref RelayCounterBlock counters)
    {
        if (length == 0)
        {
            return;
        }

        var buffer = _receive.Buffer(index);
        var datagram = buffer.AsSpan(_receive.Headroom + offset, length);
        var source = _receive.Source(index);
        byte first = datagram[0];
        if (first is >= 0x40 and <= 0x7F)
        {
            if (!_path.Forwarder.TryRelayToPeer(datagram, source, out var relay))
            {
                counters.UnknownChannel++;
                return;
            }

            if (_path.AllocationSockets.Get(relay.AllocationPort, relay.Peer.AddressFamily) is not { } target)
            {
                counters.NoAllocationSocket++;
                return;
            }

            if (_forward.Count == _forward.Capacity)
            {
                counters.SendFailed += _forward.Send();
            }

            _forward.Add(buffer, _receive.Headroom + offset + relay.PayloadOffset, relay.PayloadLength, target, relay.PeerSocketAddress);
            counters.ClientToPeerPackets++;
            counters.ClientToPeerBytes += relay.PayloadLength;
            return;
        }

        if (first <= 3 && !_path.ClientControl.TryEnqueue(datagram, source, 0))
        {
            counters.ControlQueueFull++;
        }

        // Any other first byte: dropped silently, as upstream.
    }

    public void Dispose()
    {
        _receive.Dispose();
        _forward.Dispose();
    }
}
