using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Firezone.DevPortal;

[JsonSerializable(typeof(JsonNode))]
internal sealed partial class DevPortalJsonContext : JsonSerializerContext;
