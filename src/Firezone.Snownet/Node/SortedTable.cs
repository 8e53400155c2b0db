namespace Firezone.Snownet;

/// <summary>
/// A map kept in key order for iteration without allocation (a dictionary for lookups plus a sorted list of values).
/// The node walks its connections and relays in id order on every packet, so a <see cref="SortedDictionary{TKey, TValue}"/>
/// (whose enumerator allocates a stack) is not an option. Insertions and removals are O(n); they are rare.
/// </summary>
internal sealed class SortedTable<TKey, TValue>
    where TKey : struct, IComparable<TKey>
    where TValue : class
{
    private readonly Dictionary<TKey, TValue> _byKey = new();
    private readonly List<TKey> _keys = new();
    private readonly List<TValue> _values = new();

    public int Count => _values.Count;

    /// <summary>The values in key order (index with <see cref="ValueAt"/>; do not change the table while walking it).</summary>
    public TValue ValueAt(int index) => _values[index];

    public TKey KeyAt(int index) => _keys[index];

    public bool TryGetValue(TKey key, out TValue value) => _byKey.TryGetValue(key, out value!);

    public bool ContainsKey(TKey key) => _byKey.ContainsKey(key);

    /// <summary>Adds or replaces the value of <paramref name="key"/>; returns the replaced value, if any.</summary>
    public TValue? Set(TKey key, TValue value)
    {
        int index = _keys.BinarySearch(key);
        if (index >= 0)
        {
            var old = _values[index];
            _values[index] = value;
            _byKey[key] = value;
            return old;
        }

        index = ~index;
        _keys.Insert(index, key);
        _values.Insert(index, value);
        _byKey[key] = value;
        return null;
    }

    public bool Remove(TKey key, out TValue value)
    {
        if (!_byKey.Remove(key, out value!))
        {
            return false;
        }

        int index = _keys.BinarySearch(key);
        _keys.RemoveAt(index);
        _values.RemoveAt(index);
        return true;
    }

    public void Clear()
    {
        _byKey.Clear();
        _keys.Clear();
        _values.Clear();
    }

    /// <summary>A snapshot of the values in key order (allocates; for rare operations that change the table).</summary>
    public List<TValue> Snapshot() => new(_values);

    public List<TKey> KeySnapshot() => new(_keys);
}
