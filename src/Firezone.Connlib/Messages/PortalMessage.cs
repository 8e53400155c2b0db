using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Firezone.Connlib.Messages;

/// <summary>
/// One message of the portal protocol (phoenix-and-portal spec §6–§9): a push from the portal, a message a client or
/// gateway sends, or an OK reply. <see cref="Event"/> names it on the wire and <see cref="ToPayload"/> gives its payload,
/// so the same value serves both sides (a host sends what the portal decodes, and the other way round).
/// </summary>
/// <remarks>
/// Records compare lists by reference; compare the payloads (or the list contents) to compare two decoded messages.
/// Send one with <c>channel.Send(message.Event, message.ToPayload())</c>; decode with <see cref="PortalMessages"/>.
/// </remarks>
public abstract record PortalMessage
{
    private protected PortalMessage()
    {
    }

    /// <summary>The event name (<c>phx_reply</c> for the replies <see cref="ConnectionDetails"/> and <see cref="Connect"/>, <c>phx_join</c> for <see cref="RelayJoin"/>).</summary>
    public abstract string Event { get; }

    /// <summary>The payload as upstream serialises it: snake_case keys, absent optionals as <c>null</c>, ids lowercase hyphenated.</summary>
    public JsonNode ToPayload() => JsonSerializer.SerializeToNode(Encode(), Wire.WireContext.Default.JsonElement)!;

    /// <summary>The payload as UTF-8 JSON bytes.</summary>
    public byte[] ToUtf8Bytes() => JsonSerializer.SerializeToUtf8Bytes(Encode(), Wire.WireContext.Default.JsonElement);

    internal abstract JsonElement Encode();
}

/// <summary>
/// What a decoder of <see cref="PortalMessages"/> made of a payload: the message or why there is none. Decoders never
/// throw on what the other side sends; log <see cref="Error"/> and drop the message.
/// </summary>
public readonly struct Decoded
{
    private static readonly MessageError NothingDecoded = new(MessageErrorKind.InvalidPayload, string.Empty, "nothing was decoded (a default value)");
    private readonly MessageError? _error;

    private Decoded(PortalMessage? message, MessageError? error)
    {
        Message = message;
        _error = error;
    }

    /// <summary>The message, when decoding succeeded.</summary>
    public PortalMessage? Message { get; }

    /// <summary>Why decoding failed, when it did (also set on a <c>default</c> value).</summary>
    public MessageError? Error => Message is null ? _error ?? NothingDecoded : null;

    /// <summary>True when <see cref="Message"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Message))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Message is not null;

    /// <summary>A success.</summary>
    public static Decoded Success(PortalMessage message) => new(message ?? throw new ArgumentNullException(nameof(message)), null);

    /// <summary>A failure.</summary>
    public static Decoded Failure(MessageError error) => new(null, error ?? throw new ArgumentNullException(nameof(error)));

    /// <summary>The message if decoding succeeded and it is a <typeparamref name="T"/>.</summary>
    public bool TryGet<T>([NotNullWhen(true)] out T? message)
        where T : PortalMessage
    {
        message = Message as T;
        return message is not null;
    }

    /// <inheritdoc/>
    public override string ToString() => IsSuccess ? Message.ToString() : Error.ToString();
}
