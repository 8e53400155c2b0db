namespace Firezone.PhoenixChannel.Protocol;

/// <summary>The lifecycle state of a channel.</summary>
internal enum ChannelState
{
    /// <summary>Not connected and not trying (initial, or after <c>Close</c>).</summary>
    Closed,
    /// <summary>An attempt is in flight, or the channel sleeps in backoff before the next one.</summary>
    Connecting,
    /// <summary>The WebSocket is open.</summary>
    Connected,
    /// <summary>A close handshake is in progress.</summary>
    Closing,
    /// <summary>A fatal error ended the channel.</summary>
    Failed,
}
