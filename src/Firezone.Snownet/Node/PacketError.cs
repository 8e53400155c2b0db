namespace Firezone.Snownet;

/// <summary>Why <see cref="Node.Encapsulate"/> or <see cref="Node.Decapsulate"/> did not produce a packet.</summary>
public enum PacketError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The local address is not usable as a host candidate (unspecified, multicast, broadcast, link-local).</summary>
    BadLocalAddress,

    /// <summary>A well-formed ICE STUN message that no connection's agent accepted.</summary>
    UnhandledStunMessage,

    /// <summary>No connection accepts datagrams from this source address.</summary>
    UnhandledPacket,

    /// <summary>No established connection with this id, or it failed.</summary>
    NotConnected,

    /// <summary>The buffer is smaller than <see cref="Node.BufferSize"/>.</summary>
    BufferTooSmall,

    /// <summary>Not a WireGuard message (bad type, reserved bytes or length), or a packet too large to encrypt.</summary>
    InvalidPacket,

    /// <summary>A WireGuard handshake message's mac1 did not verify.</summary>
    InvalidMac,

    /// <summary>Too many handshakes and no way to answer with a cookie.</summary>
    UnderLoad,

    /// <summary>No WireGuard session or pending handshake has this receiver index.</summary>
    WrongIndex,

    /// <summary>A replayed transport counter, or one outside the replay window.</summary>
    ReplayedCounter,

    /// <summary>A transport message did not authenticate (forged or corrupted).</summary>
    DecryptionFailed,

    /// <summary>A WireGuard handshake message was refused.</summary>
    HandshakeFailed,

    /// <summary>The WireGuard session the message belongs to has expired.</summary>
    SessionExpired,

    /// <summary>A decrypted packet is neither a valid IPv4 nor IPv6 packet.</summary>
    InvalidTunnelPacket,
}

/// <summary>What <see cref="Node.Encapsulate"/> did.</summary>
public enum EncapsulateStatus
{
    /// <summary>Send <see cref="EncapsulateResult.Length"/> bytes at <see cref="EncapsulateResult.Offset"/> of the buffer now.</summary>
    Send,

    /// <summary>Nothing to send now (queued until a session or path exists, or dropped; see the logs at trace).</summary>
    Nothing,

    /// <summary>Refused: see <see cref="EncapsulateResult.Error"/>.</summary>
    Error,
}

/// <summary>
/// The result of <see cref="Node.Encapsulate"/>: with <see cref="EncapsulateStatus.Send"/>, send
/// <c>buffer[Offset..(Offset + Length)]</c> from <see cref="Source"/> (null: any interface) to <see cref="Destination"/>.
/// Direct datagrams start at offset 4 (room for a ChannelData header), relayed ones at 0.
/// </summary>
public readonly record struct EncapsulateResult(EncapsulateStatus Status, System.Net.IPEndPoint? Source, System.Net.IPEndPoint? Destination, int Offset, int Length, PacketError Error)
{
    internal static EncapsulateResult Nothing => new(EncapsulateStatus.Nothing, null, null, 0, 0, PacketError.None);

    internal static EncapsulateResult Fail(PacketError error) => new(EncapsulateStatus.Error, null, null, 0, 0, error);
}

/// <summary>What <see cref="Node.Decapsulate"/> did.</summary>
public enum DecapsulateStatus
{
    /// <summary>The datagram was for the node itself (TURN, ICE, WireGuard control); drain transmits and events, then call <see cref="Node.HandleTimeout"/>.</summary>
    Consumed,

    /// <summary>An IP packet for the TUN device: <see cref="DecapsulateResult.Length"/> bytes at <see cref="DecapsulateResult.Offset"/> of the buffer.</summary>
    Packet,

    /// <summary>Dropped: see <see cref="DecapsulateResult.Error"/>.</summary>
    Error,
}

/// <summary>
/// The result of <see cref="Node.Decapsulate"/>: with <see cref="DecapsulateStatus.Packet"/>, the decrypted IP packet
/// of <see cref="Connection"/> is <c>buffer[Offset..(Offset + Length)]</c> (offset 20: room to translate it to IPv6 in place).
/// </summary>
public readonly record struct DecapsulateResult(DecapsulateStatus Status, ConnectionId Connection, int Offset, int Length, PacketError Error)
{
    internal static DecapsulateResult Consumed => new(DecapsulateStatus.Consumed, default, 0, 0, PacketError.None);

    internal static DecapsulateResult Fail(PacketError error) => new(DecapsulateStatus.Error, default, 0, 0, error);
}

/// <summary>The node has no relay to give a new connection (the caller should refresh its relay list).</summary>
public sealed class NoTurnServersException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public NoTurnServersException()
        : base("No TURN servers: call UpdateRelays with at least one relay first.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public NoTurnServersException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public NoTurnServersException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
