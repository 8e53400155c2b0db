using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Firezone.Connlib.Logging;

/// <summary>
/// How a field value is written. Integers and booleans stay JSON numbers and booleans, strings stay strings, and
/// everything else becomes its display text (invariant culture; sequences joined with ", " as in the message) — as
/// tracing records <c>i64</c>/<c>u64</c>/<c>bool</c>/<c>&amp;str</c> and formats the rest. Null (which tracing cannot
/// record) is JSON <c>null</c> and <c>(null)</c> in text.
/// </summary>
internal static class LogValues
{
    /// <summary>Writes <paramref name="value"/> as a JSON value; finite floats as numbers only when <paramref name="floatsAsNumbers"/>.</summary>
    public static void WriteJson(Utf8JsonWriter json, object? value, bool floatsAsNumbers)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case string s:
                json.WriteStringValue(s);
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case sbyte or short or int or long:
                json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case byte or ushort or uint or ulong:
                json.WriteNumberValue(Convert.ToUInt64(value, CultureInfo.InvariantCulture));
                break;
            case double d when floatsAsNumbers:
                WriteFloat(json, d);
                break;
            case float f when floatsAsNumbers:
                WriteFloat(json, f);
                break;
            default:
                json.WriteStringValue(Display(value));
                break;
        }
    }

    // serde_json turns a non-finite float into null.
    private static void WriteFloat(Utf8JsonWriter json, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumberValue(value);
        }
        else
        {
            json.WriteNullValue();
        }
    }

    /// <summary>The human format's rendering: strings quoted and escaped (Rust debug style), everything else as display text.</summary>
    public static string Human(object? value) => value switch
    {
        string s => Quote(s),
        bool b => b ? "true" : "false",
        _ => Display(value),
    };

    /// <summary>Display text: invariant formatting, sequences joined with ", ", null as <c>(null)</c>.</summary>
    public static string Display(object? value) => value switch
    {
        null => "(null)",
        string s => s,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable sequence => string.Join(", ", sequence.Cast<object?>().Select(Display)),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Quotes <paramref name="text"/> with <c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\r</c>, <c>\t</c> and <c>\u{…}</c> escapes for other control characters.</summary>
    public static string Quote(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:x}}}");
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }
}
