using System.Diagnostics;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 3, the relay fault: on the relayed path (direct blocked with nftables) a 16 MiB download at 2 MiB/s is
/// under way when the relay host is killed (SIGKILL: every allocation and its secret gone) and started again; the
/// download completes intact and the time until the path answers again is reported.
/// </summary>
public sealed class RelayRestartTests
{
    [Fact]
    public async Task A_download_on_the_relayed_path_completes_intact_when_the_relay_restarts_midway()
    {
        TunnelTopology.SkipUnlessAvailable("curl", "python3");
        await using var net = await TunnelTopology.StartAsync();
        net.ServeRandomFile(16 * 1024 * 1024);
        net.BlockDirect();
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(40)), "no relayed path:\n" + net);

        var download = net.StartDownload(TunnelTopology.ResourceHost, "2M", maxSeconds: 180);
        await Task.Delay(3000, TestContext.Current.CancellationToken);
        Assert.False(download.HasEnded, "the download ended before the relay restart");
        await TunnelTopology.KillAsync(net.RelayHost!);
        var restarted = Stopwatch.StartNew();
        net.StartRelay();
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(60)), "no recovery after the relay restart:\n" + net);
        TestContext.Current.SendDiagnosticMessage($"relayed path back {restarted.Elapsed.TotalSeconds:F1} s after the relay restarted");
        download.AssertCompletesIntact(TimeSpan.FromSeconds(180));
    }
}
