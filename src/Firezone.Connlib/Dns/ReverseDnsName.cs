using System.Net;

namespace Firezone.Connlib.Dns;

/// <summary>
/// Parses reverse-lookup names (tunnel spec §4.7, §10): <c>d.c.b.a.in-addr.arpa</c> (exactly four decimal labels,
/// 0–255 without leading zeros, as Rust's <c>Ipv4Addr</c> parser accepts them) and 32 reversed single-hex-digit labels
/// followed by <c>.ip6.arpa</c>; nothing extra is allowed. As upstream, the suffix labels must be lowercase (upstream
/// compares them as strings); hex digits may be either case. Upstream joins the labels and hands them to the IP
/// parser, which would also take oddities such as <c>1.:.:.0.ip6.arpa</c> (a label <c>:</c> forming <c>0::1</c>);
/// this parser is strict (32 nibbles), as the spec asks.
/// </summary>
internal static class ReverseDnsName
{
    private const string V4Suffix = ".in-addr.arpa";
    private const string V6Suffix = ".ip6.arpa";

    /// <summary>Parses a presentation-form name (no trailing dot) into the address it names.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out IPAddress address)
    {
        if (TryParseV4(name, out uint v4))
        {
            address = IpKey.V4(v4);
            return true;
        }

        if (TryParseV6(name, out UInt128 v6))
        {
            address = IpKey.V6(v6);
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    /// <summary>Parses <c>d.c.b.a.in-addr.arpa</c> into the address a.b.c.d (as a host-order number).</summary>
    public static bool TryParseV4(ReadOnlySpan<char> name, out uint address)
    {
        address = 0;
        if (!name.EndsWith(V4Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        var labels = name[..^V4Suffix.Length];
        for (int i = 0; i < 4; i++)
        {
            int dot = labels.IndexOf('.');
            if ((dot < 0) != (i == 3))
            {
                return false; // fewer or more than four labels
            }

            var label = dot < 0 ? labels : labels[..dot];
            if (!TryParseOctet(label, out byte octet))
            {
                return false;
            }

            address |= (uint)octet << (8 * i); // the first label is the last octet
            labels = dot < 0 ? default : labels[(dot + 1)..];
        }

        return true;
    }

    /// <summary>Parses 32 reversed nibbles followed by <c>.ip6.arpa</c>.</summary>
    public static bool TryParseV6(ReadOnlySpan<char> name, out UInt128 address)
    {
        address = 0;
        // 32 single-character labels and 31 dots before the suffix.
        if (name.Length != 63 + V6Suffix.Length || !name.EndsWith(V6Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        for (int i = 0; i < 32; i++)
        {
            int nibble = HexValue(name[2 * i]);
            if (nibble < 0 || (i < 31 && name[(2 * i) + 1] != '.'))
            {
                return false;
            }

            address |= (UInt128)(uint)nibble << (4 * i); // the first label is the lowest nibble
        }

        return true;
    }

    private static bool TryParseOctet(ReadOnlySpan<char> label, out byte octet)
    {
        octet = 0;
        if (label.IsEmpty || label.Length > 3 || (label.Length > 1 && label[0] == '0'))
        {
            return false;
        }

        int value = 0;
        foreach (char c in label)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        if (value > 255)
        {
            return false;
        }

        octet = (byte)value;
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
