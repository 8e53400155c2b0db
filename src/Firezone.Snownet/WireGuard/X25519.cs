using NSec.Cryptography;

namespace Firezone.Snownet.WireGuard;

/// <summary>Curve25519 key agreement through NSec (libsodium). Used only during handshakes.</summary>
internal static class X25519
{
    /// <summary>Key length in bytes.</summary>
    public const int KeyLength = 32;

    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    private static SharedSecretCreationParameters ExportableSecret => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    /// <summary>
    /// Generates a key pair whose 32-byte private scalar comes from <paramref name="random"/> (any 32 bytes are a
    /// valid X25519 private key: RFC 7748 clamps them when used). Tunnels draw their ephemeral keys this way so that a
    /// seeded source replays a run exactly; in production <paramref name="random"/> is the OS CSPRNG.
    /// </summary>
    public static void GenerateKeyPair(Action<Span<byte>> random, Span<byte> privateKey, Span<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(random);
        random(privateKey[..KeyLength]);
        PublicKeyOf(privateKey[..KeyLength], publicKey);
    }

    /// <summary>Generates a fresh private key (libsodium's CSPRNG) and its public key.</summary>
    public static void GenerateKeyPair(Span<byte> privateKey, Span<byte> publicKey)
    {
        using var key = Key.Create(Algorithm, Exportable);
        if (!key.TryExport(KeyBlobFormat.RawPrivateKey, privateKey, out var written) || written != KeyLength)
            throw new InvalidOperationException("Could not export an X25519 private key.");
        if (!key.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, publicKey, out written) || written != KeyLength)
            throw new InvalidOperationException("Could not export an X25519 public key.");
    }

    /// <summary>Derives the public key of <paramref name="privateKey"/>.</summary>
    public static void PublicKeyOf(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
    {
        using var key = Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey, Exportable);
        if (!key.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, publicKey, out var written) || written != KeyLength)
            throw new InvalidOperationException("Could not export an X25519 public key.");
    }

    /// <summary>DH(private, public); false if the peer key is invalid or the result is all zeros.</summary>
    public static bool TryAgree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> sharedSecret)
    {
        if (!PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var peer) || peer is null) return false;
        using var key = Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey);
        using var secret = Algorithm.Agree(key, peer, ExportableSecret);
        if (secret is null) return false;
        var raw = secret.Export(SharedSecretBlobFormat.RawSharedSecret);
        try
        {
            if (raw.Length != KeyLength) return false;
            raw.CopyTo(sharedSecret);
            return true;
        }
        finally
        {
            Array.Clear(raw);
        }
    }
}
