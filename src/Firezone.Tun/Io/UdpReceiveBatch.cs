using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>
/// Receives up to <see cref="Capacity"/> UDP datagrams per system call with <c>recvmmsg</c>, each into its own pinned
/// buffer at <see cref="Headroom"/> (room to write a header in front without copying), with its sender, its
/// destination address (from <c>IP_PKTINFO</c>/<c>IPV6_PKTINFO</c> control messages, when the socket asked for them
/// with <see cref="UdpSocketOptions.EnablePacketInfo"/>) and its GRO segment size (when the socket enabled
/// <see cref="UdpSocketOptions.TryEnableGro"/>: the kernel may then coalesce several datagrams of one sender into one
/// buffer, all <see cref="SegmentSize"/> long but the last). Elsewhere than Linux 64-bit it receives one datagram per
/// call with <c>ReceiveFrom</c> and reports neither destination nor segments.
/// </summary>
/// <remarks>
/// The buffers are not tied to a socket: one batch can serve many sockets from one thread, but only one call at a
/// time. Sockets must be used synchronously (never with .NET async receives, which would register them with .NET's
/// own epoll). Native memory (headers, iovecs, names, control) sits in one <see cref="NativeBuffer"/>.
/// </remarks>
internal sealed unsafe class UdpReceiveBatch : IDisposable
{
    /// <summary>Control bytes per datagram: a pktinfo and a GRO message with room to spare.</summary>
    public const int ControlSize = 128;

    private const int NameSlot = 32;

    private readonly byte[][] _buffers;
    private readonly SocketAddress[] _sources;
    private readonly int[] _lengths;
    private readonly int[] _segmentSizes;
    private readonly byte[] _local;
    private readonly byte[] _localLengths;
    private readonly NativeBuffer? _native;
    private readonly int _headersOffset;
    private readonly int _vectorsOffset;
    private readonly int _namesOffset;
    private readonly int _controlOffset;

    /// <summary>
    /// Creates a batch of <paramref name="capacity"/> buffers of <paramref name="bufferSize"/> bytes, datagrams landing at
    /// <paramref name="headroom"/>. <paramref name="family"/> sizes the sender addresses (IPv6 ones also hold IPv4 senders).
    /// </summary>
    public UdpReceiveBatch(int capacity, int bufferSize, int headroom = 0, AddressFamily family = AddressFamily.InterNetworkV6)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bufferSize, headroom);
        IsNative = LibC.IsSupported;
        Capacity = IsNative ? capacity : 1;
        BufferSize = bufferSize;
        Headroom = headroom;
        _buffers = new byte[Capacity][];
        _sources = new SocketAddress[Capacity];
        _lengths = new int[Capacity];
        _segmentSizes = new int[Capacity];
        _local = new byte[Capacity * 16];
        _localLengths = new byte[Capacity];
        for (int i = 0; i < Capacity; i++)
        {
            _buffers[i] = GC.AllocateUninitializedArray<byte>(bufferSize, pinned: true);
            _sources[i] = new SocketAddress(family);
        }

        if (!IsNative)
        {
            return;
        }

        _headersOffset = 0;
        _vectorsOffset = Capacity * sizeof(NativeLayout.MMsgHdr);
        _namesOffset = _vectorsOffset + (Capacity * sizeof(NativeLayout.IoVec));
        _controlOffset = _namesOffset + (Capacity * NameSlot);
        _native = new NativeBuffer(_controlOffset + (Capacity * ControlSize));
        using var lease = _native.Acquire();
        for (int i = 0; i < Capacity; i++)
        {
            var vector = Vector(lease.Pointer, i);
            vector->Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffers[i], headroom);
            vector->Length = (nuint)(bufferSize - headroom);
            var header = Header(lease.Pointer, i);
            header->Header.Iov = vector;
            header->Header.IovLen = 1;
            header->Header.Name = lease.Pointer + _namesOffset + (i * NameSlot);
            header->Header.Control = lease.Pointer + _controlOffset + (i * ControlSize);
        }
    }

    /// <summary>True when <c>recvmmsg</c> with control messages is used (Linux, 64-bit).</summary>
    public bool IsNative { get; }

    /// <summary>Datagrams per call.</summary>
    public int Capacity { get; }

    /// <summary>Size of each buffer.</summary>
    public int BufferSize { get; }

    /// <summary>Where each datagram starts in its buffer.</summary>
    public int Headroom { get; }

    /// <summary>Buffer of datagram <paramref name="index"/> (pinned; the datagram starts at <see cref="Headroom"/>).</summary>
    public byte[] Buffer(int index) => _buffers[index];

    /// <summary>The bytes of datagram <paramref name="index"/> (all its GRO segments).</summary>
    public Span<byte> Datagram(int index) => _buffers[index].AsSpan(Headroom, _lengths[index]);

    /// <summary>Length of datagram <paramref name="index"/> (all its GRO segments together).</summary>
    public int Length(int index) => _lengths[index];

    /// <summary>Sender of datagram <paramref name="index"/>.</summary>
    public SocketAddress Source(int index) => _sources[index];

    /// <summary>GRO segment size of datagram <paramref name="index"/>; 0 when it is a single datagram.</summary>
    public int SegmentSize(int index) => _segmentSizes[index];

    /// <summary>
    /// The destination address of datagram <paramref name="index"/> (4 or 16 bytes, network order) from its pktinfo;
    /// empty when the socket did not ask for it.
    /// </summary>
    public ReadOnlySpan<byte> LocalAddress(int index) => _local.AsSpan(index * 16, _localLengths[index]);

    /// <summary>The destination address of datagram <paramref name="index"/>, or null (allocates; not for hot paths).</summary>
    public IPAddress? GetLocalAddress(int index) => _localLengths[index] == 0 ? null : new IPAddress(LocalAddress(index));

    /// <summary>
    /// Receives a batch from <paramref name="socket"/> into slots <paramref name="start"/> and up (so that one batch can
    /// collect datagrams of several sockets). With <paramref name="wait"/>, blocks until at least one datagram arrives
    /// (up to the socket's receive timeout; the socket must be in blocking mode), then takes what else is queued;
    /// otherwise returns at once. Returns the number received (0: none, timed out or interrupted); they are at indexes
    /// <paramref name="start"/> to <paramref name="start"/> + result − 1.
    /// </summary>
    /// <exception cref="SocketException">The socket failed (e.g. closed; an ICMP error reported on it).</exception>
    /// <exception cref="ObjectDisposedException">The socket or this batch was disposed.</exception>
    public int Receive(Socket socket, bool wait, int start = 0)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(start, Capacity);
        if (!IsNative)
        {
            return ReceiveOne(socket, wait);
        }

        using var lease = _native!.Acquire();
        for (int i = start; i < Capacity; i++)
        {
            var header = Header(lease.Pointer, i);
            header->Header.NameLen = NameSlot;
            header->Header.ControlLen = ControlSize;
            header->Header.Flags = 0;
            header->Length = 0;
        }

        int n;
        while (true)
        {
            n = LibC.RecvMMsg(socket.SafeHandle, Header(lease.Pointer, start), (uint)(Capacity - start), wait ? LibC.MSG_WAITFORONE : LibC.MSG_DONTWAIT, null);
            if (n >= 0)
            {
                break;
            }

            int errno = LibC.LastError;
            if (errno == LibC.EINTR)
            {
                continue;
            }

            return errno == LibC.EAGAIN ? 0 : throw new SocketException(errno);
        }

        for (int i = start; i < start + n; i++)
        {
            var header = Header(lease.Pointer, i);
            _lengths[i] = (int)header->Length;
            var source = _sources[i];
            int nameLength = Math.Min((int)header->Header.NameLen, source.Buffer.Length);
            new ReadOnlySpan<byte>(header->Header.Name, nameLength).CopyTo(source.Buffer.Span);
            source.Size = nameLength;
            ParseControl(i, header->Header.Control, (int)header->Header.ControlLen);
        }

        return n;
    }

    private int ReceiveOne(Socket socket, bool wait)
    {
        try
        {
            if (!wait && socket.Available == 0)
            {
                return 0;
            }

            _lengths[0] = socket.ReceiveFrom(_buffers[0].AsSpan(Headroom), SocketFlags.None, _sources[0]);
            _segmentSizes[0] = 0;
            _localLengths[0] = 0;
            return 1;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return 0;
        }
    }

    private void ParseControl(int index, byte* control, int length)
    {
        _segmentSizes[index] = 0;
        _localLengths[index] = 0;
        int offset = 0;
        int dataOffset = NativeLayout.CMsgDataOffset;
        while (offset + dataOffset <= length)
        {
            var cmsg = (NativeLayout.CMsgHdr*)(control + offset);
            int cmsgLength = (int)cmsg->Length;
            if (cmsgLength < dataOffset || offset + cmsgLength > length)
            {
                break;
            }

            byte* data = control + offset + dataOffset;
            int dataLength = cmsgLength - dataOffset;
            switch ((cmsg->Level, cmsg->Type))
            {
                case (LibC.SOL_IP, LibC.IP_PKTINFO) when dataLength >= sizeof(NativeLayout.InPktInfo):
                    new ReadOnlySpan<byte>(&((NativeLayout.InPktInfo*)data)->Addr, 4).CopyTo(_local.AsSpan(index * 16));
                    _localLengths[index] = 4;
                    break;
                case (LibC.SOL_IPV6, LibC.IPV6_PKTINFO) when dataLength >= sizeof(NativeLayout.In6PktInfo):
                    new ReadOnlySpan<byte>(((NativeLayout.In6PktInfo*)data)->Addr, 16).CopyTo(_local.AsSpan(index * 16));
                    _localLengths[index] = 16;
                    break;
                case (LibC.SOL_UDP, LibC.UDP_GRO) when dataLength >= sizeof(int):
                    int stride = *(int*)data;
                    _segmentSizes[index] = stride > 0 && stride < _lengths[index] ? stride : 0;
                    break;
            }

            offset += NativeLayout.CMsgAlign(cmsgLength);
        }
    }

    private NativeLayout.MMsgHdr* Header(byte* block, int index) => (NativeLayout.MMsgHdr*)(block + _headersOffset) + index;

    private NativeLayout.IoVec* Vector(byte* block, int index) => (NativeLayout.IoVec*)(block + _vectorsOffset) + index;

    /// <summary>Frees the native memory (the pinned buffers go with the garbage collector).</summary>
    public void Dispose() => _native?.Dispose();
}
