using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// hosts-and-tun.md §5.3 (tracing-stackdriver): keys in the order <c>time</c> (RFC 3339 UTC, fractional seconds
/// with trailing zeros trimmed and left out when zero; .NET clocks give at most 7 digits), <c>target</c>,
/// <c>severity</c>, then the event's fields sorted by their original names with keys in camelCase, the text under
/// <c>message</c> (sorted like any field). There is no <c>logging.googleapis.com/sourceLocation</c> (a .NET log call
/// carries no source file and line) and no <c>span</c>/<c>spans</c> (scopes are not recorded). Integers and booleans
/// stay JSON numbers/booleans, strings stay strings, everything else (floats too) becomes a string. As upstream: a field
/// named <c>severity</c> overrides the severity, <c>insert_id</c> becomes <c>logging.googleapis.com/insertId</c>,
/// <c>http_request.*</c> fields are nested under <c>httpRequest</c> and <c>labels.*</c> fields (as strings) under
/// <c>logging.googleapis.com/labels</c>.
/// </summary>
internal static class GoogleCloudLogFormatter
{
    private static readonly ConcurrentDictionary<string, string> CamelCaseCache = new(StringComparer.Ordinal);

    public static string Format(in LogEvent e)
    {
        var fields = e.SortedFieldsWithMessage();
        string severity = fields.Remove("severity", out object? overridden) ? SeverityFrom(overridden) : Severity(e.Level);
        SortedDictionary<string, object?>? httpRequest = null;
        SortedDictionary<string, string>? labels = null;

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, JsonLogFormatter.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("time", Time(e.Time));
            json.WriteString("target", e.Category);
            json.WriteString("severity", severity);
            foreach (var (name, value) in fields)
            {
                int dot = name.IndexOf('.', StringComparison.Ordinal);
                string head = dot < 0 ? name : name[..dot];
                if (dot >= 0 && head == "http_request")
                {
                    (httpRequest ??= new(StringComparer.Ordinal))[CamelCase(name[(dot + 1)..])] = value;
                    continue;
                }

                if (dot >= 0 && head == "labels")
                {
                    (labels ??= new(StringComparer.Ordinal))[CamelCase(name[(dot + 1)..])] = Text(value);
                    continue;
                }

                if (name == "insert_id")
                {
                    json.WriteString("logging.googleapis.com/insertId", Text(value));
                    continue;
                }

                json.WritePropertyName(CamelCase(name));
                LogValues.WriteJson(json, value, floatsAsNumbers: false);
            }

            if (httpRequest is not null)
            {
                json.WriteStartObject("httpRequest");
                foreach (var (name, value) in httpRequest)
                {
                    json.WritePropertyName(name);
                    LogValues.WriteJson(json, value, floatsAsNumbers: false);
                }

                json.WriteEndObject();
            }

            if (labels is not null)
            {
                json.WriteStartObject("logging.googleapis.com/labels");
                foreach (var (name, value) in labels)
                {
                    json.WriteString(name, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>RFC 3339 in UTC, fractional seconds with trailing zeros trimmed (none when zero), <c>Z</c>.</summary>
    public static string Time(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        string seconds = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        long fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        return fraction == 0
            ? seconds + "Z"
            : seconds + "." + fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0') + "Z";
    }

    /// <summary>DEBUG for Trace and Debug, INFO, WARNING, ERROR for Error and Critical.</summary>
    public static string Severity(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARNING",
        _ => "ERROR",
    };

    /// <summary>tracing-stackdriver's reading of a <c>severity</c> field: a known name in any case, else DEFAULT.</summary>
    private static string SeverityFrom(object? value) => (value as string)?.ToLowerInvariant() switch
    {
        "debug" or "trace" => "DEBUG",
        "info" => "INFO",
        "notice" => "NOTICE",
        "warn" or "warning" => "WARNING",
        "error" => "ERROR",
        "critical" => "CRITICAL",
        "alert" => "ALERT",
        "emergency" => "EMERGENCY",
        _ => "DEFAULT",
    };

    // A non-string insert id or label is written as its JSON text (42, true, null), as serde_json's Value::to_string.
    private static string Text(object? value) => value switch
    {
        string s => s,
        null => "null",
        bool b => b ? "true" : "false",
        sbyte or short or int or long or byte or ushort or uint or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        _ => LogValues.Display(value),
    };

    /// <summary>
    /// camelCase as Inflector's <c>to_camel_case</c>: words split at non-alphanumeric characters, at a lower-case letter
    /// or digit followed by an upper-case one, and before the last capital of a capital run followed by a lower-case
    /// letter; the first word lower-case, the others capitalised (<c>iface_idx</c> → <c>ifaceIdx</c>, <c>a.b</c> →
    /// <c>aB</c>, <c>EndPoint</c> → <c>endPoint</c>, <c>IPAddress</c> → <c>ipAddress</c>). A name without letters or
    /// digits stays as it is.
    /// </summary>
    public static string CamelCase(string name) => CamelCaseCache.GetOrAdd(name, static name =>
    {
        var words = new List<string>();
        var word = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (!char.IsLetterOrDigit(c))
            {
                Flush();
                continue;
            }

            if (char.IsUpper(c) && word.Length > 0)
            {
                char previous = word[^1];
                bool nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (!char.IsUpper(previous) || nextIsLower)
                {
                    Flush();
                }
            }

            word.Append(c);
        }

        Flush();
        if (words.Count == 0)
        {
            return name;
        }

        var result = new StringBuilder(name.Length).Append(words[0].ToLowerInvariant());
        foreach (string w in words.Skip(1))
        {
            result.Append(char.ToUpperInvariant(w[0])).Append(w[1..].ToLowerInvariant());
        }

        return result.ToString();

        void Flush()
        {
            if (word.Length > 0)
            {
                words.Add(word.ToString());
                word.Clear();
            }
        }
    });
}
