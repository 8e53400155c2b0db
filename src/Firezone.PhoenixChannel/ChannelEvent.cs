using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Firezone.PhoenixChannel;

/// <summary>Something the channel reports to its owner. Match on the nested record types.</summary>
public abstract record ChannelEvent
{
    private ChannelEvent() { }

    /// <summary>The WebSocket handshake succeeded; the join is the first frame on the new socket.</summary>
    public sealed record Connected : ChannelEvent;

    /// <summary>
    /// The portal acknowledged a join. Upstream never reports this against the real portal (it answers joins with an
    /// empty reply, which upstream ignores and whose ref it never forgets); we report it on purpose.
    /// </summary>
    /// <param name="Topic">The joined topic.</param>
    public sealed record JoinedRoom(string Topic) : ChannelEvent;

    /// <summary>A push from the portal (any event that is not a Phoenix control event).</summary>
    /// <param name="Topic">The topic it arrived on.</param>
    /// <param name="Event">The event name, e.g. <c>init</c>.</param>
    /// <param name="Payload">The payload.</param>
    public sealed record InboundMessage(string Topic, string Event, JsonElement Payload) : ChannelEvent
    {
        /// <summary>Deserializes the payload (snake_case by default, as Firezone's portal speaks).</summary>
        /// <remarks>Reflection-based: under trimming or NativeAOT deserialize <see cref="Payload"/> with source-generated metadata instead (<c>Payload.Deserialize(MyJsonContext.Default.MyType)</c>).</remarks>
        [RequiresUnreferencedCode(PhoenixJson.ReflectionSerialization)]
        [RequiresDynamicCode(PhoenixJson.ReflectionSerialization)]
        public T? Deserialize<T>(JsonSerializerOptions? options = null) =>
            Payload.Deserialize<T>(options ?? PhoenixJson.DefaultOptions);
    }

    /// <summary>An OK reply to one of our messages.</summary>
    /// <param name="Topic">The reply's topic.</param>
    /// <param name="Ref">The request id that <c>Send</c> returned.</param>
    /// <param name="Response">The reply's <c>response</c> member.</param>
    public sealed record SuccessResponse(string Topic, ulong Ref, JsonElement Response) : ChannelEvent
    {
        /// <summary>Deserializes the response (snake_case by default).</summary>
        /// <remarks>Reflection-based: under trimming or NativeAOT deserialize <see cref="Response"/> with source-generated metadata instead (<c>Response.Deserialize(MyJsonContext.Default.MyType)</c>).</remarks>
        [RequiresUnreferencedCode(PhoenixJson.ReflectionSerialization)]
        [RequiresDynamicCode(PhoenixJson.ReflectionSerialization)]
        public T? Deserialize<T>(JsonSerializerOptions? options = null) =>
            Response.Deserialize<T>(options ?? PhoenixJson.DefaultOptions);
    }

    /// <summary>An error reply to one of our messages (not to our join: that is fatal).</summary>
    /// <param name="Topic">The reply's topic.</param>
    /// <param name="Ref">The request id that <c>Send</c> returned.</param>
    /// <param name="Reason">The reason, classified.</param>
    /// <param name="ReasonText">The reason as the portal wrote it.</param>
    public sealed record ErrorResponse(string Topic, ulong Ref, ErrorReason Reason, string ReasonText) : ChannelEvent;

    /// <summary>A heartbeat was queued (every 30 s while connected).</summary>
    public sealed record HeartbeatSent : ChannelEvent;

    /// <summary>The connection failed or broke; the channel retries after <paramref name="RetryIn"/>.</summary>
    /// <param name="Error">What went wrong.</param>
    /// <param name="RetryIn">The backoff delay before the next attempt.</param>
    public sealed record Reconnecting(string Error, TimeSpan RetryIn) : ChannelEvent;

    /// <summary>The channel was closed by <c>CloseAsync</c>.</summary>
    public sealed record Closed : ChannelEvent;

    /// <summary>A fatal error ended the channel; it will not reconnect until <c>ConnectAsync</c> is called again.</summary>
    /// <param name="Error">The error.</param>
    public sealed record Failed(PhoenixChannelException Error) : ChannelEvent;
}
