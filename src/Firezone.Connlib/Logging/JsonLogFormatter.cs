using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// tracing-subscriber's plain JSON line: <c>{"timestamp":"…","level":"INFO","fields":{…},"target":"…"}</c>. The
/// timestamp is UTC with six fractional digits (tracing-subscriber's <c>SystemTime</c>); <c>fields</c> holds the
/// event's fields under their own names, sorted by name, with the text under <c>message</c> (finite floats stay numbers
/// here, as tracing-subscriber's JSON visitor keeps them).
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
            foreach (var (name, value) in e.SortedFieldsWithMessage())
            {
                json.WritePropertyName(name);
                LogValues.WriteJson(json, value, floatsAsNumbers: true);
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
