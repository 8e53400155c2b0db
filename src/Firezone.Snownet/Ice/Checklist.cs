using System.Net;

namespace Firezone.Snownet.Ice;

/// <summary>
/// The checklist of one agent (RFC 8445 §6.1.2): pairs ordered by descending priority, at most
/// <see cref="MaxPairs"/> (the lowest-priority pair is dropped), redundant pairs (same local base and remote address)
/// keep the higher priority, initial Frozen/Waiting states by foundation, and a FIFO of triggered checks.
/// </summary>
internal sealed class Checklist
{
    /// <summary>Pair limit (snownet spec §4.6).</summary>
    public const int MaxPairs = 100;

    private readonly List<CandidatePair> _pairs = new();
    private readonly Queue<CandidatePair> _triggered = new();

    /// <summary>Pairs by descending priority.</summary>
    public IReadOnlyList<CandidatePair> Pairs => _pairs;

    /// <summary>Number of pairs.</summary>
    public int Count => _pairs.Count;

    /// <summary>The pair at <paramref name="index"/> (by descending priority); for loops that must not allocate an enumerator.</summary>
    public CandidatePair this[int index] => _pairs[index];

    /// <summary>True when <paramref name="pair"/> is (still) in the checklist.</summary>
    public bool Contains(CandidatePair pair) => _pairs.Contains(pair);

    /// <summary>True when triggered checks are queued.</summary>
    public bool HasTriggered => _triggered.Count > 0;

    /// <summary>
    /// Adds a pair unless a redundant one with higher or equal priority exists; returns the pair now representing
    /// (local base, remote address), or null when it was dropped.
    /// </summary>
    public CandidatePair? Add(CandidatePair pair)
    {
        CandidatePair? existing = Find(pair.Local.Base, pair.Remote.Address);
        if (existing is not null)
        {
            if (existing.Priority >= pair.Priority)
            {
                return existing;
            }

            _pairs.Remove(existing);
        }

        pair.State = AnyActiveWithFoundation(pair.Foundation) ? CandidatePairState.Frozen : CandidatePairState.Waiting;
        Insert(pair);
        if (_pairs.Count > MaxPairs)
        {
            CandidatePair dropped = _pairs[^1];
            _pairs.RemoveAt(_pairs.Count - 1);
            if (ReferenceEquals(dropped, pair))
            {
                return null;
            }
        }

        return pair;
    }

    /// <summary>The pair sending from <paramref name="localBase"/> to <paramref name="remote"/>.</summary>
    public CandidatePair? Find(IPEndPoint localBase, IPEndPoint remote)
    {
        foreach (CandidatePair p in _pairs)
        {
            if (p.Remote.Address.Equals(remote) && p.Local.Base.Equals(localBase))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>Removes every pair matching <paramref name="predicate"/>; returns them.</summary>
    public List<CandidatePair> RemoveWhere(Predicate<CandidatePair> predicate)
    {
        var removed = new List<CandidatePair>();
        for (int i = _pairs.Count - 1; i >= 0; i--)
        {
            if (predicate(_pairs[i]))
            {
                removed.Add(_pairs[i]);
                _pairs.RemoveAt(i);
            }
        }

        return removed;
    }

    /// <summary>Drops every pair and triggered check.</summary>
    public void Clear()
    {
        _pairs.Clear();
        _triggered.Clear();
    }

    /// <summary>Re-sorts after priorities changed (role switch, remote candidate replaced).</summary>
    public void Resort() => _pairs.Sort(static (a, b) => b.Priority.CompareTo(a.Priority));

    /// <summary>Queues a triggered check (RFC 8445 §7.3.1.4) unless the pair is already queued.</summary>
    public void Trigger(CandidatePair pair)
    {
        if (!_triggered.Contains(pair))
        {
            _triggered.Enqueue(pair);
        }
    }

    /// <summary>Next queued triggered check whose pair still exists.</summary>
    public CandidatePair? DequeueTriggered()
    {
        while (_triggered.TryDequeue(out CandidatePair? p))
        {
            if (_pairs.Contains(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>The highest-priority succeeded pair.</summary>
    public CandidatePair? BestSucceeded()
    {
        foreach (CandidatePair p in _pairs)
        {
            if (p.State == CandidatePairState.Succeeded)
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>
    /// The next ordinary check (RFC 8445 §6.1.4.2): the highest-priority Waiting pair, else the highest-priority
    /// Frozen pair (which is unfrozen).
    /// </summary>
    public CandidatePair? NextOrdinary()
    {
        foreach (CandidatePair p in _pairs)
        {
            if (p.State == CandidatePairState.Waiting && p.Attempts == 0)
            {
                return p;
            }
        }

        foreach (CandidatePair p in _pairs)
        {
            if (p.State == CandidatePairState.Frozen)
            {
                p.State = CandidatePairState.Waiting;
                return p;
            }
        }

        return null;
    }

    /// <summary>Unfreezes pairs sharing the foundation of a pair that just succeeded (RFC 8445 §7.2.5.3.3).</summary>
    public void UnfreezeFoundation(string foundation)
    {
        foreach (CandidatePair p in _pairs)
        {
            if (p.State == CandidatePairState.Frozen && p.Foundation == foundation)
            {
                p.State = CandidatePairState.Waiting;
            }
        }
    }

    /// <summary>True while some pair may still succeed or has succeeded.</summary>
    public bool AnyAlive()
    {
        foreach (CandidatePair p in _pairs)
        {
            if (p.State != CandidatePairState.Failed)
            {
                return true;
            }
        }

        return _triggered.Count > 0;
    }

    private bool AnyActiveWithFoundation(string foundation)
    {
        foreach (CandidatePair p in _pairs)
        {
            if (p.State is CandidatePairState.Waiting or CandidatePairState.InProgress or CandidatePairState.Succeeded
                && p.Foundation == foundation)
            {
                return true;
            }
        }

        return false;
    }

    private void Insert(CandidatePair pair)
    {
        int i = 0;
        while (i < _pairs.Count && _pairs[i].Priority >= pair.Priority)
        {
            i++;
        }

        _pairs.Insert(i, pair);
    }
}
