namespace Firezone.Snownet.Ice;

/// <summary>
/// Turns <see cref="ConnectivityCheck"/> values into STUN Binding datagrams and back: USERNAME, PRIORITY,
/// ICE-CONTROLLING/ICE-CONTROLLED, USE-CANDIDATE, XOR-MAPPED-ADDRESS, ERROR-CODE, MESSAGE-INTEGRITY (short-term,
/// keyed with a password) and FINGERPRINT. The agent depends on this seam only.
/// </summary>
internal interface IConnectivityCheckCodec
{
    /// <summary>Cheap test: does this datagram look like a STUN message at all (first bits, magic cookie, length)?</summary>
    bool IsStun(ReadOnlySpan<byte> datagram);

    /// <summary>Decodes a Binding request or response without verifying integrity; false when malformed.</summary>
    bool TryDecode(ReadOnlySpan<byte> datagram, out ConnectivityCheck check);

    /// <summary>True when MESSAGE-INTEGRITY is present and verifies with the short-term key <paramref name="password"/>.</summary>
    bool VerifyIntegrity(ReadOnlySpan<byte> datagram, string password);

    /// <summary>Encodes a check with MESSAGE-INTEGRITY keyed by <paramref name="password"/> and FINGERPRINT.</summary>
    byte[] Encode(in ConnectivityCheck check, string password);
}
