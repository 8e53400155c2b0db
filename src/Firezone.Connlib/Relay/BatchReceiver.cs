using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Firezone.Connlib.Relay.MMsgNative;

namespace Firezone.Connlib.Relay;

/// <summary>
/// Receives up to <see cref="BatchSize"/> datagrams per system call with Linux <c>recvmmsg</c> (64-bit only), writing
/// each sender straight into a <see cref="SocketAddress"/>. Elsewhere it falls back to one <c>ReceiveFrom</c> per call.
/// The buffers are not tied to a socket: one receiver can serve many sockets from one thread. Sockets must be used
/// synchronously only (never with .NET async operations, which would register them with .NET's own epoll); a blocking
/// receive should have a receive timeout so callers can notice shutdown.
/// </summary>
internal sealed unsafe partial class BatchReceiver : IDisposable
{
    public const int BatchSize = 32;
    private const int MsgWaitForOne = 0x10000;
    private const int MsgDontWait = 0x40;
    private const int Eagain = 11;
    private const int Eintr = 4;

    private readonly byte[][] _buffers;
    private readonly SocketAddress[] _addresses;
    private readonly MemoryHandleSet _pins = new();
    private readonly MMsgHdr* _headers;
    private readonly IoVec* _vectors;
    private readonly int _offset;
    private readonly bool _native;

    /// <summary>
    /// Creates a receiver; every datagram lands at <paramref name="offset"/> in its buffer (room for a header in front).
    /// <paramref name="family"/> sizes the address buffers (IPv6-sized buffers also hold IPv4 senders).
    /// </summary>
    public BatchReceiver(AddressFamily family, int bufferSize, int offset)
    {
        _offset = offset;
        _native = OperatingSystem.IsLinux() && IntPtr.Size == 8;
        int count = _native ? BatchSize : 1;
        _buffers = new byte[count][];
        _addresses = new SocketAddress[count];
        for (int i = 0; i < count; i++)
        {
            _buffers[i] = GC.AllocateUninitializedArray<byte>(bufferSize, pinned: true);
            _addresses[i] = new SocketAddress(family);
        }

        if (_native)
        {
            _headers = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(count * sizeof(MMsgHdr)));
            _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)(count * sizeof(IoVec)));
            for (int i = 0; i < count; i++)
            {
                _vectors[i].Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffers[i], offset);
                _vectors[i].Length = (nuint)(bufferSize - offset);
                _headers[i].Header.Iov = &_vectors[i];
                _headers[i].Header.IovLen = 1;
                _headers[i].Header.Name = (byte*)_pins.Pin(_addresses[i].Buffer);
            }
        }
    }

    /// <summary>Buffer of datagram <paramref name="index"/> (the datagram starts at the configured offset).</summary>
    public byte[] Buffer(int index) => _buffers[index];

    /// <summary>Sender of datagram <paramref name="index"/>.</summary>
    public SocketAddress Address(int index) => _addresses[index];

    /// <summary>Length of datagram <paramref name="index"/>.</summary>
    public int Length(int index) => _native ? (int)_headers[index].Length : _lastLength;

    private int _lastLength;

    /// <summary>
    /// Receives a batch from <paramref name="socket"/>: when <paramref name="block"/>, waits for at least one datagram
    /// (up to the socket's receive timeout); otherwise returns at once. Returns how many were received (0: none).
    /// </summary>
    /// <exception cref="SocketException">When the socket fails (e.g. closed).</exception>
    public int Receive(Socket socket, bool block)
    {
        if (!_native)
        {
            try
            {
                if (!block && socket.Available == 0)
                {
                    return 0;
                }

                _lastLength = socket.ReceiveFrom(_buffers[0].AsSpan(_offset), SocketFlags.None, _addresses[0]);
                return 1;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset)
            {
                return 0;
            }
        }

        int capacity = _addresses[0].Buffer.Length;
        for (int i = 0; i < BatchSize; i++)
        {
            _headers[i].Header.NameLen = (uint)capacity;
            _headers[i].Header.Flags = 0;
            _headers[i].Length = 0;
        }

        bool added = false;
        socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            int n = MMsgNative.RecvMMsg((int)socket.SafeHandle.DangerousGetHandle(), _headers, BatchSize, block ? MsgWaitForOne : MsgDontWait, null);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Eagain or Eintr)
                {
                    return 0;
                }

                throw new SocketException(errno);
            }

            for (int i = 0; i < n; i++)
            {
                _addresses[i].Size = (int)_headers[i].Header.NameLen;
            }

            return n;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        if (_native)
        {
            NativeMemory.Free(_headers);
            NativeMemory.Free(_vectors);
        }

        _pins.Dispose();
    }


    /// <summary>Keeps the socket-address buffers pinned for the receiver's lifetime.</summary>
    private sealed class MemoryHandleSet : IDisposable
    {
        private readonly List<System.Buffers.MemoryHandle> _handles = new();

        public void* Pin(Memory<byte> memory)
        {
            var handle = memory.Pin();
            _handles.Add(handle);
            return handle.Pointer;
        }

        public void Dispose()
        {
            foreach (var handle in _handles)
            {
                handle.Dispose();
            }

            _handles.Clear();
        }
    }
}
