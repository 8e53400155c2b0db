using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// hosts-and-tun.md §5.2: <c>&lt;time&gt; &lt;LEVEL&gt; &lt;target&gt;: &lt;message&gt;[ key=value]…</c>, time in UTC with exactly
/// three fractional digits and <c>Z</c>, the level right-aligned in five columns. A .NET message template already
/// shows its fields' values in the message (upstream's fields are not part of the message), so only fields that the
/// template does not name follow as <c>key=value</c>, plus <c>exception="…"</c> when there is one: one line per event.
/// </summary>
internal static class HumanLogFormatter
{
    public static string Format(in LogEvent e)
    {
        var line = new StringBuilder(64 + e.Message.Length);
        line.Append(e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
            .Append(' ')
            .Append(Level(e.Level))
            .Append(' ')
            .Append(e.Category)
            .Append(": ")
            .Append(e.Message);
        bool separate = e.Message.Length > 0;
        HashSet<string>? named = e.Fields.Count > 0 ? TemplateNames(e.Template) : null;
        foreach (var field in e.Fields)
        {
            if (named!.Contains(field.Key))
            {
                continue;
            }

            if (separate)
            {
                line.Append(' ');
            }

            line.Append(field.Key).Append('=').Append(LogValues.Human(field.Value));
            separate = true;
        }

        if (e.Exception is not null)
        {
            line.Append(separate ? " " : string.Empty).Append("exception=").Append(LogValues.Quote(e.Exception.ToString()));
        }

        return line.ToString();
    }

    /// <summary>TRACE, DEBUG, " INFO", " WARN", ERROR (Critical is ERROR, as upstream has no higher level).</summary>
    public static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => " INFO",
        LogLevel.Warning => " WARN",
        _ => "ERROR",
    };

    /// <summary>The hole names of a message template (<c>{Name}</c>, <c>{Name:format}</c>, <c>{Name,alignment}</c>; <c>{{</c> is a brace).</summary>
    public static HashSet<string> TemplateNames(string? template)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (template is null)
        {
            return names;
        }

        for (int i = 0; i < template.Length; i++)
        {
            if (template[i] != '{')
            {
                continue;
            }

            if (i + 1 < template.Length && template[i + 1] == '{')
            {
                i++;
                continue;
            }

            int end = template.IndexOf('}', i + 1);
            if (end < 0)
            {
                break;
            }

            string hole = template[(i + 1)..end];
            int stop = hole.IndexOfAny([',', ':']);
            names.Add((stop < 0 ? hole : hole[..stop]).Trim());
            i = end;
        }

        return names;
    }
}
