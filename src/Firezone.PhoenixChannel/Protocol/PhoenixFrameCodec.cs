using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Firezone.PhoenixChannel.Protocol;

/// <summary>Why an inbound text frame could not be decoded.</summary>
internal enum FrameDecodeError
{
    /// <summary>Decoded.</summary>
    None,
    /// <summary>Empty or truncated JSON (what an empty ping or a close frame turns into): the connection is broken.</summary>
    EndOfInput,
    /// <summary>Not a JSON object, or a member has the wrong type: skip the frame.</summary>
    Malformed,
}

/// <summary>
/// Phoenix V1 JSON framing (object form). Encoding always writes the four keys in the order
/// topic, event, payload, ref with a numeric ref; decoding accepts any key order and ignores unknown keys.
/// </summary>
internal static class PhoenixFrameCodec
{
    /// <summary>Encodes an outbound frame. <paramref name="payloadJson"/> is raw JSON (e.g. <c>null</c>, <c>{}</c>).</summary>
    public static string Encode(string topic, string @event, ReadOnlySpan<byte> payloadJson, ulong @ref)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + payloadJson.Length + topic.Length + @event.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("topic"u8, topic);
            writer.WriteString("event"u8, @event);
            writer.WritePropertyName("payload"u8);
            writer.WriteRawValue(payloadJson, skipInputValidation: false);
            writer.WriteNumber("ref"u8, @ref);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Decodes one inbound text frame. Never throws.</summary>
    public static FrameDecodeError TryDecode(ReadOnlySpan<byte> utf8, out PhoenixFrame frame)
    {
        frame = default;
        if (IsEndOfInput(utf8))
        {
            return FrameDecodeError.EndOfInput;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray());
        }
        catch (JsonException)
        {
            return FrameDecodeError.Malformed;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return FrameDecodeError.Malformed;
            }

            string? topic = null, @event = null;
            JsonElement payload = default;
            ulong? @ref = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "topic" when property.Value.ValueKind == JsonValueKind.String:
                        topic = property.Value.GetString();
                        break;
                    case "event" when property.Value.ValueKind == JsonValueKind.String:
                        @event = property.Value.GetString();
                        break;
                    case "payload":
                        payload = property.Value.Clone();
                        break;
                    case "ref" when property.Value.ValueKind == JsonValueKind.Null:
                        @ref = null;
                        break;
                    case "ref" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetUInt64(out var r):
                        @ref = r;
                        break;
                    case "topic" or "event" or "ref":
                        // Wrong type (e.g. a string ref, as the JS client would send): upstream drops the frame.
                        return FrameDecodeError.Malformed;
                    default:
                        break; // Unknown keys (e.g. join_ref) are ignored.
                }
            }

            if (topic is null || @event is null)
            {
                return FrameDecodeError.Malformed;
            }

            frame = new PhoenixFrame(topic, @event, payload, @ref);
            return FrameDecodeError.None;
        }
    }

    /// <summary>
    /// True when the text is empty/whitespace or a JSON prefix that ends before the value is complete.
    /// A non-final <see cref="Utf8JsonReader"/> stops asking for more data exactly in that case.
    /// </summary>
    internal static bool IsEndOfInput(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, isFinalBlock: false, state: default);
        try
        {
            var sawToken = false;
            while (reader.Read())
            {
                sawToken = true;
                if (reader.CurrentDepth == 0 && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray
                    or JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False
                    or JsonTokenType.Null)
                {
                    return false; // A complete top-level value.
                }
            }
            // The reader ran out of input: nothing at all, or an incomplete value (a trailing bare number also
            // lands here, since the reader cannot know it ended; treat it as complete when it parses as final).
            return !sawToken || !ParsesAsFinal(utf8);
        }
        catch (JsonException)
        {
            return false; // Malformed, not truncated.
        }
    }

    private static bool ParsesAsFinal(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, isFinalBlock: true, state: default);
        try
        {
            while (reader.Read()) { }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
