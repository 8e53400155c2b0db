using System.Text.Json;

namespace Firezone.PhoenixChannel.Protocol;

/// <summary>
/// One Phoenix V1 frame: a JSON object with <c>topic</c>, <c>event</c>, <c>payload</c> and <c>ref</c>.
/// </summary>
/// <param name="Topic">The channel topic (<c>client</c>, <c>gateway</c>, <c>relay</c> or <c>phoenix</c>).</param>
/// <param name="Event">The event name.</param>
/// <param name="Payload">The payload (any JSON value; <see cref="JsonValueKind.Undefined"/> when absent).</param>
/// <param name="Ref">The request id: a number on everything we send, <c>null</c> on server pushes.</param>
internal readonly record struct PhoenixFrame(string Topic, string Event, JsonElement Payload, ulong? Ref);
