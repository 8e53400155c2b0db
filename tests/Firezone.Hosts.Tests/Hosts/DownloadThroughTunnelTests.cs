using System.Diagnostics;
using System.Security.Cryptography;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>
/// Issue 14's download check, in <see cref="HostsTopology"/>: a 10 MB file from an HTTP server on the resource behind
/// the gateway, fetched with curl in the client's namespace through real TUN devices, arrives intact (SHA-256), directly
/// and then with the direct path blocked (through our relay host); and a relayed download survives a relay restart.
/// </summary>
public sealed class DownloadThroughTunnelTests
{
    [Fact]
    public async Task A_10_MB_http_download_arrives_intact_directly_and_through_the_relay()
    {
        HostsTopology.SkipUnlessAvailable();
        Assert.SkipWhen(TempDirectory.FindTool("curl") is null, "curl is not installed");
        Assert.SkipWhen(TempDirectory.FindTool("python3") is null, "python3 (the test's HTTP server) is not installed");
        using var dir = new TempDirectory();
        var file = RandomNumberGenerator.GetBytes(10 * 1024 * 1024);
        File.WriteAllBytes(dir.File("file.bin"), file);
        string expected = Convert.ToHexString(SHA256.HashData(file));
        await using var net = await HostsTopology.StartAsync();
        net.Background(net.Gateway, "python3", "-m", "http.server", "8000", "--bind", HostsTopology.Resource, "--directory", dir.Path);
        Assert.True(net.PingUntilAnswered(HostsTopology.Resource, TimeSpan.FromSeconds(20)), net.ToString());

        foreach (string path in new[] { "direct", "relayed" })
        {
            if (path == "relayed")
            {
                net.BlockDirect();
                Assert.True(net.PingUntilAnswered(HostsTopology.Resource, TimeSpan.FromSeconds(40)), "no relayed path:\n" + net);
            }

            string output = dir.File($"{path}.bin");
            var sw = Stopwatch.StartNew();
            var (exit, _) = HostsTopology.Run(net.Client, "curl", "-sS", "--retry", "5", "--retry-connrefused", "--max-time", "120", "-o", output, $"http://{HostsTopology.Resource}:8000/file.bin");
            Assert.True(exit == 0, $"curl exited {exit} on the {path} path:\n{net}");
            Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(output))));
            TestContext.Current.SendDiagnosticMessage($"{path}: 10 MiB in {sw.Elapsed.TotalSeconds:F2} s");
        }

        Assert.Contains("nominated relay", net.ClientHost!.Output + net.GatewayHost!.Output, StringComparison.Ordinal); // the second download took the relay
    }

    [Fact]
    public async Task A_download_on_the_relayed_path_completes_intact_when_the_relay_restarts_midway()
    {
        HostsTopology.SkipUnlessAvailable();
        Assert.SkipWhen(TempDirectory.FindTool("curl") is null, "curl is not installed");
        Assert.SkipWhen(TempDirectory.FindTool("python3") is null, "python3 (the test's HTTP server) is not installed");
        using var dir = new TempDirectory();
        var file = RandomNumberGenerator.GetBytes(16 * 1024 * 1024);
        File.WriteAllBytes(dir.File("file.bin"), file);
        await using var net = await HostsTopology.StartAsync();
        net.Background(net.Gateway, "python3", "-m", "http.server", "8000", "--bind", HostsTopology.Resource, "--directory", dir.Path);
        net.BlockDirect();
        Assert.True(net.PingUntilAnswered(HostsTopology.Resource, TimeSpan.FromSeconds(40)), "no relayed path:\n" + net);

        // 16 MiB at 2 MiB/s: the relay is killed 3 s in and started again (new secret, every allocation gone).
        var curl = net.Background(net.Client, "curl", "-sS", "--limit-rate", "2M", "--max-time", "180", "-o", dir.File("out.bin"), $"http://{HostsTopology.Resource}:8000/file.bin");
        await Task.Delay(3000, TestContext.Current.CancellationToken);
        Assert.False(curl.HasExited, "the download ended before the relay restart");
        net.RelayHost!.Signal(9);
        Assert.True(await net.RelayHost.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        var restarted = Stopwatch.StartNew();
        net.StartRelay();
        Assert.True(net.PingUntilAnswered(HostsTopology.Resource, TimeSpan.FromSeconds(60)), "no recovery after the relay restart:\n" + net);
        TestContext.Current.SendDiagnosticMessage($"relayed path back {restarted.Elapsed.TotalSeconds:F1} s after the relay restarted");
        Assert.True(curl.WaitForExit(TimeSpan.FromSeconds(180)), "the download did not finish");
        Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}:\n{net}");
        Assert.Equal(Convert.ToHexString(SHA256.HashData(file)), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(dir.File("out.bin")))));
    }
}
