using Firezone.Connlib.Hosting;
using Firezone.Connlib.Sessions;
using Microsoft.Extensions.Logging;

namespace Firezone.Gateway;

/// <summary>The seam between the gateway host and its tunnel (see <see cref="RunAsync"/>).</summary>
internal static partial class GatewayTunnelRunner
{
    /// <summary>
    /// Runs a <see cref="GatewaySession"/> on the host's TUN device until <paramref name="stopping"/> fires (SIGINT or
    /// SIGTERM: return 0; graceful on SIGTERM too, upstream's quirk fixed) or the session ends on a fatal error (one log
    /// line, return 1). The portal is retried as the session's reconnect policy says.
    /// </summary>
    public static async Task<int> RunAsync(GatewayHostSettings settings, GatewayTunnelContext context, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.LoggerFactory.CreateLogger("Firezone.Gateway");
        var tun = context.OpenTun(); // created at once; addresses come with init
        await using var session = new GatewaySession(new GatewaySessionOptions
        {
            ApiUrl = settings.ApiUrl,
            Token = settings.Token,
            FirezoneId = settings.FirezoneId,
            Name = settings.Name,
            Tun = tun,
            ResolveName = context.DnsResolver.ResolveAsync, // its own timeout and cap (getaddrinfo-style)
            ResolveTimeout = context.DnsResolver.Timeout,
            Version = settings.Version,
            SocketMark = Firezone.Tun.Netlink.TunDeviceManager.FirezoneFwmark, // the tunnel's own traffic bypasses Firezone's routes
        }, context.LoggerFactory);
        session.InterfaceConfigUpdated += (_, c) => context.SetInterface(c.IPv4, c.IPv6); // addresses + routes; failures warn
        session.Start();

        var finished = await Task.WhenAny(session.Completion, Task.Delay(Timeout.Infinite, stopping)).ConfigureAwait(false);
        if (finished == session.Completion && session.Completion.Result is { Reason: not SessionEndReason.Stopped } end)
        {
            Failed(logger, end.Reason.ToString(), end.Error?.Message ?? "");
            return 1;
        }

        return 0;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The gateway stopped: {Reason} {Detail}")]
    private static partial void Failed(ILogger logger, string reason, string detail);
}
