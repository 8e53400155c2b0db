using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>The hosts' own log lines, with upstream's texts where it has them.</summary>
internal static partial class HostLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Tunnel ready (elapsed {Elapsed})")]
    public static partial void TunnelReady(ILogger logger, TimeSpan elapsed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exiting due to `--exit` CLI flag")]
    public static partial void ExitingOnExitFlag(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resetting Session ({Reason})")]
    public static partial void Resetting(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Couldn't read the system resolvers: {Reason}")]
    public static partial void ResolversUnreadable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Couldn't set up the TUN interface: {Reason}")]
    public static partial void GatewayInterfaceFailed(ILogger logger, string reason);
}
