namespace Firezone.PhoenixChannel.Protocol;

/// <summary>The kind of a queued outbound frame.</summary>
internal enum OutboundKind
{
    /// <summary>An application message from <c>Send</c>.</summary>
    Message,
    /// <summary>A <c>phx_join</c>.</summary>
    Join,
    /// <summary>A heartbeat on topic <c>phoenix</c>.</summary>
    Heartbeat,
}

/// <summary>An encoded frame waiting in the send queue.</summary>
internal readonly record struct OutboundMessage(ulong Ref, string Text, OutboundKind Kind);
