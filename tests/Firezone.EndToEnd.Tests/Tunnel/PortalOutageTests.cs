using System.Diagnostics;
using System.Security.Cryptography;

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
        var file = RandomNumberGenerator.GetBytes(16 * 1024 * 1024);
        File.WriteAllBytes(net.Files.File("file.bin"), file);
        net.ServeHttp(net.Files.Path);
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30)), net.ToString());

        // 16 MiB at 200 KiB/s: about 80 s, so it spans the whole outage.
        var curl = net.Background(net.Client, "curl", "-sS", "--limit-rate", "200K", "--max-time", "240", "-o", net.Files.File("out.bin"), $"http://{TunnelTopology.ResourceHost}:8000/file.bin");
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

        TestContext.Current.SendDiagnosticMessage($"portal down {outage.Elapsed.TotalSeconds:F0} s: {answered}/{sent} pings answered, download running: {!curl.HasExited}");
        Assert.True(answered >= sent - 1, $"only {answered} of {sent} pings answered while the portal was down:\n{net}");
        Assert.False(curl.HasExited, $"the download ended during the outage (exit {(curl.HasExited ? curl.ExitCode : 0)}):\n{net}");

        var back = Stopwatch.StartNew();
        await net.StartPortalAsync();
        Assert.True(await WaitForJoinAsync(net, "Gateway", TimeSpan.FromSeconds(60)), "the gateway did not rejoin:\n" + net);
        TimeSpan gateway = back.Elapsed;
        Assert.True(await WaitForJoinAsync(net, "Client", TimeSpan.FromSeconds(60)), "the client did not rejoin:\n" + net);
        TimeSpan client = back.Elapsed;
        Assert.True(await WaitForJoinAsync(net, "Relay", TimeSpan.FromSeconds(60)), "the relay did not rejoin:\n" + net);
        TestContext.Current.SendDiagnosticMessage($"after the portal returned: gateway joined {gateway.TotalSeconds:F1} s, client {client.TotalSeconds:F1} s, relay {back.Elapsed.TotalSeconds:F1} s");

        Assert.True(curl.WaitForExit(TimeSpan.FromSeconds(200)), "the download did not finish");
        Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}:\n{net}");
        Assert.Equal(Convert.ToHexString(SHA256.HashData(file)), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(net.Files.File("out.bin")))));

        // A resource not used before needs a new authorization through the returned portal: the DNS resource by name.
        var (exit, log) = TunnelTopology.Run(net.Client, "curl", "-sS", "--retry", "5", "--retry-all-errors", "--max-time", "60", "-o", "/dev/null", $"http://{TunnelTopology.WebName}:8000/file.bin");
        Assert.True(exit == 0, $"no new access after the portal returned: {log}\n{net}");
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
