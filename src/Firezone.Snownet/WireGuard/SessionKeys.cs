namespace Firezone.Snownet.WireGuard;

/// <summary>Result of a completed handshake: indices and transport keys of one keypair.</summary>
internal sealed class SessionKeys
{
    /// <summary>Our index (receiver index of the peer's transport messages).</summary>
    public uint LocalIndex { get; init; }
    /// <summary>The peer's index (receiver index of our transport messages).</summary>
    public uint RemoteIndex { get; init; }
    /// <summary>True if we sent the initiation of this handshake.</summary>
    public bool IsInitiator { get; init; }
    /// <summary>Key of messages we send.</summary>
    public byte[] SendKey { get; } = new byte[32];
    /// <summary>Key of messages we receive.</summary>
    public byte[] ReceiveKey { get; } = new byte[32];
}
