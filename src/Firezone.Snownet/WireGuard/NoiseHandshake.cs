using System.Security.Cryptography;

namespace Firezone.Snownet.WireGuard;

/// <summary>Why a handshake message was refused.</summary>
internal enum HandshakeError
{
    /// <summary>No error.</summary>
    None,
    /// <summary>A response or cookie reply for an index we have no initiation for.</summary>
    WrongIndex,
    /// <summary>A Diffie-Hellman result was invalid (low-order point).</summary>
    InvalidKey,
    /// <summary>An AEAD field did not authenticate.</summary>
    DecryptionFailed,
    /// <summary>The initiation's static key is not the configured peer.</summary>
    WrongPeer,
    /// <summary>The TAI64N timestamp is not newer than the last one accepted (replayed initiation).</summary>
    ReplayedTimestamp,
}

/// <summary>
/// WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake for one peer (whitepaper §5.4.2–5.4.5): creates and
/// consumes initiations and responses, tracks the pending initiation, the last accepted timestamp and cookies.
/// mac1/mac2 of the messages we send are written here too; mac1 of messages we receive is checked by the
/// <see cref="RateLimiter"/> before they get here.
/// </summary>
internal sealed class NoiseHandshake
{
    private readonly StaticKeys _keys;
    private readonly Action<Span<byte>> _random;

    // Pending initiation (we are the initiator and wait for a response).
    private bool _initiationPending;
    private uint _pendingIndex;
    private readonly byte[] _pendingHash = new byte[32];
    private readonly byte[] _pendingChainingKey = new byte[32];
    private readonly byte[] _pendingEphemeralPrivate = new byte[32];

    private readonly byte[] _lastTimestamp = new byte[Tai64N.Length];
    private bool _haveTimestamp;

    // Cookie state (whitepaper §5.4.7): mac1 of our last handshake message, and the cookie the peer gave us.
    private readonly byte[] _lastSentMac1 = new byte[16];
    private uint _lastSentIndex;
    private bool _haveSentMac1;
    private readonly byte[] _cookie = new byte[16];
    private TimeSpan _cookieReceivedAt;
    private bool _haveCookie;

    /// <summary>Creates the handshake state for a tunnel; ephemeral private keys are drawn from <paramref name="random"/>.</summary>
    public NoiseHandshake(StaticKeys keys, Action<Span<byte>> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        _keys = keys;
        _random = random;
    }

    /// <summary>True while an initiation we sent awaits its response.</summary>
    public bool InitiationPending => _initiationPending;

    /// <summary>Our index of the pending initiation.</summary>
    public uint PendingIndex => _pendingIndex;

    /// <summary>The TAI64N timestamp of the last initiation accepted from the peer (zeros before the first).</summary>
    public ReadOnlySpan<byte> LastTimestamp => _lastTimestamp;

    /// <summary>Forgets the pending initiation (e.g. after REKEY_ATTEMPT_TIME).</summary>
    public void ClearPending()
    {
        _initiationPending = false;
        CryptographicOperations.ZeroMemory(_pendingEphemeralPrivate);
    }

    /// <summary>
    /// Writes a 148-byte initiation with sender index <paramref name="localIndex"/> and TAI64N
    /// <paramref name="timestamp"/> into <paramref name="message"/>; <paramref name="now"/> decides whether a
    /// cookie still goes into mac2.
    /// </summary>
    public void CreateInitiation(uint localIndex, DateTimeOffset timestamp, TimeSpan now, Span<byte> message)
    {
        Span<byte> ck = _pendingChainingKey, h = _pendingHash;
        Span<byte> key = stackalloc byte[32];
        Span<byte> dh = stackalloc byte[32];
        Span<byte> ephemeralPublic = stackalloc byte[32];

        _keys.InitiatorHash.CopyTo(h);
        NoiseConstants.InitialChainingKey.CopyTo(ck);

        X25519.GenerateKeyPair(_random, _pendingEphemeralPrivate, ephemeralPublic);
        MessageFormat.WriteType(message, MessageFormat.TypeInitiation);
        MessageFormat.WriteIndex(message, MessageFormat.InitSender, localIndex);
        ephemeralPublic.CopyTo(message[MessageFormat.InitEphemeral..]);

        Hkdf.Kdf1(ck, ephemeralPublic, ck);
        Blake2s.Hash(h, ephemeralPublic, h);

        // Ephemeral-static: peer's static key is always valid (checked in StaticKeys), so DH cannot be all zero
        // unless our fresh ephemeral is degenerate, which libsodium never produces.
        if (!X25519.TryAgree(_pendingEphemeralPrivate, _keys.PeerPublicKey, dh)) throw new CryptographicException("X25519 failed.");
        Hkdf.Kdf2(ck, dh, ck, key);
        var encStatic = message.Slice(MessageFormat.InitStatic, 32 + 16);
        HandshakeAead.Seal(key, _keys.PublicKey, h, encStatic);
        Blake2s.Hash(h, encStatic, h);

        Hkdf.Kdf2(ck, _keys.StaticStatic, ck, key);
        Span<byte> tai64n = stackalloc byte[Tai64N.Length];
        Tai64N.Write(timestamp, tai64n);
        var encTimestamp = message.Slice(MessageFormat.InitTimestamp, Tai64N.Length + 16);
        HandshakeAead.Seal(key, tai64n, h, encTimestamp);
        Blake2s.Hash(h, encTimestamp, h);

        _initiationPending = true;
        _pendingIndex = localIndex;
        WriteMacs(message, MessageFormat.InitMac1, localIndex, now);
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(dh);
    }

    /// <summary>Consumes a response to our pending initiation; on success the pending state is cleared.</summary>
    public HandshakeError ConsumeResponse(ReadOnlySpan<byte> message, out SessionKeys? keys)
    {
        keys = null;
        var receiver = MessageFormat.ReadIndex(message, MessageFormat.RespReceiver);
        if (!_initiationPending || receiver != _pendingIndex) return HandshakeError.WrongIndex;

        Span<byte> ck = stackalloc byte[32], h = stackalloc byte[32], dh = stackalloc byte[32];
        Span<byte> tau = stackalloc byte[32], key = stackalloc byte[32];
        _pendingChainingKey.CopyTo(ck);
        _pendingHash.CopyTo(h);
        var ephemeral = message.Slice(MessageFormat.RespEphemeral, 32);
        try
        {
            Hkdf.Kdf1(ck, ephemeral, ck);
            Blake2s.Hash(h, ephemeral, h);
            if (!X25519.TryAgree(_pendingEphemeralPrivate, ephemeral, dh)) return HandshakeError.InvalidKey;
            Hkdf.Kdf1(ck, dh, ck);
            if (!X25519.TryAgree(_keys.PrivateKey, ephemeral, dh)) return HandshakeError.InvalidKey;
            Hkdf.Kdf1(ck, dh, ck);
            Hkdf.Kdf3(ck, _keys.PresharedKey, ck, tau, key);
            Blake2s.Hash(h, tau, h);
            Span<byte> empty = stackalloc byte[0];
            if (!HandshakeAead.Open(key, message.Slice(MessageFormat.RespEmpty, 16), h, empty)) return HandshakeError.DecryptionFailed;

            var result = new SessionKeys
            {
                LocalIndex = _pendingIndex,
                RemoteIndex = MessageFormat.ReadIndex(message, MessageFormat.RespSender),
                IsInitiator = true,
            };
            Hkdf.Kdf2(ck, ReadOnlySpan<byte>.Empty, result.SendKey, result.ReceiveKey);
            keys = result;
            ClearPending();
            return HandshakeError.None;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ck);
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(tau);
        }
    }

    /// <summary>
    /// Consumes an initiation from our peer and writes the 92-byte response with sender index
    /// <paramref name="localIndex"/>; our keypair comes back in <paramref name="keys"/>.
    /// </summary>
    public HandshakeError ConsumeInitiationAndRespond(ReadOnlySpan<byte> initiation, uint localIndex, TimeSpan now, Span<byte> response, out SessionKeys? keys)
    {
        keys = null;
        Span<byte> ck = stackalloc byte[32], h = stackalloc byte[32], dh = stackalloc byte[32], key = stackalloc byte[32];
        Span<byte> tau = stackalloc byte[32], peerStatic = stackalloc byte[32], timestamp = stackalloc byte[Tai64N.Length];
        Span<byte> ephemeralPrivate = stackalloc byte[32], ephemeralPublic = stackalloc byte[32];
        try
        {
            NoiseConstants.InitialChainingKey.CopyTo(ck);
            _keys.ResponderHash.CopyTo(h);
            var peerEphemeral = initiation.Slice(MessageFormat.InitEphemeral, 32);
            Hkdf.Kdf1(ck, peerEphemeral, ck);
            Blake2s.Hash(h, peerEphemeral, h);
            if (!X25519.TryAgree(_keys.PrivateKey, peerEphemeral, dh)) return HandshakeError.InvalidKey;
            Hkdf.Kdf2(ck, dh, ck, key);
            var encStatic = initiation.Slice(MessageFormat.InitStatic, 48);
            if (!HandshakeAead.Open(key, encStatic, h, peerStatic)) return HandshakeError.DecryptionFailed;
            if (!CryptographicOperations.FixedTimeEquals(peerStatic, _keys.PeerPublicKey)) return HandshakeError.WrongPeer;
            Blake2s.Hash(h, encStatic, h);
            Hkdf.Kdf2(ck, _keys.StaticStatic, ck, key);
            var encTimestamp = initiation.Slice(MessageFormat.InitTimestamp, Tai64N.Length + 16);
            if (!HandshakeAead.Open(key, encTimestamp, h, timestamp)) return HandshakeError.DecryptionFailed;
            if (_haveTimestamp && !Tai64N.IsAfter(timestamp, _lastTimestamp)) return HandshakeError.ReplayedTimestamp;
            Blake2s.Hash(h, encTimestamp, h);

            timestamp.CopyTo(_lastTimestamp);
            _haveTimestamp = true;

            // Response.
            X25519.GenerateKeyPair(_random, ephemeralPrivate, ephemeralPublic);
            MessageFormat.WriteType(response, MessageFormat.TypeResponse);
            MessageFormat.WriteIndex(response, MessageFormat.RespSender, localIndex);
            var peerIndex = MessageFormat.ReadIndex(initiation, MessageFormat.InitSender);
            MessageFormat.WriteIndex(response, MessageFormat.RespReceiver, peerIndex);
            ephemeralPublic.CopyTo(response[MessageFormat.RespEphemeral..]);
            Hkdf.Kdf1(ck, ephemeralPublic, ck);
            Blake2s.Hash(h, ephemeralPublic, h);
            if (!X25519.TryAgree(ephemeralPrivate, peerEphemeral, dh)) return HandshakeError.InvalidKey;
            Hkdf.Kdf1(ck, dh, ck);
            if (!X25519.TryAgree(ephemeralPrivate, _keys.PeerPublicKey, dh)) return HandshakeError.InvalidKey;
            Hkdf.Kdf1(ck, dh, ck);
            Hkdf.Kdf3(ck, _keys.PresharedKey, ck, tau, key);
            Blake2s.Hash(h, tau, h);
            var encEmpty = response.Slice(MessageFormat.RespEmpty, 16);
            HandshakeAead.Seal(key, ReadOnlySpan<byte>.Empty, h, encEmpty);

            var result = new SessionKeys { LocalIndex = localIndex, RemoteIndex = peerIndex, IsInitiator = false };
            Hkdf.Kdf2(ck, ReadOnlySpan<byte>.Empty, result.ReceiveKey, result.SendKey);
            keys = result;
            WriteMacs(response, MessageFormat.RespMac1, localIndex, now);
            return HandshakeError.None;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ck);
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(tau);
            CryptographicOperations.ZeroMemory(ephemeralPrivate);
        }
    }

    /// <summary>Consumes a cookie reply to our last handshake message; the cookie goes into mac2 for 120 s.</summary>
    public HandshakeError ConsumeCookieReply(ReadOnlySpan<byte> message, TimeSpan now)
    {
        var receiver = MessageFormat.ReadIndex(message, MessageFormat.CookieReceiver);
        if (!_haveSentMac1 || receiver != _lastSentIndex) return HandshakeError.WrongIndex;
        Span<byte> cookie = stackalloc byte[16];
        if (!HandshakeAead.XOpen(_keys.PeerCookieKey, message.Slice(MessageFormat.CookieNonce, 24),
                message.Slice(MessageFormat.CookieEncrypted, 32), _lastSentMac1, cookie))
            return HandshakeError.DecryptionFailed;
        cookie.CopyTo(_cookie);
        _cookieReceivedAt = now;
        _haveCookie = true;
        return HandshakeError.None;
    }

    /// <summary>True if a cookie from the peer is held and younger than COOKIE_EXPIRATION.</summary>
    public bool HasValidCookie(TimeSpan now) => _haveCookie && now - _cookieReceivedAt < WireGuardTimers.CookieExpiration;

    private void WriteMacs(Span<byte> message, int mac1Offset, uint senderIndex, TimeSpan now)
    {
        var mac1 = message.Slice(mac1Offset, 16);
        Blake2s.Mac(_keys.PeerMac1Key, message[..mac1Offset], mac1);
        mac1.CopyTo(_lastSentMac1);
        _lastSentIndex = senderIndex;
        _haveSentMac1 = true;
        var mac2 = message.Slice(mac1Offset + 16, 16);
        if (HasValidCookie(now)) Blake2s.Mac(_cookie, message[..(mac1Offset + 16)], mac2);
        else mac2.Clear();
    }
}
