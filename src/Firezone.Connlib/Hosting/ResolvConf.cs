using System.Net;
using System.Text;

namespace Firezone.Connlib.Hosting;

/// <summary>The bits of resolv.conf(5) the DNS control needs: its nameservers, and the file with them replaced.</summary>
internal static class ResolvConf
{
    /// <summary>The first line of a file Firezone wrote; finding it at startup means an earlier run crashed.</summary>
    public const string MagicHeader = "# BEGIN Firezone DNS configuration";

    /// <summary>The addresses of the <c>nameserver</c> lines (scope ids dropped, unparsable entries skipped).</summary>
    public static IReadOnlyList<IPAddress> Nameservers(string text)
    {
        var servers = new List<IPAddress>();
        foreach (string line in text.Split('\n'))
        {
            if (NameserverOf(line) is { } server)
            {
                servers.Add(server);
            }
        }

        return servers;
    }

    /// <summary>
    /// Upstream's rewritten file: the magic header and the comment lines naming the backup, then
    /// <paramref name="original"/> with its <c>nameserver</c> lines replaced by <paramref name="servers"/> (placed where the
    /// first one was, or at the end). Other lines (search, options, comments) are kept as they were.
    /// </summary>
    public static string Rewrite(string original, IReadOnlyList<IPAddress> servers, string backupPath)
    {
        var text = new StringBuilder();
        text.Append(MagicHeader).Append('\n')
            .Append("# If you modify this file, delete the above magic header line so that Firezone will\n")
            .Append("# obey your new default DNS config.\n")
            .Append("# If you see this text and Firezone is not running, then the last run of Firezone crashed.\n")
            .Append("# The original `resolv.conf` is backed up at ").Append(backupPath).Append('\n');
        bool placed = false;
        foreach (string line in original.TrimEnd('\n').Split('\n'))
        {
            if (IsNameserverLine(line))
            {
                if (!placed)
                {
                    AppendServers(text, servers);
                    placed = true;
                }

                continue;
            }

            if (line.Length > 0 || !placed)
            {
                text.Append(line).Append('\n');
            }
        }

        if (!placed)
        {
            AppendServers(text, servers);
        }

        return text.ToString();
    }

    private static void AppendServers(StringBuilder text, IReadOnlyList<IPAddress> servers)
    {
        foreach (var server in servers)
        {
            text.Append("nameserver ").Append(server).Append('\n');
        }
    }

    private static bool IsNameserverLine(string line)
    {
        var trimmed = line.AsSpan().TrimStart();
        return trimmed.StartsWith("nameserver", StringComparison.Ordinal)
            && (trimmed.Length == "nameserver".Length || char.IsWhiteSpace(trimmed["nameserver".Length]));
    }

    private static IPAddress? NameserverOf(string line)
    {
        if (!IsNameserverLine(line))
        {
            return null;
        }

        string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 ? DnsControl.ParseServer(parts[1]) : null;
    }
}
