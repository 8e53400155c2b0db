namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 3, a bad network: the client's link has 5 % loss and 50 ms delay in each direction (100 ms added to
/// every round trip, portal and relay traffic included) — <c>tc netem</c> where the kernel has it, else the same in
/// userspace (<see cref="ImpairedLink"/>). The connection is set up over it and a 10 MB download arrives intact.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ImpairedLinkTests
{
    [Fact]
    public async Task A_10_MB_download_arrives_intact_over_5_percent_loss_and_100_ms_rtt()
    {
        TunnelTopology.SkipUnlessAvailable("curl", "python3");
        await using var net = await TunnelTopology.StartAsync(new() { ImpairClientLink = new Impairment(TimeSpan.FromMilliseconds(50), 5) });
        net.ServeRandomFile(10 * 1024 * 1024);
        var (_, rtt) = TunnelTopology.Run(net.Client, "ping", "-n", "-c", "5", "-i", "0.2", TunnelTopology.PortalAddress);
        TestContext.Current.SendDiagnosticMessage($"{net.ClientLink!.Mode}; ping to the portal: {rtt.Split('\n').LastOrDefault(l => l.Contains("rtt", StringComparison.Ordinal))}");
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(60), out var setup), $"no connection over the impaired link:\n{net}");

        var took = net.DownloadIntact(TunnelTopology.ResourceHost, maxSeconds: 480);
        TestContext.Current.SendDiagnosticMessage(
            $"first answer {setup.TotalSeconds:F1} s; 10 MiB in {took.TotalSeconds:F1} s ({10 * 8 * 1.048576 / took.TotalSeconds:F2} Mbit/s); link dropped {net.ClientLink.Dropped} of {net.ClientLink.Dropped + net.ClientLink.Delivered} packets");
        Assert.True(net.ClientLink.Mode.StartsWith("tc netem", StringComparison.Ordinal) || net.ClientLink.Dropped > 0, "the userspace link dropped nothing");
    }
}
