using System.Security.Cryptography;
using Firezone.Snownet.SansIo;

namespace Firezone.Snownet.WireGuard;

/// <summary>Verdict of the <see cref="RateLimiter"/> on a handshake message.</summary>
internal enum RateLimitVerdict
{
    /// <summary>mac1 valid and either not under load or mac2 valid: process it.</summary>
    Accept,
    /// <summary>mac1 invalid: drop.</summary>
    InvalidMac,
    /// <summary>Under load without a valid mac2: a cookie reply was written, send it back.</summary>
    CookieReply,
    /// <summary>Under load and no source address to bind a cookie to: drop.</summary>
    UnderLoad,
}

/// <summary>
/// Handshake rate limiter and cookie checker shared by every tunnel with the same static key (whitepaper §5.4.7,
/// spec §4.8): verifies mac1 of incoming initiations and responses; above <c>limit</c> handshakes per reset window
/// only messages whose mac2 carries a valid cookie are accepted, the rest get a 64-byte cookie reply
/// (XChaCha20-Poly1305). The owner calls <see cref="ResetCount"/> every second. The counter is atomic; the
/// cookie secret rotation is not, so verification belongs on the node's single event-loop thread. Time is the
/// tunnels' monotonic <c>now</c>; the cookie secret and cookie-reply nonces come from the injected random source.
/// </summary>
internal sealed class RateLimiter
{
    /// <summary>Firezone's HANDSHAKE_RATE_LIMIT.</summary>
    public const int DefaultLimit = 100;

    private readonly byte[] _mac1Key = new byte[32];
    private readonly byte[] _cookieKey = new byte[32];
    private readonly byte[] _secret = new byte[32];
    private readonly int _limit;
    private readonly Action<Span<byte>> _random;
    private TimeSpan _secretCreated;
    private bool _haveSecret;
    private int _count;

    /// <summary>
    /// Creates a limiter for our static public key. <paramref name="random"/> draws the cookie secret and the
    /// cookie-reply nonces (<see cref="RandomSource.Secure"/> when null; simulations pass a seeded source).
    /// </summary>
    public RateLimiter(ReadOnlySpan<byte> ourPublicKey, int limit = DefaultLimit, Action<Span<byte>>? random = null)
    {
        if (ourPublicKey.Length != 32) throw new ArgumentException("A public key is 32 bytes.", nameof(ourPublicKey));
        _random = random ?? RandomSource.Secure;
        Blake2s.Hash(NoiseConstants.LabelMac1, ourPublicKey, _mac1Key);
        Blake2s.Hash(NoiseConstants.LabelCookie, ourPublicKey, _cookieKey);
        _limit = limit;
    }

    /// <summary>Handshake messages counted since the last reset.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Starts a new rate window.</summary>
    public void ResetCount() => Interlocked.Exchange(ref _count, 0);

    /// <summary>
    /// Checks an initiation or response (length already validated). <paramref name="sourceAddress"/> is the sender's
    /// address bytes the cookie is bound to (may be empty). On <see cref="RateLimitVerdict.CookieReply"/> a
    /// 64-byte reply is in <paramref name="destination"/>.
    /// </summary>
    public RateLimitVerdict Verify(ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> message, Span<byte> destination, TimeSpan now)
    {
        var mac1Offset = message.Length - 32;
        Span<byte> mac = stackalloc byte[16];
        Blake2s.Mac(_mac1Key, message[..mac1Offset], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, message.Slice(mac1Offset, 16))) return RateLimitVerdict.InvalidMac;

        if (Interlocked.Increment(ref _count) <= _limit) return RateLimitVerdict.Accept;
        if (sourceAddress.IsEmpty) return RateLimitVerdict.UnderLoad;

        Span<byte> cookie = stackalloc byte[16];
        ComputeCookie(sourceAddress, now, cookie);
        Blake2s.Mac(cookie, message[..(mac1Offset + 16)], mac);
        if (CryptographicOperations.FixedTimeEquals(mac, message.Slice(mac1Offset + 16, 16))) return RateLimitVerdict.Accept;

        if (destination.Length < MessageFormat.CookieReplyLength) return RateLimitVerdict.UnderLoad;
        MessageFormat.WriteType(destination, MessageFormat.TypeCookieReply);
        var senderIndex = MessageFormat.ReadIndex(message, 4);
        MessageFormat.WriteIndex(destination, MessageFormat.CookieReceiver, senderIndex);
        var nonce = destination.Slice(MessageFormat.CookieNonce, 24);
        _random(nonce);
        HandshakeAead.XSeal(_cookieKey, nonce, cookie, message.Slice(mac1Offset, 16), destination.Slice(MessageFormat.CookieEncrypted, 32));
        return RateLimitVerdict.CookieReply;
    }

    private void ComputeCookie(ReadOnlySpan<byte> sourceAddress, TimeSpan now, Span<byte> cookie)
    {
        if (!_haveSecret || now - _secretCreated >= WireGuardTimers.CookieExpiration || now < _secretCreated)
        {
            _random(_secret);
            _secretCreated = now;
            _haveSecret = true;
        }
        Blake2s.Mac(_secret, sourceAddress, cookie);
    }
}
