namespace Firezone.Snownet.Turn;

/// <summary>Outcome of using a nonce.</summary>
internal enum NonceUse
{
    /// <summary>Use accounted.</summary>
    Ok,

    /// <summary>Never issued.</summary>
    Unknown,

    /// <summary>All uses consumed (the nonce is now removed).</summary>
    UsedUp,
}

/// <summary>Nonces issued in 401/438 responses: 128 random bits as a UUID string, 100 uses each, global, no time-out.</summary>
internal sealed class NonceStore
{
    /// <summary>Uses per nonce.</summary>
    public const int UsesPerNonce = 100;

    private readonly Dictionary<Guid, int> _remaining = new();

    /// <summary>Number of live nonces.</summary>
    public int Count => _remaining.Count;

    /// <summary>Registers a nonce value with 100 uses.</summary>
    public void Add(Guid nonce) => _remaining[nonce] = UsesPerNonce;

    /// <summary>Issues a nonce from 16 random bytes and returns its lowercase hyphenated text.</summary>
    public string Issue(ReadOnlySpan<byte> random16)
    {
        string hex = Convert.ToHexStringLower(random16[..16]);
        string text = $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
        Add(Guid.ParseExact(text, "D"));
        return text;
    }

    /// <summary>Parses any textual UUID form (hyphenated, 32 digits, braced, parenthesised, urn:uuid:).</summary>
    public static bool TryParse(string text, out Guid nonce)
    {
        var span = text.AsSpan();
        if (span.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase))
        {
            span = span[9..];
        }

        return Guid.TryParse(span, out nonce);
    }

    /// <summary>Consumes one use.</summary>
    public NonceUse Use(Guid nonce)
    {
        if (!_remaining.TryGetValue(nonce, out int left))
        {
            return NonceUse.Unknown;
        }

        if (left == 0)
        {
            _remaining.Remove(nonce);
            return NonceUse.UsedUp;
        }

        _remaining[nonce] = left - 1;
        return NonceUse.Ok;
    }
}
