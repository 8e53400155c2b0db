using Firezone.Connlib.Hosting;
using Microsoft.Extensions.Logging;

namespace Firezone.Client;

/// <summary>
/// The seam between the host and the tunnel: everything around it (arguments, logging, token, id, DNS control,
/// signals, network monitor, readiness) is ready when <see cref="RunAsync"/> is called, and everything is undone by
/// the host after it returns.
/// </summary>
internal static partial class ClientTunnelRunner
{
    /// <summary>
    /// Runs the client tunnel until <paramref name="stopping"/> fires (SIGINT/SIGTERM, or <c>--exit</c> once ready:
    /// return 0) or the session disconnects for good (log "Firezone disconnected", return 1).
    /// </summary>
    /// <remarks>
    /// Not wired yet: the client session is built in parallel (src/Firezone.Connlib/Sessions). Wiring it is about this
    /// much, in this method only (names of the session API are illustrative):
    /// <code>
    /// var tun = context.OpenTun();                                     // tun-firezone, MTU 1280
    /// await using var session = new ClientSession(new ClientSessionOptions
    /// {
    ///     LoginUrl = settings.LoginUrl, UserAgent = UserAgent.ForConnlib(settings.Version), Name = settings.Name,
    ///     MaxPartitionTime = settings.MaxPartitionTime,
    /// }, tun, context.LoggerFactory, TimeProvider.System);
    /// session.InterfaceConfigChanged += (_, c) =&gt; context.SetInterface(c.IPv4, c.IPv6, c.DnsServers); // ready, READY=1, --exit
    /// session.RoutesChanged += (_, routes) =&gt; context.SetRoutes(routes);
    /// session.ResourcesChanged += (_, _) =&gt; context.ResourcesUpdated();
    /// context.ResetRequested += (_, _) =&gt; session.Reset();                       // SIGHUP, network change
    /// context.SystemResolversChanged += (_, servers) =&gt; session.SetDns(servers);  // once at start, then on change
    /// session.Start();
    /// session.SetDns(context.GetSystemResolvers());
    /// context.Start();                                                  // network monitor and resolver poll start reporting
    /// var disconnected = session.Disconnected;                          // Task&lt;DisconnectReason&gt;
    /// var finished = await Task.WhenAny(disconnected, Task.Delay(Timeout.Infinite, stopping));
    /// if (finished == disconnected) { log "Firezone disconnected: …" (warn for auth errors, else error); return 1; }
    /// return 0;                                                          // the host reverts DNS and closes the TUN
    /// </code>
    /// Exceptions from <c>context.SetInterface</c> (TUN or DNS control failed) are fatal upstream: log and return 1.
    /// </remarks>
    public static Task<int> RunAsync(ClientHostSettings settings, ClientTunnelContext context, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        TunnelNotWired(context.LoggerFactory.CreateLogger("Firezone.Client"));
        return Task.FromResult(1);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The client tunnel is not wired into this host yet (ClientSession is not available on this branch); nothing to run")]
    private static partial void TunnelNotWired(ILogger logger);
}
