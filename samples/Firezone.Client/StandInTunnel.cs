using System.Net;
using Firezone.Connlib.Hosting;

namespace Firezone.Client;

/// <summary>
/// The hidden <c>--no-tunnel</c> mode, for tests of the host itself: instead of a session, reports the interface a
/// portal would assign and its first routes — with the DNS sentinels as DNS servers, so DNS control really rewrites the system's DNS — and
/// then waits for SIGINT/SIGTERM (or returns at once with <c>--exit</c>). No TUN device is created.
/// </summary>
internal static class StandInTunnel
{
    public static readonly IPAddress[] Sentinels = [IPAddress.Parse("100.100.111.1"), IPAddress.Parse("fd00:2021:1111:8000:100:100:111:0")];

    public static async Task<int> RunAsync(ClientTunnelContext context, CancellationToken stopping)
    {
        context.Start();
        context.SetInterface(IPAddress.Parse("100.64.0.1"), IPAddress.Parse("fd00:2021:1111::1"), Sentinels);
        context.SetRoutes([IPNetwork.Parse("100.96.0.0/11"), IPNetwork.Parse("100.100.111.0/24")]); // a session's first routes
        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    /// <summary>A TUN that is never created: addresses and routes are accepted and ignored.</summary>
    public sealed class NoTun : IHostTun
    {
        public Firezone.Tun.ITun Open() => throw new InvalidOperationException("--no-tunnel: there is no TUN device");

        public void SetAddresses(IPAddress? ipv4, IPAddress? ipv6)
        {
        }

        public void SetRoutes(IReadOnlyCollection<IPNetwork> routes)
        {
        }

        public void Dispose()
        {
        }
    }
}
