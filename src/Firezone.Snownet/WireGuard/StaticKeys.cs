namespace Firezone.Snownet.WireGuard;

/// <summary>
/// Long-lived key material of one tunnel: our static key pair, the peer's static public key, the preshared key and
/// everything derived from them once (static-static DH, mac1 and cookie keys in both directions).
/// </summary>
internal sealed class StaticKeys
{
    /// <summary>Builds the key set; fails if the peer's public key yields an all-zero DH.</summary>
    public StaticKeys(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> peerPublicKey, ReadOnlySpan<byte> presharedKey)
    {
        if (privateKey.Length != 32 || peerPublicKey.Length != 32) throw new ArgumentException("Keys are 32 bytes.");
        if (!presharedKey.IsEmpty && presharedKey.Length != 32) throw new ArgumentException("A preshared key is 32 bytes.", nameof(presharedKey));
        privateKey.CopyTo(PrivateKey);
        X25519.PublicKeyOf(privateKey, PublicKey);
        peerPublicKey.CopyTo(PeerPublicKey);
        presharedKey.CopyTo(PresharedKey);
        if (!X25519.TryAgree(PrivateKey, PeerPublicKey, StaticStatic))
            throw new ArgumentException("Invalid peer public key.", nameof(peerPublicKey));

        Blake2s.Hash(NoiseConstants.LabelMac1, PeerPublicKey, PeerMac1Key);
        Blake2s.Hash(NoiseConstants.LabelCookie, PeerPublicKey, PeerCookieKey);
        Blake2s.Hash(NoiseConstants.InitialHash, PeerPublicKey, InitiatorHash);
        Blake2s.Hash(NoiseConstants.InitialHash, PublicKey, ResponderHash);
    }

    /// <summary>Our static private key.</summary>
    public byte[] PrivateKey { get; } = new byte[32];
    /// <summary>Our static public key.</summary>
    public byte[] PublicKey { get; } = new byte[32];
    /// <summary>The peer's static public key.</summary>
    public byte[] PeerPublicKey { get; } = new byte[32];
    /// <summary>Preshared key (zeros if none).</summary>
    public byte[] PresharedKey { get; } = new byte[32];
    /// <summary>DH(our static, peer static).</summary>
    public byte[] StaticStatic { get; } = new byte[32];
    /// <summary>HASH("mac1----" || peer public): key of mac1 on messages we send.</summary>
    public byte[] PeerMac1Key { get; } = new byte[32];
    /// <summary>HASH("cookie--" || peer public): decrypts cookie replies the peer sends us.</summary>
    public byte[] PeerCookieKey { get; } = new byte[32];
    /// <summary>HASH(HASH(C || identifier) || peer public): initial hash when we initiate.</summary>
    public byte[] InitiatorHash { get; } = new byte[32];
    /// <summary>HASH(HASH(C || identifier) || our public): initial hash when we respond.</summary>
    public byte[] ResponderHash { get; } = new byte[32];

    /// <summary>Zeroes the secret material (private key, preshared key, static-static DH).</summary>
    public void Clear()
    {
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(PrivateKey);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(PresharedKey);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(StaticStatic);
    }
}
