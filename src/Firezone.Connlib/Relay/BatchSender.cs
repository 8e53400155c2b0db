using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Firezone.Connlib.Relay.MMsgNative;

namespace Firezone.Connlib.Relay;

/// <summary>
/// Collects up to <see cref="BatchReceiver.BatchSize"/> datagrams for one socket and sends them with one Linux
/// <c>sendmmsg</c> call (64-bit only; one <c>SendTo</c> each elsewhere). Payloads must live in pinned arrays (the
/// receivers' buffers) until <see cref="Flush"/>; destinations are copied.
/// </summary>
internal sealed unsafe partial class BatchSender : IDisposable
{
    private const int AddressSlot = 32; // sizeof(sockaddr_in6) = 28, rounded up

    private readonly bool _native = OperatingSystem.IsLinux() && IntPtr.Size == 8;
    private readonly MMsgHdr* _headers;
    private readonly IoVec* _vectors;
    private readonly byte* _addresses;
    private readonly byte[]?[] _arrays = new byte[]?[BatchReceiver.BatchSize];
    private readonly int[] _offsets = new int[BatchReceiver.BatchSize];
    private readonly int[] _lengths = new int[BatchReceiver.BatchSize];
    private readonly SocketAddress?[] _destinations = new SocketAddress?[BatchReceiver.BatchSize];
    private int _count;

    public BatchSender()
    {
        if (_native)
        {
            int n = BatchReceiver.BatchSize;
            _headers = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(n * sizeof(MMsgHdr)));
            _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)(n * sizeof(IoVec)));
            _addresses = (byte*)NativeMemory.AllocZeroed((nuint)(n * AddressSlot));
        }
    }

    /// <summary>Number of queued datagrams.</summary>
    public int Count => _count;

    /// <summary>Queues <paramref name="length"/> bytes at <paramref name="offset"/> of a pinned array for <paramref name="destination"/>.</summary>
    public void Add(byte[] pinnedArray, int offset, int length, SocketAddress destination)
    {
        int i = _count++;
        _arrays[i] = pinnedArray;
        _offsets[i] = offset;
        _lengths[i] = length;
        _destinations[i] = destination;
        if (_native)
        {
            var address = destination.Buffer.Span[..destination.Size];
            address.CopyTo(new Span<byte>(_addresses + (i * AddressSlot), AddressSlot));
            _vectors[i].Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(pinnedArray, offset);
            _vectors[i].Length = (nuint)length;
            _headers[i].Header.Name = _addresses + (i * AddressSlot);
            _headers[i].Header.NameLen = (uint)address.Length;
            _headers[i].Header.Iov = &_vectors[i];
            _headers[i].Header.IovLen = 1;
        }
    }

    /// <summary>Sends everything queued through <paramref name="socket"/>; returns how many datagrams failed.</summary>
    public int Flush(Socket socket)
    {
        int failed = 0;
        try
        {
            if (!_native)
            {
                for (int i = 0; i < _count; i++)
                {
                    try
                    {
                        socket.SendTo(_arrays[i].AsSpan(_offsets[i], _lengths[i]), SocketFlags.None, _destinations[i]!);
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        failed++;
                    }
                }

                return failed;
            }

            bool added = false;
            try
            {
                socket.SafeHandle.DangerousAddRef(ref added);
                int fd = (int)socket.SafeHandle.DangerousGetHandle();
                int sent = 0;
                while (sent < _count)
                {
                    int n = MMsgNative.SendMMsg(fd, _headers + sent, (uint)(_count - sent), 0);
                    if (n <= 0)
                    {
                        // The datagram at `sent` failed (e.g. no route, buffer full): skip it and go on.
                        failed++;
                        sent++;
                        continue;
                    }

                    sent += n;
                }
            }
            catch (ObjectDisposedException)
            {
                failed += _count;
            }
            finally
            {
                if (added)
                {
                    socket.SafeHandle.DangerousRelease();
                }
            }

            return failed;
        }
        finally
        {
            Array.Clear(_arrays, 0, _count);
            Array.Clear(_destinations, 0, _count);
            _count = 0;
        }
    }

    public void Dispose()
    {
        if (_native)
        {
            NativeMemory.Free(_headers);
            NativeMemory.Free(_vectors);
            NativeMemory.Free(_addresses);
        }
    }

}
