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
}
