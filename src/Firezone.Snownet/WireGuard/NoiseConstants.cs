namespace Firezone.Snownet.WireGuard;

/// <summary>Protocol strings of WireGuard's Noise_IKpsk2 handshake and the values derived from them.</summary>
internal static class NoiseConstants
{
    /// <summary>The Noise construction name.</summary>
    public static ReadOnlySpan<byte> Construction => "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"u8;

    /// <summary>WireGuard's identifier, mixed into the initial hash.</summary>
    public static ReadOnlySpan<byte> Identifier => "WireGuard v1 zx2c4 Jason@zx2c4.com"u8;

    /// <summary>Label of the mac1 key: HASH(label || responder public key).</summary>
    public static ReadOnlySpan<byte> LabelMac1 => "mac1----"u8;

    /// <summary>Label of the cookie key: HASH(label || responder public key).</summary>
    public static ReadOnlySpan<byte> LabelCookie => "cookie--"u8;

    private static readonly byte[] InitialChainingKeyBytes = ComputeChainingKey();
    private static readonly byte[] InitialHashBytes = ComputeHash();

    /// <summary>C_i = HASH(Construction).</summary>
    public static ReadOnlySpan<byte> InitialChainingKey => InitialChainingKeyBytes;

    /// <summary>H_i = HASH(C_i || Identifier) (before the responder's static key is mixed in).</summary>
    public static ReadOnlySpan<byte> InitialHash => InitialHashBytes;

    private static byte[] ComputeChainingKey()
    {
        var ck = new byte[32];
        Blake2s.Hash(Construction, ck);
        return ck;
    }

    private static byte[] ComputeHash()
    {
        var h = new byte[32];
        Blake2s.Hash(ComputeChainingKey(), Identifier, h);
        return h;
    }
}
