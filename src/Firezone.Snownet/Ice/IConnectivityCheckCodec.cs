namespace Firezone.Snownet.Ice;

/// <summary>
/// Turns <see cref="ConnectivityCheck"/> values into STUN Binding datagrams and back: USERNAME, PRIORITY,
/// ICE-CONTROLLING/ICE-CONTROLLED, USE-CANDIDATE, XOR-MAPPED-ADDRESS, ERROR-CODE, MESSAGE-INTEGRITY (short-term key =
/// the password's UTF-8 bytes, see <see cref="CheckIntegrityKey"/>) and FINGERPRINT. The agent depends on this seam
/// only (<see cref="StunConnectivityCheckCodec"/> is the implementation). Nothing here allocates per message except
/// the <see cref="System.Net.IPEndPoint"/> of a decoded XOR-MAPPED-ADDRESS.
/// </summary>
internal interface IConnectivityCheckCodec
{
    /// <summary>Cheap test: does this datagram look like a STUN message at all (first bits, magic cookie, length)?</summary>
    bool IsStun(ReadOnlySpan<byte> datagram);

    /// <summary>Decodes a Binding request or response without verifying integrity; false when malformed.</summary>
    bool TryDecode(ReadOnlySpan<byte> datagram, out ConnectivityCheck check);

    /// <summary>True when the MESSAGE-INTEGRITY of a datagram decoded into <paramref name="check"/> verifies with <paramref name="key"/>.</summary>
    bool VerifyIntegrity(ReadOnlySpan<byte> datagram, in ConnectivityCheck check, CheckIntegrityKey key);

    /// <summary>
    /// Encodes a check with MESSAGE-INTEGRITY under <paramref name="key"/> and FINGERPRINT into
    /// <paramref name="destination"/> (at least <see cref="ConnectivityCheck.MaxEncodedLength"/> bytes); returns its length.
    /// </summary>
    int Encode(in ConnectivityCheck check, CheckIntegrityKey key, Span<byte> destination);
}
