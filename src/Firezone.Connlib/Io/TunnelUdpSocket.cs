using System.Net;
using System.Net.Sockets;
using Firezone.Tun.Io;

namespace Firezone.Connlib.Io;

/// <summary>
/// One of a tunnel's two UDP sockets (hosts-and-tun spec §4.2): non-blocking, bound to one address of one family,
/// reporting each datagram's destination address (<c>IP_PKTINFO</c>/<c>IPV6_RECVPKTINFO</c>) and cutting UDP GRO
/// buffers into their datagrams; sending in <c>sendmmsg</c> batches of up to <see cref="BatchSize"/> datagrams, each
/// with its own source address when the tunnel names one, runs of equal-size datagrams to one destination as UDP GSO
/// messages (<see cref="Gso"/>). A full socket buffer (EAGAIN) parks the datagrams not sent
/// (<see cref="IsBlocked"/>); they go first once the socket is writable again. Used by one thread (the tunnel's loop).
/// Nothing here allocates per datagram in steady state: destinations, senders and local addresses are cached
/// (at most <see cref="MaxCachedEndpoints"/> each, then the cache starts over).
/// </summary>
internal sealed class TunnelUdpSocket : IDisposable
{
    /// <summary>Received datagrams longer than this are dropped (tunnel spec §2, <c>MAX_DATAGRAM_PAYLOAD</c>).</summary>
    public const int MaxDatagramPayload = 1336;

    /// <summary>Datagrams per <c>sendmmsg</c> and per receive call.</summary>
    public const int BatchSize = 64;

    /// <summary>Largest datagram the send queue takes (TURN/STUN and WireGuard messages are far smaller).</summary>
    public const int MaxSendSize = 2048;

    /// <summary>
    /// Datagrams the send queue holds: two batches, so that after a flush found the socket full there is room for
    /// what the loop produces before it notices (it stops producing while <see cref="IsBlocked"/>).
    /// </summary>
    public const int QueueSlots = 2 * BatchSize;

    /// <summary>Bound of each endpoint cache.</summary>
    public const int MaxCachedEndpoints = 4096;

    private const int ReceiveBuffers = 8;
    private const int ReceiveBufferSize = 65536;

    private readonly UdpReceiveBatch _receive;
    private readonly UdpSendBatch _send = new(BatchSize, BatchSize);
    private readonly byte[] _arena = GC.AllocateUninitializedArray<byte>(QueueSlots * MaxSendSize, pinned: true);
    private readonly int[] _lengths = new int[QueueSlots];
    private readonly SocketAddress[] _destinations = new SocketAddress[QueueSlots];
    private readonly byte[] _sources = new byte[QueueSlots * 16];
    private readonly int[] _sourceLengths = new int[QueueSlots];
    private readonly int[] _messageDatagrams = new int[BatchSize];
    private readonly Dictionary<IPEndPoint, SocketAddress> _destinationCache = new();
    private readonly Dictionary<SocketAddress, IPEndPoint> _senderCache = new();
    private readonly List<(byte[] Address, IPEndPoint EndPoint)> _localCache = new();
    private readonly TunnelCounters _counters;
    private bool _gso;
    private int _pending;
    private int _received;
    private int _cursor;
    private int _segmentOffset;

    private TunnelUdpSocket(Socket socket, TunnelCounters counters, bool gso)
    {
        Socket = socket;
        _gso = gso;
        _counters = counters;
        Family = socket.AddressFamily;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        _receive = new UdpReceiveBatch(ReceiveBuffers, ReceiveBufferSize, 0, Family);
    }

    /// <summary>The socket (non-blocking; never used with .NET's async operations).</summary>
    public Socket Socket { get; }

    /// <summary>Its address family.</summary>
    public AddressFamily Family { get; }

    /// <summary>Its port (chosen by the system when bound to port 0).</summary>
    public int Port { get; }

    /// <summary>The bound address and port.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    /// <summary>The receive and send buffer size the kernel granted (bytes, as <c>getsockopt</c> reports them).</summary>
    public (int Receive, int Send) BufferSizes => (Socket.ReceiveBufferSize, Socket.SendBufferSize);

    /// <summary>True while runs of equal-size datagrams to one destination leave as UDP GSO messages.</summary>
    public bool Gso => _gso;

    /// <summary>True after a send found the socket buffer full: wait until writable, then <see cref="Flush"/> again.</summary>
    public bool IsBlocked { get; private set; }

    /// <summary>Datagrams queued or parked.</summary>
    public int Pending => _pending;

    /// <summary>
    /// Binds a non-blocking UDP socket to <paramref name="address"/>:<paramref name="port"/> (IPv6 sockets IPv6-only),
    /// asks for packet info and GRO (best effort) and requests <paramref name="bufferSize"/> bytes of receive and send
    /// buffer (beyond the system maximum where privileged; 0: the system default). <paramref name="gso"/>: use UDP GSO
    /// when the kernel has it.
    /// </summary>
    /// <exception cref="SocketException">The bind failed.</exception>
    public static TunnelUdpSocket Bind(IPAddress address, int port, int bufferSize, TunnelCounters counters, bool gso = true, uint? mark = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            Io.SocketMark.Apply(socket, mark);
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            if (bufferSize > 0)
            {
                UdpSocketOptions.SetBufferSizes(socket, bufferSize);
            }

            socket.Bind(new IPEndPoint(address, port));
            socket.Blocking = false;
            UdpSocketOptions.EnablePacketInfo(socket);
            UdpSocketOptions.TryEnableGro(socket);
            return new TunnelUdpSocket(socket, counters, gso && UdpSocketOptions.SupportsGso(socket));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Queues one datagram (copied); a full batch is flushed at once. <paramref name="source"/> (null: the kernel
    /// chooses) must be of this socket's family. False (counted as a failed send) when it could not be queued: too
    /// long, a source of the other family, or the queue full while the socket is blocked.
    /// </summary>
    public bool Enqueue(IPEndPoint? source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxSendSize || (source is not null && source.AddressFamily != Family) || _pending == QueueSlots)
        {
            _counters.Drop(TunnelDropReason.SendFailed);
            return false;
        }

        int slot = _pending++;
        payload.CopyTo(_arena.AsSpan(slot * MaxSendSize, MaxSendSize));
        _lengths[slot] = payload.Length;
        _destinations[slot] = DestinationAddress(destination);
        _sourceLengths[slot] = source is not null && source.Address.TryWriteBytes(_sources.AsSpan(slot * 16, 16), out int written) ? written : 0;
        if (_pending >= BatchSize && !IsBlocked)
        {
            Flush();
        }

        return true;
    }

    /// <summary>
    /// Sends what is queued with <c>sendmmsg</c>, at most <see cref="BatchSize"/> datagrams per call. With
    /// <see cref="Gso"/>, consecutive datagrams to the same destination from the same source, all of one length (the
    /// last may be shorter), leave as one UDP GSO message (at most 64 segments and 65,000 bytes) that the kernel or
    /// the NIC cuts apart; a route that cannot segment (EIO) turns GSO off for this socket. True when nothing is left;
    /// false when the socket buffer filled up: the rest stays parked, in order, sent first by the next flush, and
    /// <see cref="IsBlocked"/> is set until a flush sends everything.
    /// </summary>
    public bool Flush()
    {
        while (_pending > 0)
        {
            int chunk = Math.Min(_pending, BatchSize);
            int messages = 0;
            for (int i = 0; i < chunk;)
            {
                int count = _gso ? RunLength(i, chunk) : 1;
                _send.BeginMessage(_destinations[i], count > 1 ? _lengths[i] : 0, _sources.AsSpan(i * 16, _sourceLengths[i]));
                for (int k = i; k < i + count; k++)
                {
                    _send.Append(_arena, k * MaxSendSize, _lengths[k]);
                }

                _messageDatagrams[messages++] = count;
                i += count;
            }

            var result = _send.Flush(Socket, stopOnWouldBlock: true);
            if (result.GsoUnsupported)
            {
                _gso = false; // sent segment by segment this time; plain datagrams from now on
            }

            int done = 0;
            for (int m = 0; m < messages - result.Unsent; m++)
            {
                done += _messageDatagrams[m];
            }

            for (int i = 0; i < done; i++)
            {
                _counters.DatagramBytesSent += _lengths[i];
            }

            _counters.DatagramsSent += done;
            for (int f = 0; f < result.Failed; f++)
            {
                _counters.Drop(TunnelDropReason.SendFailed); // per refused message (a GSO message counts once)
            }

            ShiftOut(done);
            if (result.Unsent > 0)
            {
                _counters.SendWouldBlock++;
                IsBlocked = true;
                return false;
            }
        }

        IsBlocked = false;
        return true;
    }

    /// <summary>How many datagrams from <paramref name="first"/> (below <paramref name="end"/>) can share one GSO message.</summary>
    private int RunLength(int first, int end)
    {
        int size = _lengths[first];
        var destination = _destinations[first];
        var source = _sources.AsSpan(first * 16, _sourceLengths[first]);
        int count = 1;
        while (first + count < end && count < UdpSendBatch.MaxSegments && (count + 1) * size <= UdpSendBatch.MaxGsoBytes)
        {
            int next = first + count;
            if (!ReferenceEquals(_destinations[next], destination) || _lengths[next] > size || _lengths[next] == 0
                || !source.SequenceEqual(_sources.AsSpan(next * 16, _sourceLengths[next])))
            {
                break;
            }

            count++;
            if (_lengths[next] < size)
            {
                break; // a shorter datagram ends the message
            }
        }

        return count;
    }

    /// <summary>Drops the first <paramref name="count"/> queued datagrams (sent), moving the rest to the front in order.</summary>
    private void ShiftOut(int count)
    {
        if (count == 0)
        {
            return;
        }

        for (int to = 0, from = count; from < _pending; to++, from++)
        {
            _arena.AsSpan(from * MaxSendSize, _lengths[from]).CopyTo(_arena.AsSpan(to * MaxSendSize));
            _lengths[to] = _lengths[from];
            _destinations[to] = _destinations[from];
            _sources.AsSpan(from * 16, 16).CopyTo(_sources.AsSpan(to * 16));
            _sourceLengths[to] = _sourceLengths[from];
        }

        _pending -= count;
    }

    /// <summary>
    /// Receives what the socket has queued (non-blocking <c>recvmmsg</c>; errors are ignored, as upstream) and returns
    /// the number of buffers; then read the datagrams with <see cref="TryNextDatagram"/>.
    /// </summary>
    public int Receive()
    {
        int n;
        try
        {
            n = _receive.Receive(Socket, wait: false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            n = 0; // an ICMP error reported on the socket, or closed under us: ignored (hosts-and-tun §4.2)
        }

        _received = n;
        _cursor = 0;
        _segmentOffset = 0;
        return n;
    }

    /// <summary>
    /// The next datagram of the last <see cref="Receive"/> (GRO buffers cut into their segments): its bytes (in a
    /// buffer of this socket, valid until the next <see cref="Receive"/>), sender and local address (the destination IP
    /// from pktinfo and this socket's port). Oversize datagrams, empty ones and those without a destination address
    /// are skipped and counted.
    /// </summary>
    public bool TryNextDatagram(out Span<byte> datagram, out IPEndPoint from, out IPEndPoint local)
    {
        while (_cursor < _received)
        {
            int index = _cursor;
            int length = _receive.Length(index);
            int stride = _receive.SegmentSize(index);
            int segment = stride == 0 ? length : Math.Min(stride, length - _segmentOffset);
            int offset = _segmentOffset;
            _segmentOffset += segment;
            if (_segmentOffset >= length || segment == 0)
            {
                _cursor++;
                _segmentOffset = 0;
            }

            if (segment == 0)
            {
                continue;
            }

            if (segment > MaxDatagramPayload)
            {
                _counters.Drop(TunnelDropReason.OversizeDatagram);
                continue;
            }

            var localAddress = _receive.LocalAddress(index);
            if (localAddress.IsEmpty)
            {
                _counters.Drop(TunnelDropReason.NoLocalAddress);
                continue;
            }

            datagram = _receive.Datagram(index).Slice(offset, segment);
            from = Sender(_receive.Source(index));
            local = Local(localAddress);
            _counters.DatagramsReceived++;
            _counters.DatagramBytesReceived += segment;
            return true;
        }

        datagram = default;
        from = null!;
        local = null!;
        return false;
    }

    private SocketAddress DestinationAddress(IPEndPoint destination)
    {
        if (_destinationCache.TryGetValue(destination, out var address))
        {
            return address;
        }

        if (_destinationCache.Count >= MaxCachedEndpoints)
        {
            _destinationCache.Clear();
        }

        address = destination.Serialize();
        _destinationCache[new IPEndPoint(destination.Address, destination.Port)] = address;
        return address;
    }

    private IPEndPoint Sender(SocketAddress source)
    {
        if (_senderCache.TryGetValue(source, out var endpoint))
        {
            return endpoint;
        }

        if (_senderCache.Count >= MaxCachedEndpoints)
        {
            _senderCache.Clear();
        }

        var copy = new SocketAddress(source.Family, source.Size);
        source.Buffer.Span[..source.Size].CopyTo(copy.Buffer.Span);
        endpoint = (IPEndPoint)new IPEndPoint(Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(copy);
        _senderCache[copy] = endpoint;
        return endpoint;
    }

    private IPEndPoint Local(ReadOnlySpan<byte> address)
    {
        foreach (var (bytes, endpoint) in _localCache)
        {
            if (address.SequenceEqual(bytes))
            {
                return endpoint;
            }
        }

        if (_localCache.Count >= 64)
        {
            _localCache.Clear();
        }

        var created = new IPEndPoint(new IPAddress(address), Port);
        _localCache.Add((address.ToArray(), created));
        return created;
    }

    /// <summary>Closes the socket and frees the native buffers.</summary>
    public void Dispose()
    {
        Socket.Dispose();
        _receive.Dispose();
        _send.Dispose();
    }
}
