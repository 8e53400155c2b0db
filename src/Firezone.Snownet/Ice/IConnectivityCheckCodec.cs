namespace Firezone.Snownet.Ice;

/// <summary>
/// Turns <see cref="ConnectivityCheck"/> values into STUN Binding datagrams and back: USERNAME, PRIORITY,
/// ICE-CONTROLLING/ICE-CONTROLLED, USE-CANDIDATE, XOR-MAPPED-ADDRESS, ERROR-CODE, MESSAGE-INTEGRITY (short-term key =
/// the password's UTF-8 bytes) and FINGERPRINT. The agent depends on this seam only
/// (<see cref="StunConnectivityCheckCodec"/> is the implementation).
/// </summary>
internal interface IConnectivityCheckCodec
{
    /// <summary>Cheap test: does this datagram look like a STUN message at all (first bits, magic cookie, length)?</summary>
    bool IsStun(ReadOnlySpan<byte> datagram);

    /// <summary>Decodes a Binding request or response without verifying integrity; false when malformed.</summary>
    bool TryDecode(ReadOnlySpan<byte> datagram, out ConnectivityCheck check);

    /// <summary>True when MESSAGE-INTEGRITY is present and verifies with the short-term <paramref name="key"/>.</summary>
    bool VerifyIntegrity(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> key);

    /// <summary>Encodes a check with MESSAGE-INTEGRITY keyed by <paramref name="key"/> and FINGERPRINT.</summary>
    byte[] Encode(in ConnectivityCheck check, ReadOnlySpan<byte> key);
}
