using Microsoft.Extensions.Logging;

namespace Firezone.Snownet.WireGuard;

/// <summary>Source-generated log messages of the WireGuard tunnel (nothing above Trace per packet, nor per handshake message a peer can flood, such as the cookie replies under load).</summary>
internal static partial class WireGuardLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "WireGuard handshake initiation sent (index {LocalIndex:X8})")]
    public static partial void InitiationSent(ILogger logger, uint localIndex);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "WireGuard session established as {Role} (local {LocalIndex:X8}, remote {RemoteIndex:X8})")]
    public static partial void SessionEstablished(ILogger logger, string role, uint localIndex, uint remoteIndex);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Trace, Message = "WireGuard datagram dropped: {Reason}")]
    public static partial void Dropped(ILogger logger, WireGuardError reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Trace, Message = "WireGuard under load: cookie reply sent")]
    public static partial void CookieReplySent(ILogger logger);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "WireGuard connection expired")]
    public static partial void ConnectionExpired(ILogger logger);
}
