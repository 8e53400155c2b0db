using System.Net;
using System.Runtime.InteropServices;
using Firezone.Connlib.Relay;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;

namespace ReadmeExamples;

/// <summary>The relay code blocks of src/Firezone.Connlib/README.md (fragments: the variables they use are parameters).</summary>
public static class ConnlibRelayReadme
{
    public static async Task RelaySessionExample(string secret, ILoggerFactory loggerFactory)
    {
        #region readme: src/Firezone.Connlib/README.md
        await using var session = new RelaySession(new RelaySessionOptions
        {
            Server = new TurnServerOptions { PublicIPv4 = IPAddress.Parse("203.0.113.10"), AuthSecret = secret },
            ListenAddresses = [IPAddress.Loopback], // at most one per family; empty: the wildcard of each public family
        }, loggerFactory);
        session.Start();
        #endregion
    }

    public static async Task<int> RelayShutdownExample(RelaySession session, RelayPortalConnection? portal, ILoggerFactory loggerFactory)
    {
        #region readme: src/Firezone.Connlib/README.md
        using var shutdown = new RelayShutdown(session, portal, loggerFactory); // portal null: standalone
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            shutdown.RequestTermination();
        });
        return await shutdown.Completion;
        #endregion
    }
}
