using System.Buffers;
using System.Buffers.Binary;
using Firezone.Connlib.Tcp;

namespace Firezone.Connlib.Dns.Tcp;

/// <summary>
/// RFC 7766 §8 framing on one TCP connection: every DNS message is preceded by its length as a 2-byte big-endian
/// integer. Reads whole messages out of the byte stream (however the segments split it) into one pooled 65535-byte
/// buffer; writes frames into the send buffer, keeping frames that do not fit yet in a bounded queue.
/// </summary>
internal sealed class DnsTcpFraming
{
    /// <summary>Largest DNS message a 2-byte length can announce.</summary>
    public const int MaxMessageLength = 65535;
    private byte[]? _message = ArrayPool<byte>.Shared.Rent(MaxMessageLength);
    private readonly byte[] _lengthBytes = new byte[2];
    private int _lengthRead, _expected = -1, _messageRead;
    private readonly Queue<(byte[] Frame, int Length)> _pending = new();
    private int _pendingOffset;

    public DnsTcpFraming(TcpSocketHandle handle) => Handle = handle;

    public TcpSocketHandle Handle { get; }
    /// <summary>Frames waiting for send-buffer space.</summary>
    public int PendingFrames => _pending.Count;

    /// <summary>
    /// Reads the next complete message; false when the stream holds no complete message now (<paramref name="result"/>
    /// then says whether the stream ended or broke).
    /// </summary>
    public bool TryReadMessage(TcpSocketSet set, out ReadOnlySpan<byte> message, out TcpResult result)
    {
        message = default;
        result = TcpResult.Ok;
        if (_message is null) return false;
        while (true)
        {
            if (_expected < 0)
            {
                result = set.Receive(Handle, _lengthBytes.AsSpan(_lengthRead), out int n);
                if (result != TcpResult.Ok || n == 0) return false;
                _lengthRead += n;
                if (_lengthRead < 2) continue;
                _expected = BinaryPrimitives.ReadUInt16BigEndian(_lengthBytes);
                _lengthRead = 0;
                _messageRead = 0;
            }
            if (_messageRead < _expected)
            {
                result = set.Receive(Handle, _message.AsSpan(_messageRead, _expected - _messageRead), out int n);
                if (result != TcpResult.Ok || n == 0) return false;
                _messageRead += n;
                if (_messageRead < _expected) continue;
            }
            message = _message.AsSpan(0, _expected);
            _expected = -1;
            return true;
        }
    }

    /// <summary>Queues one framed message (written now as far as the send buffer allows). False if it is too long.</summary>
    public bool Write(TcpSocketSet set, ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxMessageLength) return false;
        if (_pending.Count == 0 && set.SendSpace(Handle) >= message.Length + 2)
        {
            Span<byte> len = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(len, (ushort)message.Length);
            set.Send(Handle, len, out _);
            set.Send(Handle, message, out _);
            return true;
        }
        byte[] frame = ArrayPool<byte>.Shared.Rent(message.Length + 2);
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)message.Length);
        message.CopyTo(frame.AsSpan(2));
        _pending.Enqueue((frame, message.Length + 2));
        Flush(set);
        return true;
    }

    /// <summary>Moves queued frames into the send buffer as space allows (call on Writable).</summary>
    public void Flush(TcpSocketSet set)
    {
        while (_pending.TryPeek(out var f))
        {
            if (set.Send(Handle, f.Frame.AsSpan(_pendingOffset, f.Length - _pendingOffset), out int n) != TcpResult.Ok) return;
            _pendingOffset += n;
            if (_pendingOffset < f.Length) return;
            _pending.Dequeue();
            ArrayPool<byte>.Shared.Return(f.Frame);
            _pendingOffset = 0;
        }
    }

    /// <summary>Returns the pooled buffers.</summary>
    public void Dispose()
    {
        if (_message is { } m) ArrayPool<byte>.Shared.Return(m);
        _message = null;
        while (_pending.TryDequeue(out var f)) ArrayPool<byte>.Shared.Return(f.Frame);
    }
}
