using System.Globalization;
using System.Net;
using System.Text;

namespace Firezone.Snownet.Ice;

/// <summary>
/// The SDP candidate-attribute string (RFC 8839 §5.1 subset, snownet spec §4.4.4):
/// <c>candidate:&lt;foundation&gt; &lt;component&gt; &lt;transport&gt; &lt;priority&gt; &lt;ip&gt; &lt;port&gt; typ &lt;type&gt;</c>
/// [<c> tcptype x</c>] [<c> raddr ip rport port</c>] [<c> generation x</c>] [<c> network-id x</c>] [<c> ufrag x</c>]
/// [<c> network-cost x</c>]. Unknown extension pairs are accepted and dropped. Never throws.
/// </summary>
internal static class CandidateSdp
{
    /// <summary>Parses a candidate string; false on anything malformed.</summary>
    public static bool TryParse(string? text, out Candidate? candidate)
    {
        candidate = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 1024)
        {
            return false;
        }

        ReadOnlySpan<char> s = text.AsSpan().Trim();
        if (s.StartsWith("a=", StringComparison.Ordinal))
        {
            s = s[2..];
        }

        if (s.StartsWith("candidate:", StringComparison.OrdinalIgnoreCase))
        {
            s = s["candidate:".Length..];
        }

        string[] t = s.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (t.Length < 8)
        {
            return false;
        }

        string foundation = t[0];
        if (foundation.Length is 0 or > 32 || !IsIceChars(foundation))
        {
            return false;
        }

        if (!int.TryParse(t[1], NumberStyles.None, CultureInfo.InvariantCulture, out int component) || component is < 1 or > 256)
        {
            return false;
        }

        string transport = t[2];
        if (!uint.TryParse(t[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint priority) || priority == 0)
        {
            return false;
        }

        if (!IPAddress.TryParse(t[4], out IPAddress? ip) || t[4].Contains('%', StringComparison.Ordinal))
        {
            return false;
        }

        if (!TryPort(t[5], out int port) || !string.Equals(t[6], "typ", StringComparison.Ordinal))
        {
            return false;
        }

        CandidateKind kind;
        switch (t[7])
        {
            case "host": kind = CandidateKind.Host; break;
            case "srflx": kind = CandidateKind.ServerReflexive; break;
            case "prflx": kind = CandidateKind.PeerReflexive; break;
            case "relay": kind = CandidateKind.Relayed; break;
            default: return false;
        }

        string? tcptype = null, generation = null, networkId = null, ufrag = null, networkCost = null;
        IPAddress? raddr = null;
        int rport = -1;
        int i = 8;
        if (i + 1 < t.Length && t[i] == "tcptype")
        {
            tcptype = t[i + 1];
            i += 2;
        }

        if ((t.Length - i) % 2 != 0)
        {
            return false;
        }

        for (; i < t.Length; i += 2)
        {
            string name = t[i], value = t[i + 1];
            switch (name)
            {
                case "raddr":
                    if (!IPAddress.TryParse(value, out raddr))
                    {
                        return false;
                    }

                    break;
                case "rport":
                    if (!TryPort(value, out rport))
                    {
                        return false;
                    }

                    break;
                case "generation": generation = value; break;
                case "network-id": networkId = value; break;
                case "ufrag": ufrag = value; break;
                case "network-cost": networkCost = value; break;
                case "tcptype": tcptype = value; break;
                default: break; // extension-att-name: accepted, ignored
            }
        }

        if ((raddr is null) != (rport < 0))
        {
            return false;
        }

        var address = new IPEndPoint(ip, port);
        candidate = new Candidate(kind, address, address, priority, foundation)
        {
            Component = component,
            Transport = transport,
            TcpType = tcptype,
            Related = raddr is null ? null : new IPEndPoint(raddr, rport),
            Generation = generation,
            NetworkId = networkId,
            Ufrag = ufrag,
            NetworkCost = networkCost,
        };
        return true;
    }

    /// <summary>Formats a candidate (no raddr/rport unless set, as snownet emits them).</summary>
    public static string Format(Candidate c)
    {
        var sb = new StringBuilder(96);
        sb.Append("candidate:").Append(c.Foundation).Append(' ')
          .Append(c.Component.ToString(CultureInfo.InvariantCulture)).Append(' ')
          .Append(c.Transport).Append(' ')
          .Append(c.Priority.ToString(CultureInfo.InvariantCulture)).Append(' ')
          .Append(c.Address.Address.ToString()).Append(' ')
          .Append(c.Address.Port.ToString(CultureInfo.InvariantCulture))
          .Append(" typ ").Append(TypeToken(c.Kind));
        if (c.TcpType is not null)
        {
            sb.Append(" tcptype ").Append(c.TcpType);
        }

        if (c.Related is not null)
        {
            sb.Append(" raddr ").Append(c.Related.Address.ToString())
              .Append(" rport ").Append(c.Related.Port.ToString(CultureInfo.InvariantCulture));
        }

        Append(sb, "generation", c.Generation);
        Append(sb, "network-id", c.NetworkId);
        Append(sb, "ufrag", c.Ufrag);
        Append(sb, "network-cost", c.NetworkCost);
        return sb.ToString();
    }

    /// <summary>The <c>typ</c> token of a kind.</summary>
    public static string TypeToken(CandidateKind kind) => kind switch
    {
        CandidateKind.Host => "host",
        CandidateKind.ServerReflexive => "srflx",
        CandidateKind.PeerReflexive => "prflx",
        _ => "relay",
    };

    private static void Append(StringBuilder sb, string name, string? value)
    {
        if (value is not null)
        {
            sb.Append(' ').Append(name).Append(' ').Append(value);
        }
    }

    private static bool TryPort(string s, out int port)
        => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535;

    private static bool IsIceChars(string s)
    {
        foreach (char ch in s)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch == '+' || ch == '/'))
            {
                return false;
            }
        }

        return true;
    }
}
