namespace Firezone.Connlib.Messages;

/// <summary>Why a portal message could not be decoded.</summary>
public enum MessageErrorKind
{
    /// <summary>The event name is not one of the topic's messages (upstream logs and drops it).</summary>
    UnknownEvent,

    /// <summary>The event is known but its payload does not have the message's shape; the whole message is dropped.</summary>
    InvalidPayload,
}

/// <summary>
/// A portal message that could not be decoded, as a value: the decoders never throw on what the portal (or a client
/// or gateway, on the portal's side) sends. The caller logs it and drops the message.
/// </summary>
/// <param name="Kind">Unknown event or invalid payload.</param>
/// <param name="Event">The event name (<c>phx_reply</c> for a reply).</param>
/// <param name="Detail">What was wrong, with the JSON path where known (e.g. <c>$.resources[0].address</c>).</param>
public sealed record MessageError(MessageErrorKind Kind, string Event, string Detail)
{
    /// <summary>One line for a log.</summary>
    public override string ToString() => Kind == MessageErrorKind.UnknownEvent
        ? $"unknown event '{Event}'"
        : $"invalid '{Event}' payload: {Detail}";
}
