using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// tracing-subscriber 0.3's plain JSON line: <c>{"timestamp":"…","level":"INFO","fields":{"message":"…",…},"target":"…"}</c>.
/// The timestamp is UTC with six fractional digits (tracing-subscriber's <c>SystemTime</c>); <c>fields</c> holds the
/// text under <c>message</c> first (tracing's macros record it first), then the event's fields under their own names in
/// the order the state gives them (a [LoggerMessage] method's parameter order), then <c>exception</c> if there is one.
/// Finite floats stay numbers here, as tracing-serde records them.
/// </summary>
internal static class JsonLogFormatter
{
    /// <summary>Escapes only what JSON requires (quotes, backslashes, control characters), as serde_json does.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(in LogEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("level", Level(e.Level));
            json.WriteStartObject("fields");
            json.WriteString("message", e.Message);
            var written = new HashSet<string>(StringComparer.Ordinal) { "message" };
            foreach (var (name, value) in e.Fields)
            {
                if (written.Add(name) && !(name == "exception" && e.Exception is not null))
                {
                    json.WritePropertyName(name);
                    LogValues.WriteJson(json, value, floatsAsNumbers: true);
                }
            }

            if (e.Exception is not null)
            {
                json.WriteString("exception", e.Exception.ToString());
            }

            json.WriteEndObject();
            json.WriteString("target", e.Category);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>tracing's level names; Critical is ERROR.</summary>
    public static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARN",
        _ => "ERROR",
    };
}
