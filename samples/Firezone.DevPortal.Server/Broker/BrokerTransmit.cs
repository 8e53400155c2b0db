using System.Text.Json.Nodes;

namespace Firezone.DevPortal.Broker;

/// <summary>
/// A frame the broker wants sent: to <paramref name="Session"/>, on <paramref name="Topic"/>. Pushes have a null
/// <paramref name="Ref"/>; replies are event <c>phx_reply</c> with <c>{"status", "response"}</c> and the request's ref.
/// </summary>
/// <param name="Session">The session (<see cref="PortalSession.Id"/>).</param>
/// <param name="Topic">The topic.</param>
/// <param name="Event">The event.</param>
/// <param name="Payload">The payload.</param>
/// <param name="Ref">The ref (replies) or null (pushes).</param>
public sealed record BrokerTransmit(long Session, string Topic, string Event, JsonNode? Payload, ulong? Ref)
{
    /// <summary>True for a <c>disconnect</c> push, after which the session is to be closed.</summary>
    public bool ClosesSession => Event == "disconnect";
}
