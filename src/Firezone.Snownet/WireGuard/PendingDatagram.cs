namespace Firezone.Snownet.WireGuard;

/// <summary>
/// One datagram a <see cref="Tunnel"/> keeps until <see cref="Tunnel.PollTransmit"/> copies it out: a fixed buffer
/// allocated once with the tunnel, and the length of what it holds (0: nothing). A newer datagram replaces an older
/// one that was not polled (only the latest initiation or answer matters).
/// </summary>
internal sealed class PendingDatagram(int capacity)
{
    private int _length;

    /// <summary>The buffer to write the datagram into (then call <see cref="Set"/>).</summary>
    public byte[] Buffer { get; } = new byte[capacity];

    /// <summary>True while a datagram waits.</summary>
    public bool IsSet => _length > 0;

    /// <summary>Marks the first <paramref name="length"/> bytes of <see cref="Buffer"/> as the waiting datagram.</summary>
    public void Set(int length) => _length = length;

    /// <summary>Copies <paramref name="datagram"/> in and marks it waiting.</summary>
    public void Store(ReadOnlySpan<byte> datagram)
    {
        datagram.CopyTo(Buffer);
        _length = datagram.Length;
    }

    /// <summary>Forgets the waiting datagram.</summary>
    public void Clear() => _length = 0;

    /// <summary>
    /// Copies the waiting datagram into <paramref name="destination"/> and forgets it; false when nothing waits.
    /// A too-small destination is an error and keeps the datagram.
    /// </summary>
    public bool TryTake(Span<byte> destination, out TunnelResult result)
    {
        if (_length == 0)
        {
            result = TunnelResult.Done;
            return false;
        }

        if (destination.Length < _length)
        {
            result = TunnelResult.Fail(WireGuardError.DestinationBufferTooSmall);
            return true;
        }

        Buffer.AsSpan(0, _length).CopyTo(destination);
        result = TunnelResult.Network(_length);
        _length = 0;
        return true;
    }
}
