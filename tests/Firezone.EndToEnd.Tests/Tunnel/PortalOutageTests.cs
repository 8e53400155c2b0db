using System.Diagnostics;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 3, the portal outage: with a download and pings flowing, the dev portal is stopped (SIGTERM) for 60 s.
/// The tunnel keeps carrying both; when the portal comes back (same config, so the same ids) the client, the gateway
/// and the relay rejoin (times reported), the download completes intact and a resource not used before still gets access through it.
/// </summary>
public sealed class PortalOutageTests
{
    [Fact]
    public async Task The_tunnel_keeps_working_while_the_portal_is_down_for_60_s_and_both_hosts_rejoin_when_it_returns()
    {
        TunnelTopology.SkipUnlessAvailable("curl", "python3");
        await using var net = await TunnelTopology.StartAsync();
        net.ServeRandomFile(32 * 1024 * 1024);
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30)), net.ToString());

        // 32 MiB at 300 KiB/s: about 110 s (curl overshoots its limit by up to a third under load), so it spans the outage.
        var download = net.StartDownload(TunnelTopology.ResourceHost, "300K", maxSeconds: 300);
        var oldPortal = net.PortalHost!;
        oldPortal.Signal(15);
        Assert.True(await oldPortal.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the portal did not stop");
        var outage = Stopwatch.StartNew();
        int sent = 0, answered = 0;
        while (outage.Elapsed < TimeSpan.FromSeconds(60))
        {
            sent++;
            answered += net.Ping(TunnelTopology.ResourceHost) ? 1 : 0; // a resource in use: a new one would need the portal
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        }

        TestContext.Current.SendDiagnosticMessage($"portal down {outage.Elapsed.TotalSeconds:F0} s: {answered}/{sent} pings answered, download running: {!download.HasEnded}");
        Assert.True(answered >= sent - 1, $"only {answered} of {sent} pings answered while the portal was down:\n{net}");
        Assert.False(download.HasEnded, $"the download ended during the outage: {download}\n{net}");

        var back = Stopwatch.StartNew();
        await net.StartPortalAsync();
        Assert.True(await WaitForJoinAsync(net, "Gateway", TimeSpan.FromSeconds(60)), "the gateway did not rejoin:\n" + net);
        TimeSpan gateway = back.Elapsed;
        Assert.True(await WaitForJoinAsync(net, "Client", TimeSpan.FromSeconds(60)), "the client did not rejoin:\n" + net);
        TimeSpan client = back.Elapsed;
        Assert.True(await WaitForJoinAsync(net, "Relay", TimeSpan.FromSeconds(60)), "the relay did not rejoin:\n" + net);
        TestContext.Current.SendDiagnosticMessage($"after the portal returned: gateway joined {gateway.TotalSeconds:F1} s, client {client.TotalSeconds:F1} s, relay {back.Elapsed.TotalSeconds:F1} s");

        download.AssertCompletesIntact(TimeSpan.FromSeconds(200));

        // A resource not used before needs a new authorization through the returned portal: the DNS resource by name.
        net.DownloadIntact(TunnelTopology.WebName, maxSeconds: 60);
    }

    /// <summary>Waits for the portal's "&lt;Who&gt; … joined" line (BrokerLog).</summary>
    private static Task<bool> WaitForJoinAsync(TunnelTopology net, string who, TimeSpan limit) =>
        WaitForAsync(() => net.PortalHost!.Output.Split('\n').Any(l => l.Contains(who + " ", StringComparison.Ordinal) && l.Contains(" joined", StringComparison.Ordinal)), limit);

    private static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
