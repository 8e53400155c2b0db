using System.Net;
using Microsoft.Extensions.Logging;

namespace Firezone.Gateway;

/// <summary>The gateway host's own log lines.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "firezone-gateway {Version} starting on {Arch}")]
    public static partial void Starting(ILogger logger, string version, string arch);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    public static partial void Fatal(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Health check on http://{EndPoint}/healthz")]
    public static partial void HealthCheckListening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to bind the health-check address {Address}: {Reason} (continuing without /healthz, as upstream)")]
    public static partial void HealthCheckBindFailed(ILogger logger, IPEndPoint address, string reason);
}
