using System.Net;
using Microsoft.Extensions.Logging;

namespace Firezone.Relay;

/// <summary>The host's own log lines.</summary>
internal static partial class RelayLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "OTLP export is not built in; metrics are published on the System.Diagnostics.Metrics meter \"relay\" (use dotnet-counters or an OpenTelemetry host)")]
    public static partial void OtlpNotBuiltIn(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed to bind the listening socket: {Reason}")]
    public static partial void ListenBindFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalid portal URL {Url}: {Reason}")]
    public static partial void InvalidPortalUrl(ILogger logger, string url, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Health check on http://{EndPoint}/healthz")]
    public static partial void HealthCheckListening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed to bind the health-check address {Address}: {Reason}")]
    public static partial void HealthCheckBindFailed(ILogger logger, IPEndPoint address, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "firezone-relay {Version} started")]
    public static partial void Started(ILogger logger, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No FIREZONE_TOKEN: running standalone; credentials must be minted with the stamp secret given on the command line")]
    public static partial void Standalone(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cannot connect to the portal: {Reason}")]
    public static partial void PortalStartFailed(ILogger logger, string reason);
}
