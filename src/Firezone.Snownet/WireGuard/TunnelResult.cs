namespace Firezone.Snownet.WireGuard;

/// <summary>What the caller has to do with the destination buffer after a <see cref="Tunnel"/> call.</summary>
internal enum TunnelResultKind : byte
{
    /// <summary>Nothing to do.</summary>
    Done,
    /// <summary>Send the first <see cref="TunnelResult.Length"/> bytes to the peer (then keep draining <see cref="Tunnel.PollTransmit"/> as after every call).</summary>
    WriteToNetwork,
    /// <summary>An IPv4 packet of <see cref="TunnelResult.Length"/> bytes for the TUN device.</summary>
    WriteToTunnelV4,
    /// <summary>An IPv6 packet of <see cref="TunnelResult.Length"/> bytes for the TUN device.</summary>
    WriteToTunnelV6,
    /// <summary>The input was refused; see <see cref="TunnelResult.Error"/>.</summary>
    Error,
}

/// <summary>Why a tunnel call failed or dropped its input.</summary>
internal enum WireGuardError : byte
{
    /// <summary>No error.</summary>
    None,
    /// <summary>The destination buffer is too small.</summary>
    DestinationBufferTooSmall,
    /// <summary>Not a WireGuard message (bad type, reserved bytes or length).</summary>
    InvalidPacket,
    /// <summary>mac1 of a handshake message did not verify.</summary>
    InvalidMac,
    /// <summary>Too many handshakes and no way to answer with a cookie.</summary>
    UnderLoad,
    /// <summary>No session or pending handshake has this receiver index.</summary>
    WrongIndex,
    /// <summary>A transport counter was replayed or is outside the window.</summary>
    ReplayedCounter,
    /// <summary>A transport message did not authenticate.</summary>
    DecryptionFailed,
    /// <summary>A handshake message was refused (see <see cref="HandshakeError"/>).</summary>
    HandshakeFailed,
    /// <summary>The session the message belongs to has expired.</summary>
    SessionExpired,
    /// <summary>A decrypted packet is neither a valid IPv4 nor IPv6 packet.</summary>
    InvalidTunnelPacket,
}

/// <summary>Result of a <see cref="Tunnel"/> call: a kind, a length in the caller's buffer, an error.</summary>
internal readonly record struct TunnelResult(TunnelResultKind Kind, int Length, WireGuardError Error)
{
    /// <summary>Nothing to do.</summary>
    public static TunnelResult Done => default;

    /// <summary>Send <paramref name="length"/> bytes.</summary>
    public static TunnelResult Network(int length) => new(TunnelResultKind.WriteToNetwork, length, WireGuardError.None);

    /// <summary>A failure.</summary>
    public static TunnelResult Fail(WireGuardError error) => new(TunnelResultKind.Error, 0, error);
}
