using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>Configuration of a <see cref="TurnServer"/> (the Firezone relay's sans-IO core).</summary>
public sealed class TurnServerOptions
{
    /// <summary>Public IPv4 address placed in XOR-RELAYED-ADDRESS; null if the relay does not serve IPv4.</summary>
    public IPAddress? PublicIPv4 { get; init; }

    /// <summary>Public IPv6 address placed in XOR-RELAYED-ADDRESS; null if the relay does not serve IPv6.</summary>
    public IPAddress? PublicIPv6 { get; init; }

    /// <summary>The STUN/TURN listening port (default 3478).</summary>
    public int ListenPort { get; init; } = 3478;

    /// <summary>Lowest allocation port, inclusive (default 49152).</summary>
    public int LowestPort { get; init; } = 49152;

    /// <summary>Highest allocation port, inclusive (default 65535).</summary>
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
}
