namespace Firezone.Connlib.Dns;

/// <summary>
/// The address of a DNS resource (tunnel spec §4.7): a glob over DNS labels, matched case-insensitively. Within one
/// label <c>*</c> matches any characters, <c>?</c> exactly one, <c>[abc]</c>/<c>[a-z]</c>/<c>[!x]</c> one of (or none of)
/// a class; a whole label <c>**</c> matches zero or more labels; a pattern <c>*.X</c> also matches <c>X</c> itself.
/// <c>**</c> inside a longer label is invalid (as in the glob engine upstream uses). Immutable; matching allocates
/// nothing beyond the name's label boundaries on the stack.
/// </summary>
internal sealed class DomainPattern : IEquatable<DomainPattern>
{
    private const int MaxLabels = 128;
    private readonly string[] _labels;

    private DomainPattern(string text, string[] labels)
    {
        Text = text;
        _labels = labels;
    }

    /// <summary>The pattern as written (lowercased, without a trailing dot).</summary>
    public string Text { get; }

    /// <summary>Parses a pattern; false for an empty pattern, an empty label, a misplaced <c>**</c> or an unclosed class.</summary>
    public static bool TryParse(string? pattern, out DomainPattern result)
    {
        result = null!;
        if (string.IsNullOrWhiteSpace(pattern))
        {
            return false;
        }

        string text = pattern.Trim().TrimEnd('.').ToLowerInvariant();
        if (text.Length == 0)
        {
            return false;
        }

        string[] labels = text.Split('.');
        if (labels.Length > MaxLabels)
        {
            return false;
        }

        foreach (string label in labels)
        {
            if (label.Length == 0 || (label != "**" && label.Contains("**", StringComparison.Ordinal)) || !ClassesAreClosed(label))
            {
                return false;
            }
        }

        result = new DomainPattern(text, labels);
        return true;
    }

    /// <summary>Parses a pattern or throws <see cref="FormatException"/>.</summary>
    public static DomainPattern Parse(string pattern) =>
        TryParse(pattern, out var result) ? result : throw new FormatException($"Not a valid domain pattern: '{pattern}'");

    /// <summary>True when <paramref name="name"/> (with or without a trailing dot, any case) matches the pattern.</summary>
    public bool Matches(ReadOnlySpan<char> name)
    {
        if (name.Length > 0 && name[^1] == '.')
        {
            name = name[..^1];
        }

        if (name.IsEmpty)
        {
            return false;
        }

        Span<Range> labels = stackalloc Range[MaxLabels + 1];
        int count = name.Split(labels, '.');
        if (count > MaxLabels)
        {
            return false;
        }

        labels = labels[..count];
        foreach (var label in labels)
        {
            if (name[label].IsEmpty)
            {
                return false;
            }
        }

        if (Match(0, name, labels, 0))
        {
            return true;
        }

        // `*.X` also matches `X`.
        return _labels.Length > 1 && _labels[0] == "*" && Match(1, name, labels, 0);
    }

    /// <summary>
    /// Upstream's resolution order of patterns (the resolver answers with the first match): compared from the last
    /// character backwards; equal characters continue; <c>*</c> ranks after <c>?</c>; a wildcard ranks after a <c>.</c>,
    /// the end of the string or any other character; two different ordinary characters rank in reverse character
    /// order; a pattern that ends first ranks first. So exact names beat wildcards and narrower suffixes broader ones:
    /// <c>example.com</c>, <c>bar.example.com</c>, <c>*.bar.example.com</c>, <c>foo.example.com</c>, <c>?.example.com</c>,
    /// <c>*.example.com</c>, <c>**.example.com</c>, <c>*ample.com</c>, <c>*.com</c>.
    /// </summary>
    public static int ComparePriority(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int i = a.Length - 1, j = b.Length - 1;
        while (i >= 0 && j >= 0)
        {
            char x = char.ToLowerInvariant(a[i]), y = char.ToLowerInvariant(b[j]);
            if (x != y)
            {
                bool wx = x is '*' or '?', wy = y is '*' or '?';
                if (wx && wy)
                {
                    return x == '*' ? 1 : -1; // `*` after `?`
                }

                if (wx)
                {
                    return 1;
                }

                if (wy)
                {
                    return -1;
                }

                return y.CompareTo(x); // reverse character order
            }

            i--;
            j--;
        }

        if (i < 0 && j < 0)
        {
            return 0;
        }

        return i < 0 ? -1 : 1; // the one that ended first ranks first (also against a wildcard)
    }

    /// <summary>A comparer with <see cref="ComparePriority"/>.</summary>
    public static IComparer<string> PriorityComparer { get; } = Comparer<string>.Create(ComparePriority);

    /// <inheritdoc/>
    public bool Equals(DomainPattern? other) => other is not null && other.Text == Text;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DomainPattern p && Equals(p);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <summary>The pattern with dots, e.g. <c>**.example.com</c>.</summary>
    public override string ToString() => Text;

    private bool Match(int p, ReadOnlySpan<char> name, ReadOnlySpan<Range> labels, int n)
    {
        while (true)
        {
            if (p == _labels.Length)
            {
                return n == labels.Length;
            }

            if (_labels[p] == "**")
            {
                // Zero or more labels; consecutive `**` collapse.
                while (p + 1 < _labels.Length && _labels[p + 1] == "**")
                {
                    p++;
                }

                for (int k = n; k <= labels.Length; k++)
                {
                    if (Match(p + 1, name, labels, k))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (n == labels.Length || !MatchLabel(_labels[p], name[labels[n]]))
            {
                return false;
            }

            p++;
            n++;
        }
    }

    /// <summary>Glob match of one label (no dots on either side), case-insensitive; iterative with one backtrack point per <c>*</c>.</summary>
    private static bool MatchLabel(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length)
            {
                char c = pattern[p];
                if (c == '*')
                {
                    starP = p++;
                    starT = t;
                    continue;
                }

                if (c == '?')
                {
                    p++;
                    t++;
                    continue;
                }

                if (c == '[' && TryMatchClass(pattern, p, char.ToLowerInvariant(text[t]), out int next, out bool hit))
                {
                    if (hit)
                    {
                        p = next;
                        t++;
                        continue;
                    }
                }
                else if (char.ToLowerInvariant(c) == char.ToLowerInvariant(text[t]))
                {
                    p++;
                    t++;
                    continue;
                }
            }

            if (starP < 0)
            {
                return false;
            }

            p = starP + 1;
            t = ++starT;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Matches a class <c>[...]</c> starting at <paramref name="start"/>; false when it is not a well-formed class.</summary>
    private static bool TryMatchClass(ReadOnlySpan<char> pattern, int start, char c, out int next, out bool hit)
    {
        int i = start + 1;
        bool negate = i < pattern.Length && pattern[i] is '!';
        if (negate)
        {
            i++;
        }

        bool any = false;
        bool first = true;
        while (i < pattern.Length && (pattern[i] != ']' || first))
        {
            char low = char.ToLowerInvariant(pattern[i]);
            char high = low;
            if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
            {
                high = char.ToLowerInvariant(pattern[i + 2]);
                i += 2;
            }

            any |= c >= low && c <= high;
            first = false;
            i++;
        }

        if (i >= pattern.Length)
        {
            next = start;
            hit = false;
            return false;
        }

        next = i + 1;
        hit = any != negate;
        return true;
    }

    private static bool ClassesAreClosed(string label)
    {
        for (int i = 0; i < label.Length; i++)
        {
            if (label[i] == '[')
            {
                if (!TryMatchClass(label, i, 'a', out int next, out _))
                {
                    return false;
                }

                i = next - 1;
            }
        }

        return true;
    }
}
