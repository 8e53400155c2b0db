using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>Outcome of <see cref="UdpSendBatch.Flush"/>.</summary>
/// <param name="Sent">Messages handed to the kernel (a GSO message counts once).</param>
/// <param name="Failed">Messages the kernel refused (dropped).</param>
/// <param name="LastError">errno of the last refusal (0: none).</param>
/// <param name="GsoUnsupported">A GSO message failed with EIO (no segmentation offload on the route): it was sent
/// segment by segment; the caller should stop using segment sizes on this socket.</param>
/// <param name="Unsent">With <c>stopOnWouldBlock</c>: messages not sent because the socket's buffer was full (the
/// last ones of the batch, in order); the caller keeps them and sends them again once the socket is writable.</param>
internal readonly record struct UdpSendResult(int Sent, int Failed, int LastError, bool GsoUnsupported, int Unsent = 0);

/// <summary>
/// Collects UDP messages for one socket and sends them with one <c>sendmmsg</c> call (Linux 64-bit; one
/// <c>SendTo</c> per datagram elsewhere). A message is one datagram, or with a segment size several datagrams of
/// that size (the last may be shorter) that the kernel cuts apart (UDP GSO, <c>UDP_SEGMENT</c>); its bytes may come
/// from several spans (iovecs), each holding whole segments. An explicit source address travels as an
/// <c>IP_PKTINFO</c>/<c>IPV6_PKTINFO</c> control message. Payload arrays must be pinned (e.g.
/// <see cref="GC.AllocateUninitializedArray{T}(int, bool)"/> with <c>pinned: true</c>) and unchanged until
/// <see cref="Flush"/>; destinations and sources are copied.
/// </summary>
internal sealed unsafe class UdpSendBatch : IDisposable
{
    /// <summary>Most segments per GSO message (the kernel's <c>UDP_MAX_SEGMENTS</c> is 64 on older kernels).</summary>
    public const int MaxSegments = 64;

    /// <summary>Most payload bytes per GSO message (below the 64 KiB IP limit with IPv6 headers).</summary>
    public const int MaxGsoBytes = 65_000;

    private const int NameSlot = 32;
    private const int ControlSlot = 64;

    private readonly NativeBuffer? _native;
    private readonly int _vectorsOffset;
    private readonly int _namesOffset;
    private readonly int _controlOffset;
    private readonly byte[]?[] _arrays;
    private readonly int[] _offsets;
    private readonly int[] _lengths;
    private readonly int[] _firstVector;
    private readonly int[] _vectorCount;
    private readonly int[] _segmentSizes;
    private readonly int[] _sourceControl;
    private readonly SocketAddress?[] _destinations;

    /// <summary>Creates a batch of at most <paramref name="maxMessages"/> messages and <paramref name="maxVectors"/> spans.</summary>
    public UdpSendBatch(int maxMessages = 64, int maxVectors = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVectors, maxMessages);
        IsNative = LibC.IsSupported;
        MaxMessages = maxMessages;
        MaxVectors = maxVectors;
        _arrays = new byte[]?[maxVectors];
        _offsets = new int[maxVectors];
        _lengths = new int[maxVectors];
        _firstVector = new int[maxMessages];
        _vectorCount = new int[maxMessages];
        _segmentSizes = new int[maxMessages];
        _sourceControl = new int[maxMessages];
        _destinations = new SocketAddress?[maxMessages];
        if (IsNative)
        {
            _vectorsOffset = maxMessages * sizeof(NativeLayout.MMsgHdr);
            _namesOffset = _vectorsOffset + (maxVectors * sizeof(NativeLayout.IoVec));
            _controlOffset = _namesOffset + (maxMessages * NameSlot);
            _native = new NativeBuffer(_controlOffset + (maxMessages * ControlSlot));
        }
    }

    /// <summary>True when <c>sendmmsg</c>, GSO and source addresses are used (Linux, 64-bit).</summary>
    public bool IsNative { get; }

    /// <summary>Capacity in messages.</summary>
    public int MaxMessages { get; }

    /// <summary>Capacity in spans.</summary>
    public int MaxVectors { get; }

    /// <summary>Messages queued.</summary>
    public int MessageCount { get; private set; }

    /// <summary>Spans queued.</summary>
    public int VectorCount { get; private set; }

    /// <summary>True when one more message with <paramref name="vectors"/> spans fits.</summary>
    public bool HasRoomForMessage(int vectors = 1) => MessageCount < MaxMessages && VectorCount + vectors <= MaxVectors;

    /// <summary>True when the current message can take one more span.</summary>
    public bool HasRoomForSpan => MessageCount > 0 && VectorCount < MaxVectors;

    /// <summary>
    /// Starts a message to <paramref name="destination"/>; add its bytes with <see cref="Append"/>.
    /// <paramref name="segmentSize"/> &gt; 0 makes it a GSO message of that segment size.
    /// <paramref name="source"/> (4 or 16 bytes, network order; empty: the kernel chooses) sets the source address.
    /// </summary>
    public void BeginMessage(SocketAddress destination, int segmentSize = 0, ReadOnlySpan<byte> source = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (MessageCount >= MaxMessages)
        {
            throw new InvalidOperationException("The batch is full; flush it first.");
        }

        if (source.Length is not (0 or 4 or 16) || segmentSize is < 0 or > ushort.MaxValue)
        {
            throw new ArgumentException("Source addresses have 4 or 16 bytes; segment sizes are 0–65535.");
        }

        int m = MessageCount++;
        _destinations[m] = destination;
        _firstVector[m] = VectorCount;
        _vectorCount[m] = 0;
        _segmentSizes[m] = IsNative ? segmentSize : 0;
        _sourceControl[m] = 0;
        if (!IsNative)
        {
            _segmentSizes[m] = segmentSize; // the fallback cuts segments itself
            return;
        }

        using var lease = _native!.Acquire();
        var header = Header(lease.Pointer, m);
        byte* name = lease.Pointer + _namesOffset + (m * NameSlot);
        var address = destination.Buffer.Span[..Math.Min(destination.Size, NameSlot)];
        address.CopyTo(new Span<byte>(name, NameSlot));
        header->Header.Name = name;
        header->Header.NameLen = (uint)address.Length;
        header->Header.Iov = Vector(lease.Pointer, VectorCount);
        header->Header.IovLen = 0;
        header->Header.Flags = 0;
        header->Length = 0;
        byte* control = lease.Pointer + _controlOffset + (m * ControlSlot);
        new Span<byte>(control, ControlSlot).Clear();
        int used = 0;
        if (source.Length == 4)
        {
            var cmsg = (NativeLayout.CMsgHdr*)control;
            cmsg->Level = LibC.SOL_IP;
            cmsg->Type = LibC.IP_PKTINFO;
            cmsg->Length = (nuint)NativeLayout.CMsgLen(sizeof(NativeLayout.InPktInfo));
            var info = (NativeLayout.InPktInfo*)(control + NativeLayout.CMsgDataOffset);
            info->SpecDst = MemoryMarshal.Read<uint>(source);
            used = NativeLayout.CMsgSpace(sizeof(NativeLayout.InPktInfo));
        }
        else if (source.Length == 16)
        {
            var cmsg = (NativeLayout.CMsgHdr*)control;
            cmsg->Level = LibC.SOL_IPV6;
            cmsg->Type = LibC.IPV6_PKTINFO;
            cmsg->Length = (nuint)NativeLayout.CMsgLen(sizeof(NativeLayout.In6PktInfo));
            var info = (NativeLayout.In6PktInfo*)(control + NativeLayout.CMsgDataOffset);
            source.CopyTo(new Span<byte>(info->Addr, 16));
            used = NativeLayout.CMsgSpace(sizeof(NativeLayout.In6PktInfo));
        }

        _sourceControl[m] = used;
        if (segmentSize > 0)
        {
            var cmsg = (NativeLayout.CMsgHdr*)(control + used);
            cmsg->Level = LibC.SOL_UDP;
            cmsg->Type = LibC.UDP_SEGMENT;
            cmsg->Length = (nuint)NativeLayout.CMsgLen(sizeof(ushort));
            *(ushort*)(control + used + NativeLayout.CMsgDataOffset) = (ushort)segmentSize;
            used += NativeLayout.CMsgSpace(sizeof(ushort));
        }

        header->Header.Control = used == 0 ? null : control;
        header->Header.ControlLen = (nuint)used;
    }

    /// <summary>
    /// Appends <paramref name="length"/> bytes at <paramref name="offset"/> of a pinned array to the current message.
    /// In a GSO message every span but the message's last holds a whole number of segments.
    /// </summary>
    public void Append(byte[] pinnedArray, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(pinnedArray);
        if (MessageCount == 0 || VectorCount >= MaxVectors)
        {
            throw new InvalidOperationException(MessageCount == 0 ? "BeginMessage first." : "No room for another span; flush first.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, pinnedArray.Length);
        int v = VectorCount++;
        _arrays[v] = pinnedArray;
        _offsets[v] = offset;
        _lengths[v] = length;
        _vectorCount[MessageCount - 1]++;
        if (IsNative)
        {
            using var lease = _native!.Acquire();
            var vector = Vector(lease.Pointer, v);
            vector->Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(pinnedArray, 0) + offset;
            vector->Length = (nuint)length;
            Header(lease.Pointer, MessageCount - 1)->Header.IovLen++;
        }
    }

    /// <summary>
    /// Sends every queued message through <paramref name="socket"/> and empties the batch. With
    /// <paramref name="stopOnWouldBlock"/> (for non-blocking sockets) a full socket buffer (EAGAIN) ends the call: the
    /// messages from the refused one on are neither sent nor failed but counted in <see cref="UdpSendResult.Unsent"/>
    /// (the batch is emptied all the same; the caller queues them again). Without it they count as failed.
    /// </summary>
    public UdpSendResult Flush(Socket socket, bool stopOnWouldBlock = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            return IsNative ? FlushNative(socket, stopOnWouldBlock) : FlushManaged(socket, stopOnWouldBlock);
        }
        finally
        {
            Array.Clear(_arrays, 0, VectorCount);
            Array.Clear(_destinations, 0, MessageCount);
            MessageCount = 0;
            VectorCount = 0;
        }
    }

    private UdpSendResult FlushNative(Socket socket, bool stopOnWouldBlock)
    {
        int sent = 0, failed = 0, lastError = 0;
        bool gsoUnsupported = false;
        using var lease = _native!.Acquire();
        try
        {
            while (sent < MessageCount)
            {
                int n = LibC.SendMMsg(socket.SafeHandle, Header(lease.Pointer, sent), (uint)(MessageCount - sent), 0);
                if (n > 0)
                {
                    sent += n;
                    continue;
                }

                int errno = n < 0 ? LibC.LastError : LibC.EAGAIN;
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                if (stopOnWouldBlock && errno == LibC.EAGAIN)
                {
                    return new UdpSendResult(sent - failed, failed, lastError, gsoUnsupported, MessageCount - sent);
                }

                // The message at `sent` was refused. A GSO message the route cannot segment goes out segment by segment.
                if (_segmentSizes[sent] > 0 && errno is LibC.EIO or LibC.EINVAL or LibC.EOPNOTSUPP)
                {
                    gsoUnsupported |= errno == LibC.EIO;
                    if (!SendSegmentsOneByOne(socket, lease.Pointer, sent, ref lastError))
                    {
                        failed++;
                    }
                }
                else
                {
                    failed++;
                    lastError = errno;
                }

                sent++;
            }
        }
        catch (ObjectDisposedException)
        {
            failed += MessageCount - sent;
            lastError = LibC.EBADF;
        }

        return new UdpSendResult(MessageCount - failed, failed, lastError, gsoUnsupported);
    }

    private bool SendSegmentsOneByOne(Socket socket, byte* block, int message, ref int lastError)
    {
        var original = Header(block, message);
        int segment = _segmentSizes[message];
        bool allSent = true;
        NativeLayout.IoVec vector;
        var header = new NativeLayout.MsgHdr
        {
            Name = original->Header.Name,
            NameLen = original->Header.NameLen,
            Iov = &vector,
            IovLen = 1,
            Control = _sourceControl[message] == 0 ? null : original->Header.Control,
            ControlLen = (nuint)_sourceControl[message],
        };
        for (int v = _firstVector[message]; v < _firstVector[message] + _vectorCount[message]; v++)
        {
            byte* start = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_arrays[v]!, 0) + _offsets[v];
            for (int at = 0; at < _lengths[v] || (at == 0 && _lengths[v] == 0); at += segment)
            {
                vector = new NativeLayout.IoVec { Base = start + at, Length = (nuint)Math.Min(segment, _lengths[v] - at) };
                while (LibC.SendMsg(socket.SafeHandle, &header, 0) < 0)
                {
                    int errno = LibC.LastError;
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    lastError = errno;
                    allSent = false;
                    break;
                }

                if (_lengths[v] == 0)
                {
                    break;
                }
            }
        }

        return allSent;
    }

    private UdpSendResult FlushManaged(Socket socket, bool stopOnWouldBlock)
    {
        int failed = 0, lastError = 0;
        for (int m = 0; m < MessageCount; m++)
        {
            int segment = _segmentSizes[m];
            bool ok = true;
            for (int v = _firstVector[m]; v < _firstVector[m] + _vectorCount[m]; v++)
            {
                int step = segment > 0 ? segment : Math.Max(1, _lengths[v]);
                for (int at = 0; at < _lengths[v] || (at == 0 && _lengths[v] == 0); at += step)
                {
                    try
                    {
                        socket.SendTo(_arrays[v].AsSpan(_offsets[v] + at, Math.Min(step, _lengths[v] - at)), SocketFlags.None, _destinations[m]!);
                    }
                    catch (SocketException e) when (stopOnWouldBlock && e.SocketErrorCode == SocketError.WouldBlock && at == 0 && v == _firstVector[m])
                    {
                        return new UdpSendResult(m - failed, failed, lastError, false, MessageCount - m);
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        ok = false;
                        lastError = e is SocketException s ? s.ErrorCode : LibC.EBADF;
                    }

                    if (_lengths[v] == 0)
                    {
                        break;
                    }
                }
            }

            if (!ok)
            {
                failed++;
            }
        }

        return new UdpSendResult(MessageCount - failed, failed, lastError, false);
    }

    private static NativeLayout.MMsgHdr* Header(byte* block, int index) => (NativeLayout.MMsgHdr*)block + index;

    private NativeLayout.IoVec* Vector(byte* block, int index) => (NativeLayout.IoVec*)(block + _vectorsOffset) + index;

    /// <summary>Frees the native memory.</summary>
    public void Dispose() => _native?.Dispose();
}
