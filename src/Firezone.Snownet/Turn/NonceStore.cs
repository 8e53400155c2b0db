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

/// <summary>
/// Nonces issued in 401/438 responses: 128 random bits as a UUID string, 100 uses each, global, no time-out. At most
/// <see cref="Capacity"/> live at once: issuing one more forgets the oldest (a client still holding it gets 438 and retries
/// with a fresh nonce, which Firezone's clients do). Upstream never forgets a nonce that is not used up, so every
/// unauthenticated request grows its table for good (relay.md §6); the cap is a deliberate fix.
/// </summary>
internal sealed class NonceStore
{
    /// <summary>Uses per nonce.</summary>
    public const int UsesPerNonce = 100;

    /// <summary>Default cap on live nonces: 100,000 (a few MB), far above what live clients hold.</summary>
    public const int DefaultCapacity = 100_000;

    private readonly Dictionary<Guid, int> _remaining = new();
    private readonly Queue<Guid> _issueOrder = new();

    /// <summary>Creates a store that keeps at most <paramref name="capacity"/> nonces.</summary>
    public NonceStore(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>The most nonces kept at once.</summary>
    public int Capacity { get; }

    /// <summary>Number of live nonces.</summary>
    public int Count => _remaining.Count;

    /// <summary>How many nonces were forgotten to stay within <see cref="Capacity"/>.</summary>
    public long Evicted { get; private set; }

    /// <summary>Registers a nonce value with 100 uses, forgetting the oldest one if the store is full.</summary>
    public void Add(Guid nonce)
    {
        if (_remaining.ContainsKey(nonce))
        {
            _remaining[nonce] = UsesPerNonce;
            return;
        }

        // The queue holds every live nonce plus used-up ones not yet dequeued; it never exceeds Capacity entries.
        if (_issueOrder.Count >= Capacity)
        {
            if (_remaining.Remove(_issueOrder.Dequeue()))
            {
                Evicted++;
            }
        }

        _remaining[nonce] = UsesPerNonce;
        _issueOrder.Enqueue(nonce);
    }

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
