using Firezone.Connlib.Hosting;
using Microsoft.Extensions.Logging;

namespace Firezone.Gateway;

/// <summary>The seam between the gateway host and its tunnel (see <see cref="RunAsync"/>).</summary>
internal static partial class GatewayTunnelRunner
{
    /// <summary>
    /// Runs the gateway tunnel until <paramref name="stopping"/> fires (SIGINT or SIGTERM: return 0) or a fatal error
    /// (log one line, return 1). The portal is retried forever.
    /// </summary>
    /// <remarks>
    /// Not wired yet: the gateway session is built in parallel (src/Firezone.Connlib/Sessions). Wiring it is about this
    /// much, in this method only (names of the session API are illustrative):
    /// <code>
    /// var tun = context.OpenTun();                                // created at once; addresses come with init
    /// await using var session = new GatewaySession(new GatewaySessionOptions
    /// {
    ///     LoginUrl = settings.LoginUrl, UserAgent = UserAgent.ForConnlib(settings.Version), Name = settings.Name,
    ///     ResolveAsync = context.DnsResolver.ResolveAsync,              // 10 s, at most 1000 in flight
    /// }, tun, context.LoggerFactory, TimeProvider.System);
    /// session.InterfaceConfigChanged += (_, c) =&gt; context.SetInterface(c.IPv4, c.IPv6); // addresses + routes, warns
    /// session.Start();
    /// var failed = session.Completion;                             // Task that faults on a fatal error
    /// var finished = await Task.WhenAny(failed, Task.Delay(Timeout.Infinite, stopping));
    /// if (finished == failed &amp;&amp; failed.IsFaulted) { log the error on one line; return 1; }
    /// return 0;                                                     // graceful on SIGTERM too (upstream quirk fixed)
    /// </code>
    /// </remarks>
    public static Task<int> RunAsync(GatewayHostSettings settings, GatewayTunnelContext context, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        TunnelNotWired(context.LoggerFactory.CreateLogger("Firezone.Gateway"));
        return Task.FromResult(1);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The gateway tunnel is not wired into this host yet (GatewaySession is not available on this branch); nothing to run")]
    private static partial void TunnelNotWired(ILogger logger);
}
