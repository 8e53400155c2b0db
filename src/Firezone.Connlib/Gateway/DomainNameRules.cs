namespace Firezone.Connlib.Gateway;

/// <summary>
/// What the gateway accepts as a domain name (upstream parses names into <c>DomainName</c>, which compares
/// case-insensitively): 1–253 characters without the trailing dot, labels of 1–63 printable ASCII characters.
/// Names are kept normalised (lower case, no trailing dot) so they compare and hash ordinally.
/// </summary>
internal static class DomainNameRules
{
    /// <summary>The longest name in presentation form without the trailing dot.</summary>
    public const int MaxLength = 253;

    /// <summary>The longest label.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>The normalised form of a valid name; false for an invalid one.</summary>
    public static bool TryNormalize(string? name, out string normalized)
    {
        normalized = string.Empty;
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }

        ReadOnlySpan<char> text = name.AsSpan();
        if (text[^1] == '.')
        {
            text = text[..^1];
        }

        if (text.IsEmpty || text.Length > MaxLength)
        {
            return false;
        }

        int label = 0;
        foreach (char c in text)
        {
            if (c == '.')
            {
                if (label == 0)
                {
                    return false;
                }

                label = 0;
                continue;
            }

            if (c <= ' ' || c > '~' || ++label > MaxLabelLength)
            {
                return false;
            }
        }

        if (label == 0)
        {
            return false;
        }

        normalized = text.ToString().ToLowerInvariant();
        return true;
    }
}
