using System.Net;

namespace Firezone.Connlib.Routing;

/// <summary>
/// Peers by id with an IP prefix index (tunnel spec §8): a longest-prefix table from networks to peer ids on
/// <see cref="IpPrefixTable{T}"/> and the peers by id. Inserting a peer first removes every prefix that pointed to its
/// id; adding a prefix needs an existing peer and takes the prefix from any previous owner; removing a peer removes
/// its prefixes. Iteration is in id order (deterministic, unlike upstream's hash map). Lookups by id or address are
/// allocation-free. Not thread-safe.
/// </summary>
/// <typeparam name="TId">The peer id (ordered as upstream's UUIDs).</typeparam>
/// <typeparam name="TPeer">The per-peer state.</typeparam>
internal sealed class PeerStore<TId, TPeer>
    where TId : struct, IEquatable<TId>, IComparable<TId>
    where TPeer : class
{
    private readonly Dictionary<TId, TPeer> _byId = new();
    private readonly Dictionary<TId, HashSet<IPNetwork>> _prefixesOf = new();
    private readonly List<TId> _order = new();
    private readonly IpPrefixTable<TId> _byIp = new();

    /// <summary>Number of peers.</summary>
    public int Count => _byId.Count;

    /// <summary>The peers' ids in order (do not modify the store while enumerating).</summary>
    public IReadOnlyList<TId> Ids => _order;

    /// <summary>
    /// Stores <paramref name="peer"/> under <paramref name="id"/> (replacing any peer with that id and dropping every
    /// prefix of that id) and indexes <paramref name="prefixes"/> for it; returns the replaced peer, if any.
    /// </summary>
    public TPeer? Insert(TId id, TPeer peer, IEnumerable<IPNetwork> prefixes)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(prefixes);
        RemovePrefixesOf(id);
        _byId.TryGetValue(id, out var old);
        _byId[id] = peer;
        if (old is null)
        {
            int at = _order.BinarySearch(id);
            _order.Insert(~at, id);
        }

        foreach (var prefix in prefixes)
        {
            AddPrefix(id, prefix);
        }

        return old;
    }

    /// <summary>Points <paramref name="prefix"/> at the existing peer <paramref name="id"/>; false (nothing changed) without one.</summary>
    public bool AddPrefix(TId id, IPNetwork prefix)
    {
        if (!_byId.ContainsKey(id))
        {
            return false;
        }

        if (_byIp.TryGetExact(prefix, out var owner) && !owner.Equals(id))
        {
            _prefixesOf[owner].Remove(prefix);
        }

        _byIp.Set(prefix, id);
        if (!_prefixesOf.TryGetValue(id, out var set))
        {
            _prefixesOf[id] = set = new HashSet<IPNetwork>();
        }

        set.Add(prefix);
        return true;
    }

    /// <summary>Removes the peer and all its prefixes; returns it, or null.</summary>
    public TPeer? Remove(TId id)
    {
        RemovePrefixesOf(id);
        if (!_byId.Remove(id, out var peer))
        {
            return null;
        }

        _order.RemoveAt(_order.BinarySearch(id));
        return peer;
    }

    /// <summary>Removes every peer for which <paramref name="keep"/> is false (with its prefixes); returns how many.</summary>
    public int Retain(Func<TId, TPeer, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        int removed = 0;
        for (int i = _order.Count - 1; i >= 0; i--)
        {
            var id = _order[i];
            if (!keep(id, _byId[id]))
            {
                Remove(id);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>The peer with this id.</summary>
    public bool TryGet(TId id, out TPeer peer) => _byId.TryGetValue(id, out peer!);

    /// <summary>The peer owning the longest prefix that contains the raw address (4 or 16 bytes).</summary>
    public bool TryGetByAddress(ReadOnlySpan<byte> address, out TPeer peer)
    {
        if (_byIp.TryLongestMatchValue(address, out var id) && _byId.TryGetValue(id, out peer!))
        {
            return true;
        }

        peer = null!;
        return false;
    }

    /// <summary>The peer owning the longest prefix that contains <paramref name="address"/>.</summary>
    public bool TryGetByAddress(IPAddress address, out TPeer peer)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return TryGetByAddress(bytes[..written], out peer);
    }

    /// <summary>The prefixes pointing at <paramref name="id"/> (tests and diagnostics).</summary>
    public IReadOnlyCollection<IPNetwork> PrefixesOf(TId id) => _prefixesOf.TryGetValue(id, out var set) ? set : [];

    private void RemovePrefixesOf(TId id)
    {
        if (!_prefixesOf.Remove(id, out var set))
        {
            return;
        }

        foreach (var prefix in set)
        {
            _byIp.Remove(prefix);
        }
    }
}
