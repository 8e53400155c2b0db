using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>
/// The client's table of TURN channels (snownet spec §6.8): numbers 0x4000–0x4FFF handed out cyclically, each
/// record holding its peer, whether the relay confirmed it, when it was (re)bound and when data last arrived on it.
/// </summary>
internal sealed class AllocationChannels
{
    private const int ChannelCount = AllocationConstants.LastChannel - AllocationConstants.FirstChannel + 1;

    private readonly Dictionary<ushort, ChannelRecord> _byNumber = new();
    private readonly Dictionary<IPEndPoint, ushort> _byPeer = new();
    private ushort _next = AllocationConstants.FirstChannel;

    /// <summary>Number of channel records (bound or not).</summary>
    public int Count => _byNumber.Count;

    /// <summary>All channel records, by number (for tests and diagnostics).</summary>
    public IReadOnlyDictionary<ushort, ChannelRecord> Records => _byNumber;

    /// <summary>
    /// Enumerates the records by number without allocating (<c>foreach</c> over <see cref="Records"/> boxes the
    /// enumerator; the timers run this on every wake-up).
    /// </summary>
    public Dictionary<ushort, ChannelRecord>.Enumerator GetEnumerator() => _byNumber.GetEnumerator();

    /// <summary>
    /// Picks the number for a new binding to <paramref name="peer"/>. A peer that already has a record keeps its number
    /// (a bound one is simply re-bound; an unconfirmed one is re-requested with the same number, which is a deliberate
    /// fix: upstream takes a new number there, which the relay refuses with 400 if the lost request did arrive).
    /// Otherwise the cursor moves on cyclically from the last number handed out, taking the first number that is unused
    /// or past lifetime + cool-down, and records it as unconfirmed. Returns null when all 4096 numbers are busy.
    /// </summary>
    public ushort? NewChannelToPeer(IPEndPoint peer, TimeSpan now)
    {
        if (_byPeer.TryGetValue(peer, out var known))
        {
            var record = _byNumber[known];
            if (!record.Bound)
            {
                record.BoundAt = now;
                record.LastReceived = now;
            }

            return known;
        }

        for (var i = 0; i < ChannelCount; i++)
        {
            var candidate = (ushort)(AllocationConstants.FirstChannel + ((_next - AllocationConstants.FirstChannel + i) % ChannelCount));
            if (_byNumber.TryGetValue(candidate, out var existing) && !existing.CanRebind(now))
            {
                continue;
            }

            if (existing is not null)
            {
                _byPeer.Remove(existing.Peer);
            }

            _byNumber[candidate] = new ChannelRecord(peer, bound: false, boundAt: now, lastReceived: now);
            _byPeer[peer] = candidate;
            _next = (ushort)(AllocationConstants.FirstChannel + ((candidate - AllocationConstants.FirstChannel + 1) % ChannelCount));
            return candidate;
        }

        return null;
    }

    /// <summary>The channel usable for sending to <paramref name="peer"/>: bound and younger than its lifetime.</summary>
    public ushort? ConnectedChannelToPeer(IPEndPoint peer, TimeSpan now)
    {
        return _byPeer.TryGetValue(peer, out var number)
            && _byNumber[number] is { Bound: true } record
            && now - record.BoundAt < AllocationConstants.ChannelLifetime
                ? number
                : null;
    }

    /// <summary>Marks the channel confirmed by the relay at <paramref name="now"/>.</summary>
    public bool SetBound(ushort number, TimeSpan now)
    {
        if (!_byNumber.TryGetValue(number, out var record))
        {
            return false;
        }

        record.Bound = true;
        record.BoundAt = now;
        record.LastReceived = now;
        return true;
    }

    /// <summary>
    /// Looks up the peer behind a received ChannelData frame; only bound channels count. Records the reception.
    /// </summary>
    public IPEndPoint? ReceivedOn(ushort number, TimeSpan now)
    {
        if (!_byNumber.TryGetValue(number, out var record) || !record.Bound)
        {
            return null;
        }

        record.LastReceived = now;
        return record.Peer;
    }

    /// <summary>The peer a channel number is recorded for (bound or not).</summary>
    public IPEndPoint? PeerOf(ushort number) => _byNumber.TryGetValue(number, out var r) ? r.Peer : null;

    /// <summary>Channels due for a re-bind: bound, at least 5 min old, and received data since the last bind.</summary>
    public void CollectDueForRefresh(TimeSpan now, List<(ushort Number, IPEndPoint Peer)> into)
    {
        foreach (var (number, record) in _byNumber)
        {
            if (record.NeedsRefresh(now))
            {
                into.Add((number, record.Peer));
            }
        }
    }

    /// <summary>The earliest instant a channel with received data becomes due for a re-bind.</summary>
    public TimeSpan? NextRefresh()
    {
        TimeSpan? earliest = null;
        foreach (var record in _byNumber.Values)
        {
            if (record.Bound && record.LastReceived > record.BoundAt)
            {
                var due = record.BoundAt + AllocationConstants.ChannelRefreshThreshold;
                if (earliest is null || due < earliest)
                {
                    earliest = due;
                }
            }
        }

        return earliest;
    }

    /// <summary>Forgets one channel number (after the relay refused it).</summary>
    public void Remove(ushort number)
    {
        if (_byNumber.Remove(number, out var record))
        {
            _byPeer.Remove(record.Peer);
        }
    }

    /// <summary>Forgets every channel (the allocation is gone).</summary>
    public void Clear()
    {
        _byNumber.Clear();
        _byPeer.Clear();
    }
}

/// <summary>One channel record of <see cref="AllocationChannels"/>.</summary>
internal sealed class ChannelRecord(IPEndPoint peer, bool bound, TimeSpan boundAt, TimeSpan lastReceived)
{
    /// <summary>The peer the channel leads to.</summary>
    public IPEndPoint Peer { get; } = peer;

    /// <summary>True once the relay confirmed the ChannelBind.</summary>
    public bool Bound { get; set; } = bound;

    /// <summary>When the channel was requested or last confirmed.</summary>
    public TimeSpan BoundAt { get; set; } = boundAt;

    /// <summary>When data last arrived on it (equal to <see cref="BoundAt"/> right after a bind).</summary>
    public TimeSpan LastReceived { get; set; } = lastReceived;

    /// <summary>
    /// The number may go to another peer: the relay forgot it (lifetime + cool-down since the last bind passed).
    /// </summary>
    public bool CanRebind(TimeSpan now) =>
        now - BoundAt >= AllocationConstants.ChannelLifetime + AllocationConstants.ChannelRebindTimeout;

    /// <summary>Bound, at least 5 minutes old and data received since the last bind.</summary>
    public bool NeedsRefresh(TimeSpan now) =>
        Bound && LastReceived > BoundAt && now - BoundAt >= AllocationConstants.ChannelRefreshThreshold;
}
