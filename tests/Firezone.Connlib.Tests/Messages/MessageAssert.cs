using System.Collections;
using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>Helpers: decode or fail, compare messages structurally (lists by content), compare JSON as trees.</summary>
internal static class MessageAssert
{
    public static JsonElement Json(string text) => JsonElement.Parse(text);

    public static T Decodes<T>(Decoded decoded)
        where T : PortalMessage
    {
        Assert.True(decoded.IsSuccess, decoded.Error?.ToString());
        return Assert.IsType<T>(decoded.Message);
    }

    public static MessageError Fails(Decoded decoded, MessageErrorKind kind = MessageErrorKind.InvalidPayload)
    {
        Assert.False(decoded.IsSuccess, $"decoded to {decoded.Message}");
        Assert.Equal(kind, decoded.Error.Kind);
        return decoded.Error;
    }

    /// <summary>Same JSON tree (object key order aside).</summary>
    public static void SameJson(string expected, JsonNode actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {JsonNode.Parse(expected)!.ToJsonString()}\n  actual {actual.ToJsonString()}");

    /// <summary>Deep equality: value types, strings and addresses by Equals, sequences element by element, other objects property by property.</summary>
    public static void StructurallyEqual(object? expected, object? actual, string path = "$")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: {expected ?? "null"} vs {actual ?? "null"}");
            return;
        }

        if (expected is IPAddress or IPEndPoint)
        {
            Assert.True(expected.Equals(actual), $"{path}: {expected} vs {actual}");
            return;
        }

        Assert.True(expected.GetType() == actual.GetType(), $"{path}: {expected.GetType().Name} vs {actual.GetType().Name}");
        var type = expected.GetType();
        if (type.IsValueType || expected is string)
        {
            Assert.True(expected.Equals(actual), $"{path}: {expected} vs {actual}");
            return;
        }

        if (expected is IEnumerable e && actual is IEnumerable a)
        {
            var x = e.Cast<object?>().ToList();
            var y = a.Cast<object?>().ToList();
            Assert.True(x.Count == y.Count, $"{path}: {x.Count} vs {y.Count} items");
            for (int i = 0; i < x.Count; i++)
            {
                StructurallyEqual(x[i], y[i], $"{path}[{i}]");
            }

            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0)
            {
                StructurallyEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
            }
        }
    }
}
