namespace Firezone.Snownet.Turn;

/// <summary>Outcome of using a nonce.</summary>
internal enum NonceUse
{
    /// <summary>Use accounted.</summary>
    Ok,

    /// <summary>Never issued, evicted, or expired.</summary>
    Unknown,

    /// <summary>All uses consumed (the nonce is now removed).</summary>
    UsedUp,
}

/// <summary>
/// Nonces issued in 401/438 responses: 128 random bits as a UUID string, 100 uses each, global (not bound to a client).
/// Two deliberate changes from upstream, which keeps every nonce that is not used up forever (relay.md §6), so that
/// every unauthenticated request grows its table for good:
/// <list type="bullet">
/// <item>a nonce expires <see cref="Lifetime"/> (default 1 hour) after it was issued; its deadline waits in the shared
/// <see cref="DeadlineQueue"/> and <see cref="Expire"/> removes it when it fires;</item>
/// <item>at most <see cref="Capacity"/> (default 100,000, a few MB) live at once: issuing one more evicts the
/// earliest-expiring one.</item>
/// </list>
/// A client holding an expired, evicted or used-up nonce gets 438 and retries with the fresh nonce in it, which Firezone's
/// clients do. Times are ticks of the server's monotonic clock (<c>TimeSpan.Ticks</c> of its <c>now</c>), so a wall-clock
/// jump never changes a nonce's lifetime. Deadlines never decrease in issue order (should a caller's time ever step
/// back, a nonce issued then expires no earlier than the one before it), so the oldest nonce is always the
/// earliest-expiring and eviction is O(log n).
/// </summary>
internal sealed class NonceStore
{
    /// <summary>Uses per nonce.</summary>
    public const int UsesPerNonce = 100;

    /// <summary>Default cap on live nonces: 100,000 (a few MB), far above what live clients hold.</summary>
    public const int DefaultCapacity = 100_000;

    /// <summary>Default nonce lifetime: 1 hour from issue.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(1);

    private readonly Dictionary<Guid, Entry> _entries = new();
    private readonly DeadlineQueue _deadlines;
    private readonly int _rank;
    private readonly long _lifetimeTicks;
    private Entry? _oldest;
    private Entry? _newest;
    private long _lastDue = long.MinValue;

    /// <summary>Creates a store whose deadlines wait in <paramref name="deadlines"/> with tie-break <paramref name="rank"/>.</summary>
    public NonceStore(DeadlineQueue deadlines, int capacity = DefaultCapacity, TimeSpan? lifetime = null, int rank = 0)
    {
        ArgumentNullException.ThrowIfNull(deadlines);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var life = lifetime ?? DefaultLifetime;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(life, TimeSpan.Zero, nameof(lifetime));
        _deadlines = deadlines;
        _rank = rank;
        Capacity = capacity;
        Lifetime = life;
        _lifetimeTicks = life.Ticks;
    }

    /// <summary>A live nonce: remaining uses, its place in issue order and (in the deadline queue) its expiry.</summary>
    internal sealed class Entry(Guid value) : DeadlineEntry
    {
        public Guid Value { get; } = value;

        public int Remaining { get; set; }

        /// <summary>Expiry in ticks; <see cref="long.MaxValue"/> for test-hook nonces without one.</summary>
        public long Due { get; set; }

        public Entry? Older { get; set; }

        public Entry? Newer { get; set; }
    }

    /// <summary>The most nonces kept at once.</summary>
    public int Capacity { get; }

    /// <summary>How long a nonce lives after it was issued.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>Number of live nonces.</summary>
    public int Count => _entries.Count;

    /// <summary>How many nonces were forgotten to stay within <see cref="Capacity"/>.</summary>
    public long Evicted { get; private set; }

    /// <summary>How many nonces reached the end of their lifetime.</summary>
    public long Expired { get; private set; }

    /// <summary>
    /// Registers a nonce with 100 uses, evicting the earliest-expiring one if the store is full. With
    /// <paramref name="nowTicks"/> it expires <see cref="Lifetime"/> later; without, never (the upstream "add nonce"
    /// test hook). Registering a live nonce again renews it.
    /// </summary>
    public void Add(Guid nonce, long? nowTicks)
    {
        if (_entries.TryGetValue(nonce, out var entry))
        {
            Unlink(entry);
        }
        else
        {
            if (_entries.Count >= Capacity && _oldest is { } oldest)
            {
                Remove(oldest);
                Evicted++;
            }

            entry = new Entry(nonce);
            _entries.Add(nonce, entry);
        }

        entry.Remaining = UsesPerNonce;
        LinkNewest(entry);
        if (nowTicks is { } now)
        {
            long due = Math.Max(SaturatingAdd(now, _lifetimeTicks), _lastDue);
            _lastDue = due;
            entry.Due = due;
            _deadlines.Schedule(entry, due, _rank);
        }
        else
        {
            entry.Due = long.MaxValue;
            _deadlines.Remove(entry);
        }
    }

    /// <summary>Issues a nonce from 16 random bytes at <paramref name="nowTicks"/> and returns its lowercase hyphenated text.</summary>
    public string Issue(ReadOnlySpan<byte> random16, long nowTicks)
    {
        string hex = Convert.ToHexStringLower(random16[..16]);
        string text = $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
        Add(Guid.ParseExact(text, "D"), nowTicks);
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

    /// <summary>Consumes one use at <paramref name="nowTicks"/>; a nonce past its expiry counts as unknown (and is removed).</summary>
    public NonceUse Use(Guid nonce, long nowTicks)
    {
        if (!_entries.TryGetValue(nonce, out var entry))
        {
            return NonceUse.Unknown;
        }

        if (entry.Due <= nowTicks)
        {
            Remove(entry);
            Expired++;
            return NonceUse.Unknown;
        }

        if (entry.Remaining == 0)
        {
            Remove(entry);
            return NonceUse.UsedUp;
        }

        entry.Remaining--;
        return NonceUse.Ok;
    }

    /// <summary>The deadline of <paramref name="entry"/> fired (the queue has already dequeued it): forget the nonce.</summary>
    public void Expire(Entry entry)
    {
        if (_entries.TryGetValue(entry.Value, out var live) && ReferenceEquals(live, entry))
        {
            Remove(entry);
            Expired++;
        }
    }

    private void Remove(Entry entry)
    {
        _entries.Remove(entry.Value);
        _deadlines.Remove(entry);
        Unlink(entry);
    }

    private void LinkNewest(Entry entry)
    {
        entry.Older = _newest;
        entry.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = entry;
        }

        _newest = entry;
        _oldest ??= entry;
    }

    private void Unlink(Entry entry)
    {
        if (entry.Older is { } older)
        {
            older.Newer = entry.Newer;
        }
        else if (ReferenceEquals(_oldest, entry))
        {
            _oldest = entry.Newer;
        }

        if (entry.Newer is { } newer)
        {
            newer.Older = entry.Older;
        }
        else if (ReferenceEquals(_newest, entry))
        {
            _newest = entry.Older;
        }

        entry.Older = null;
        entry.Newer = null;
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
