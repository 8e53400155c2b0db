using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>The log lines of the host helpers.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Didn't revert `{Path}`, no backup file found at `{Backup}`")]
    public static partial void NoResolvConfBackup(ILogger logger, string path, string backup);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reverted `{Path}`")]
    public static partial void ResolvConfReverted(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "`dns_config` is empty, leaving `{Path}` unchanged")]
    public static partial void EmptyDnsConfig(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "The last run of Firezone crashed before reverting `{Path}`. Reverting it now before re-writing it.")]
    public static partial void ResolvConfLeftByCrash(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to flush DNS caches: {Reason}")]
    public static partial void FlushCachesFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Network change seen by netlink (message type {Type})")]
    public static partial void NetlinkChange(ILogger logger, int type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Netlink monitor stopped: {Reason}")]
    public static partial void NetlinkMonitorFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Caught {Signal}")]
    public static partial void CaughtSignal(ILogger logger, string signal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Caught {Signal} again, exiting at once")]
    public static partial void CaughtSignalAgain(ILogger logger, string signal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Set sysctl {Name} = {Value}")]
    public static partial void SysctlSet(ILogger logger, string name, string value);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed nftables table {Table}: forwarding and masquerading for {Interface}")]
    public static partial void NftablesInstalled(ILogger logger, string table, string @interface);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed nftables table {Table}")]
    public static partial void NftablesRemoved(ILogger logger, string table);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to remove nftables table {Table}: {Reason}")]
    public static partial void NftablesRemoveFailed(ILogger logger, string table, string reason);
}
