using Firezone.Connlib.Hosting;
using Firezone.Connlib.Sessions;
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
    /// Runs a <see cref="ClientSession"/> on the host's TUN device until <paramref name="stopping"/> fires (SIGINT/SIGTERM,
    /// or <c>--exit</c> once ready: return 0), the session disconnects for good ("Firezone disconnected", return 1), or
    /// applying its interface config fails (fatal as upstream: return 1).
    /// </summary>
    public static async Task<int> RunAsync(ClientHostSettings settings, ClientTunnelContext context, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.LoggerFactory.CreateLogger("Firezone.Client");
        var fatal = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var tun = context.OpenTun(); // tun-firezone, MTU 1280
        await using var session = new ClientSession(new ClientSessionOptions
        {
            ApiUrl = settings.ApiUrl,
            Token = settings.Token,
            FirezoneId = settings.FirezoneId,
            DeviceName = settings.Name,
            DeviceInfo = settings.Device,
            Tun = tun,
            MaxPartitionTime = settings.MaxPartitionTime,
            SystemDnsServers = context.GetSystemResolvers(),
            Version = settings.Version,
            SocketMark = Firezone.Tun.Netlink.TunDeviceManager.FirezoneFwmark, // the tunnel's own traffic bypasses Firezone's routes
        }, context.LoggerFactory);
        session.InterfaceConfigUpdated += (_, c) => Guard(fatal, () => context.SetInterface(c.IPv4, c.IPv6, c.DnsServers));
        session.RoutesUpdated += (_, r) => Guard(fatal, () => context.SetRoutes([.. r.IPv4Routes, .. r.IPv6Routes]));
        session.ResourcesUpdated += (_, _) => Guard(fatal, context.ResourcesUpdated);
        context.ResetRequested += (_, _) => session.Reset(); // SIGHUP, network change
        context.SystemResolversChanged += (_, servers) => session.SetDns(servers);
        session.Start();
        context.Start(); // the network monitor and the resolver poll start reporting

        var stopped = Task.Delay(Timeout.Infinite, stopping);
        var finished = await Task.WhenAny(session.Completion, fatal.Task, stopped).ConfigureAwait(false);
        if (finished == fatal.Task)
        {
            ApplyFailed(logger, fatal.Task.Result.Message);
            return 1;
        }

        if (finished == session.Completion && session.Completion.Result is { Reason: not SessionEndReason.Stopped } end)
        {
            if (end.IsAuthenticationError)
            {
                DisconnectedAuth(logger, end.Error?.Message ?? end.Reason.ToString());
            }
            else
            {
                Disconnected(logger, end.Error?.Message ?? end.Reason.ToString());
            }

            return 1;
        }

        return 0; // the host reverts DNS and closes the TUN
    }

    private static void Guard(TaskCompletionSource<Exception> fatal, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            fatal.TrySetResult(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Applying the tunnel's interface config failed: {Reason}")]
    private static partial void ApplyFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Firezone disconnected: {Reason}")]
    private static partial void Disconnected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firezone disconnected (sign in again): {Reason}")]
    private static partial void DisconnectedAuth(ILogger logger, string reason);
}
