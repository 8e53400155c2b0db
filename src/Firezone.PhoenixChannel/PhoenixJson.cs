using System.Text.Json;

namespace Firezone.PhoenixChannel;

/// <summary>JSON settings that match Firezone's portal.</summary>
public static class PhoenixJson
{
    /// <summary>snake_case property names, case-sensitive, nulls written (the portal expects absent optionals as <c>null</c>).</summary>
    public static JsonSerializerOptions DefaultOptions { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>The reason given on the members that serialize with reflection over a <see cref="JsonSerializerOptions"/>.</summary>
    internal const string ReflectionSerialization =
        "Serializes with reflection over JsonSerializerOptions; under trimming or NativeAOT use the overload that takes a JsonTypeInfo<T> (System.Text.Json source generation) or a JsonNode/JsonElement.";
}
