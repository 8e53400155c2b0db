using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Messages.Wire;

/// <summary>
/// The text forms of the portal protocol's scalar values, parsed as strictly as upstream's Rust parsers (phoenix-and-portal
/// spec §6) and formatted as upstream formats them. Every parser returns false on bad input; none throws.
/// </summary>
internal static class WireText
{
    /// <summary>
    /// A UUID in any of the forms upstream's <c>uuid</c> crate accepts: hyphenated, simple (32 hex digits), braced
    /// (<c>{…}</c>) or URN (<c>urn:uuid:…</c>); hex digits in either case.
    /// </summary>
    public static bool TryParseUuid(ReadOnlySpan<char> text, out Guid value)
    {
        value = default;
        if (text.Length == 45 && text.StartsWith("urn:uuid:", StringComparison.Ordinal))
        {
            text = text[9..];
        }
        else if (text.Length == 38 && text[0] == '{' && text[^1] == '}')
        {
            text = text[1..^1];
        }

        // Guid's exact parser trims white space; upstream does not, so reject it first.
        foreach (char c in text)
        {
            if (!char.IsAsciiHexDigit(c) && c != '-')
            {
                return false;
            }
        }

        return text.Length switch
        {
            36 => Guid.TryParseExact(text, "D", out value),
            32 => Guid.TryParseExact(text, "N", out value),
            _ => false,
        };
    }

    /// <summary>The lowercase hyphenated form.</summary>
    public static string FormatUuid(Guid value) => value.ToString("D");

    /// <summary>Dotted-quad IPv4 as Rust parses it: four decimal octets of 1–3 digits, no leading zero, each ≤ 255.</summary>
    public static bool TryParseIPv4(ReadOnlySpan<char> text, out IPAddress address)
    {
        address = IPAddress.None;
        Span<byte> octets = stackalloc byte[4];
        int part = 0;
        int i = 0;
        while (true)
        {
            int start = i;
            int value = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]) && i - start < 3)
            {
                value = value * 10 + (text[i] - '0');
                i++;
            }

            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0'))
            {
                return false;
            }

            octets[part++] = (byte)value;
            if (part == 4)
            {
                break;
            }

            if (i >= text.Length || text[i] != '.')
            {
                return false;
            }

            i++;
        }

        if (i != text.Length)
        {
            return false;
        }

        address = new IPAddress(octets);
        return true;
    }

    /// <summary>
    /// IPv6 text as Rust parses it: hex groups, one <c>::</c>, an optional trailing dotted quad; no zone, no brackets.
    /// </summary>
    public static bool TryParseIPv6(ReadOnlySpan<char> text, out IPAddress address)
    {
        address = IPAddress.IPv6None;
        if (text.Length < 2 || text.Length > 45 || text.IndexOf(':') < 0)
        {
            return false;
        }

        int lastColon = text.LastIndexOf(':');
        foreach (char c in text[..(lastColon + 1)])
        {
            if (!char.IsAsciiHexDigit(c) && c != ':')
            {
                return false;
            }
        }

        var tail = text[(lastColon + 1)..];
        if (tail.Contains('.'))
        {
            if (!TryParseIPv4(tail, out _))
            {
                return false;
            }
        }
        else
        {
            foreach (char c in tail)
            {
                if (!char.IsAsciiHexDigit(c))
                {
                    return false;
                }
            }
        }

        if (!IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6 || parsed.ScopeId != 0)
        {
            return false;
        }

        address = parsed;
        return true;
    }

    /// <summary>Either family (IPv4 tried first, as Rust's <c>IpAddr</c> does).</summary>
    public static bool TryParseIP(ReadOnlySpan<char> text, out IPAddress address) =>
        TryParseIPv4(text, out address) || TryParseIPv6(text, out address);

    /// <summary>
    /// A socket address: <c>1.2.3.4:3478</c> or <c>[2001:db8::1]:3478</c> (a numeric zone <c>[fe80::1%2]:3478</c> is
    /// accepted, as Rust does); the port decimal, at most 65535.
    /// </summary>
    public static bool TryParseSocketAddress(ReadOnlySpan<char> text, out IPEndPoint endPoint)
    {
        endPoint = null!;
        IPAddress address;
        ReadOnlySpan<char> port;
        if (text.Length > 0 && text[0] == '[')
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                return false;
            }

            var inside = text[1..close];
            long scope = 0;
            int percent = inside.IndexOf('%');
            if (percent >= 0)
            {
                if (!TryParseDecimal(inside[(percent + 1)..], uint.MaxValue, out scope))
                {
                    return false;
                }

                inside = inside[..percent];
            }

            if (!TryParseIPv6(inside, out address))
            {
                return false;
            }

            if (scope != 0)
            {
                address = new IPAddress(address.GetAddressBytes(), scope);
            }

            port = text[(close + 2)..];
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon < 0 || !TryParseIPv4(text[..colon], out address))
            {
                return false;
            }

            port = text[(colon + 1)..];
        }

        if (!TryParseDecimal(port, ushort.MaxValue, out long portNumber))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, (int)portNumber);
        return true;
    }

    /// <summary><c>1.2.3.4:3478</c> or <c>[2001:db8::1]:3478</c>.</summary>
    public static string FormatSocketAddress(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6
            ? endPoint.Address.ScopeId == 0
                ? $"[{FormatIP(endPoint.Address)}]:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}"
                : $"[{FormatIP(endPoint.Address)}%{endPoint.Address.ScopeId.ToString(CultureInfo.InvariantCulture)}]:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}"
            : $"{FormatIP(endPoint.Address)}:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// An address as Rust's <c>Display</c> writes it: dotted quad for IPv4; for IPv6 lowercase hex groups with the
    /// longest run (the first of equal ones) of two or more zero groups as <c>::</c>, and dotted-quad notation only for
    /// IPv4-mapped addresses (<c>::ffff:1.2.3.4</c>). .NET's own text differs for IPv4-compatible ones (<c>::1.2.3.4</c>,
    /// Rust <c>::102:304</c>). No scope.
    /// </summary>
    public static string FormatIP(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        Span<ushort> groups = stackalloc ushort[8];
        for (int i = 0; i < 8; i++)
        {
            groups[i] = (ushort)((bytes[2 * i] << 8) | bytes[(2 * i) + 1]);
        }

        if (groups[..5].IndexOfAnyExcept((ushort)0) < 0 && groups[5] == 0xffff)
        {
            return $"::ffff:{bytes[12]}.{bytes[13]}.{bytes[14]}.{bytes[15]}";
        }

        int bestStart = -1, bestLength = 0;
        for (int i = 0; i < 8;)
        {
            if (groups[i] != 0)
            {
                i++;
                continue;
            }

            int start = i;
            while (i < 8 && groups[i] == 0)
            {
                i++;
            }

            if (i - start > bestLength)
            {
                (bestStart, bestLength) = (start, i - start);
            }
        }

        if (bestLength < 2)
        {
            bestStart = -1;
        }

        var text = new System.Text.StringBuilder(39);
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text.Append("::");
                i += bestLength - 1;
                continue;
            }

            if (text.Length > 0 && text[^1] != ':')
            {
                text.Append(':');
            }

            text.Append(groups[i].ToString("x", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>
    /// A network <c>address/prefix</c> as upstream's <c>ip_network</c> parses it: the prefix a <c>u8</c> (an optional
    /// <c>+</c>, decimal digits) no longer than the family's bits, and the host bits zero (else rejected, not truncated).
    /// </summary>
    public static bool TryParseCidr(ReadOnlySpan<char> text, out IPNetwork network)
    {
        network = default;
        int slash = text.IndexOf('/');
        if (slash < 0)
        {
            return false;
        }

        var prefixText = text[(slash + 1)..];
        if (prefixText.Length > 0 && prefixText[0] == '+')
        {
            prefixText = prefixText[1..];
        }

        if (!TryParseDecimal(prefixText, byte.MaxValue, out long prefix) || !TryParseIP(text[..slash], out var address))
        {
            return false;
        }

        int bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix > bits || !HostBitsZero(address, (int)prefix))
        {
            return false;
        }

        network = new IPNetwork(address, (int)prefix);
        return true;
    }

    /// <summary><c>address/prefix</c>.</summary>
    public static string FormatCidr(IPNetwork network) =>
        $"{FormatIP(network.BaseAddress)}/{network.PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// A DNS name as upstream's <c>domain</c> crate accepts it for a <c>ResolveRequest</c>/<c>DomainResponse</c>: printable
    /// ASCII labels of 1–63 characters separated by dots, at most 255 octets in wire form; one trailing dot (an absolute
    /// name) is accepted and dropped, so the result is the name without it. Escapes are not interpreted.
    /// </summary>
    public static bool TryParseDomainName(string text, out string name)
    {
        name = text;
        var span = text.AsSpan();
        if (span.Length > 0 && span[^1] == '.')
        {
            span = span[..^1];
        }

        if (span.Length == 0 || span.Length > 253)
        {
            return false;
        }

        int label = 0;
        foreach (char c in span)
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

            if (c is < '!' or > '~' || ++label > 63)
            {
                return false;
            }
        }

        if (label == 0)
        {
            return false;
        }

        name = span.Length == text.Length ? text : span.ToString();
        return true;
    }

    private static bool TryParseDecimal(ReadOnlySpan<char> text, long max, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = value * 10 + (c - '0');
            if (value > max)
            {
                return false;
            }
        }

        return true;
    }

    private static bool HostBitsZero(IPAddress address, int prefix)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        for (int bit = prefix; bit < length * 8; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                return false;
            }
        }

        return true;
    }
}
