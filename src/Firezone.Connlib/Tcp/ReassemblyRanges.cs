namespace Firezone.Connlib.Tcp;

/// <summary>
/// The out-of-order ranges held in a receive buffer, as offsets from the next expected byte (RCV.NXT): sorted,
/// disjoint, merged when they touch. At most <c>max</c> ranges are kept (a peer cannot grow the table): a segment
/// that would need one more is not stored (the peer retransmits it), except in-order data, which always fits.
/// </summary>
internal sealed class ReassemblyRanges
{
    private readonly (int Start, int End)[] _ranges;
    private readonly int _max;
    private int _count;

    public ReassemblyRanges(int max)
    {
        _max = max;
        _ranges = new (int, int)[max + 1];
    }

    public int Count => _count;

    /// <summary>The end of the furthest range (0 when empty).</summary>
    public int HighestEnd => _count == 0 ? 0 : _ranges[_count - 1].End;

    /// <summary>Adds <c>[start, start+length)</c>; false if it was not stored (too many ranges).</summary>
    public bool Add(int start, int length)
    {
        if (length <= 0) return true;
        int end = start + length;
        // First range that ends at or after start (may merge), and last that starts at or before end.
        int i = 0;
        while (i < _count && _ranges[i].End < start) i++;
        int j = i;
        while (j < _count && _ranges[j].Start <= end) j++;
        if (i == j)
        {
            if (_count >= _max && start != 0) return false;
            System.Array.Copy(_ranges, i, _ranges, i + 1, _count - i);
            _ranges[i] = (start, end);
            _count++;
            return true;
        }
        int s = Math.Min(start, _ranges[i].Start);
        int e = Math.Max(end, _ranges[j - 1].End);
        _ranges[i] = (s, e);
        int removed = j - i - 1;
        if (removed > 0)
        {
            System.Array.Copy(_ranges, j, _ranges, i + 1, _count - j);
            _count -= removed;
        }
        return true;
    }

    /// <summary>If a range starts at 0, removes it, shifts the rest down by its length and returns that length; else 0.</summary>
    public int TakeFront()
    {
        if (_count == 0 || _ranges[0].Start != 0) return 0;
        int n = _ranges[0].End;
        System.Array.Copy(_ranges, 1, _ranges, 0, _count - 1);
        _count--;
        for (int k = 0; k < _count; k++) _ranges[k] = (_ranges[k].Start - n, _ranges[k].End - n);
        return n;
    }

    public void Clear() => _count = 0;
}
