using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>Configuration of a <see cref="TurnServer"/> (the Firezone relay's sans-IO core).</summary>
public sealed record TurnServerOptions
{
    /// <summary>Public IPv4 address placed in XOR-RELAYED-ADDRESS; null if the relay does not serve IPv4.</summary>
    public IPAddress? PublicIPv4 { get; init; }

    /// <summary>Public IPv6 address placed in XOR-RELAYED-ADDRESS; null if the relay does not serve IPv6.</summary>
    public IPAddress? PublicIPv6 { get; init; }

    /// <summary>The STUN/TURN listening port (default 3478).</summary>
    public int ListenPort { get; init; } = 3478;

    /// <summary>Lowest allocation port, inclusive (default 49152).</summary>
    public int LowestPort { get; init; } = 49152;

    /// <summary>Highest allocation port, inclusive (default 65535). The port range bounds the number of allocations.</summary>
    public int HighestPort { get; init; } = 65535;

    /// <summary>
    /// A fixed auth ("stamp") secret. Null: 32 random bytes hex-encoded (64 lowercase characters), as upstream.
    /// </summary>
    public string? AuthSecret { get; init; }

    /// <summary>
    /// Fills a buffer with random bytes; used for the secret, nonces and port draws. Null: the cryptographic RNG.
    /// Tests and <c>--rng-seed</c> pass a deterministic source.
    /// </summary>
    public Action<Span<byte>>? Random { get; init; }

    /// <summary>
    /// Most RFC 8656 permissions (distinct peer IPs) one allocation may hold (default 64, at least 1). A CreatePermission
    /// that would install more answers 508 Insufficient Capacity and installs none of its peers; refreshing an existing
    /// permission does not count as new. Upstream has no permissions at all; the cap keeps one authenticated client from
    /// growing the relay without limit.
    /// </summary>
    public int MaxPermissionsPerAllocation { get; init; } = 64;

    /// <summary>Most permissions over all allocations (default 100,000, at least 1); past it CreatePermission answers 508 as above.</summary>
    public int MaxPermissions { get; init; } = 100_000;

    /// <summary>
    /// Most channels over all allocations, bound or cooling down (default 262,144, at least 1). A ChannelBind that would
    /// create a channel past it answers 508; refreshing or reviving an existing channel is always allowed. (Per
    /// allocation the channel-number range already bounds them to 16,384.)
    /// </summary>
    public int MaxChannels { get; init; } = 262_144;

    /// <summary>
    /// Most ports one Allocate tries when the host reports them taken by another process (default 16, at least 1);
    /// after that the Allocate answers 508.
    /// </summary>
    public int MaxPortAttempts { get; init; } = 16;

    /// <summary>
    /// How long a nonce stays valid after it was issued (default 1 hour). Upstream's nonces never time out; here an
    /// expired one is answered with 438 and a fresh nonce, and the client retries (Firezone's clients do).
    /// </summary>
    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Most live nonces (default 100,000, at least 1); issuing one more evicts the earliest-expiring.</summary>
    public int MaxNonces { get; init; } = 100_000;
}
