using Microsoft.Extensions.Logging;

namespace Firezone.Client;

/// <summary>The host's own log lines (upstream's texts where it has them).</summary>
internal static partial class ClientLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "firezone-headless-client {Version} starting on {Arch}")]
    public static partial void Starting(ILogger logger, string arch, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Check passed")]
    public static partial void CheckPassed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    public static partial void Fatal(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Network change monitoring is unavailable: {Reason}")]
    public static partial void NoNetworkMonitor(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writing logs to {Jsonl} and {Human}")]
    public static partial void LogFiles(ILogger logger, string jsonl, string human);
}
