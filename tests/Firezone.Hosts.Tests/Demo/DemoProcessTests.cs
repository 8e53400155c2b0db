using Firezone.Hosts.Tests.Hosts;

namespace Firezone.Hosts.Tests.Demo;

/// <summary>
/// The README's main-job command (<c>dotnet run --project samples/Firezone.Demo</c>) as a test: the built demo runs a dev
/// portal, our relay, a gateway and a client on 127.0.0.1 and must deliver traffic in each of its three phases.
/// </summary>
public sealed class DemoProcessTests
{
    [Fact]
    public async Task The_demo_delivers_traffic_directly_through_the_relay_and_after_a_relay_restart_and_exits_0()
    {
        string? dll = HostProcess.Find("Firezone.Demo", "Firezone.Demo");
        Assert.SkipWhen(dll is null, "samples/Firezone.Demo is not built (build the solution first)");
        await using var demo = HostProcess.Start(dll!, []);
        Assert.True(await demo.WaitForExitAsync(TimeSpan.FromSeconds(90)), demo.Output);
        string output = demo.Output;
        Assert.True(demo.ExitCode == 0, output);
        foreach (string expected in new[]
        {
            "dev portal listening on ws://127.0.0.1:",
            "Joined client", "GatewayJoined demo-gateway", "Joined relay",
            "Allocated 127.0.0.1:",
            "candidates relayed to",
            "established over",                 // phase 1: direct (host candidates on loopback)
            "UDP echo from 198.18.200.10:7: came back",
            "resolved by the client to proxy IPs 100.96.0.",
            "files.lan.test resolved through the tunnel by the resource host's DNS server 198.18.200.53: 198.18.200.20",
            "nominated relay",                  // phase 2: only the relay is reachable
            "established over relay",           // phase 3: a fresh connection through the restarted relay
            "every phase delivered",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        Assert.Contains(", errors 0", output, StringComparison.Ordinal); // warnings may come from the relay outage of phase 3
        Assert.Equal(3, output.Split('\n').Count(l => l.Contains("5 pings to 198.18.200.10: 5 replies", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task With_netns_the_demo_runs_the_host_programs_on_real_tun_devices_in_namespaces_and_exits_0()
    {
        Firezone.Tun.Tests.Linux.NetNamespace.SkipUnlessAvailable();
        Assert.SkipWhen(TempDirectory.FindTool("nft") is null, "nft (nftables) is not installed");
        string? dll = HostProcess.Find("Firezone.Demo", "Firezone.Demo");
        Assert.SkipWhen(dll is null, "samples/Firezone.Demo is not built (build the solution first)");
        await using var demo = HostProcess.Start(dll!, ["--netns"]);
        Assert.True(await demo.WaitForExitAsync(TimeSpan.FromSeconds(120)), demo.Output);
        string output = demo.Output;
        Assert.True(demo.ExitCode == 0, output);
        Assert.Contains("established over 198.18.1.2:", output, StringComparison.Ordinal); // phase 1: direct, through the internet namespace
        Assert.Contains("nominated relay", output, StringComparison.Ordinal);
        Assert.Contains("every phase delivered", output, StringComparison.Ordinal);
        Assert.Equal(3, output.Split('\n').Count(l => l.Contains("5 pings to 198.18.200.10: 5 replies", StringComparison.Ordinal)));
        Assert.DoesNotContain("fzd-", Firezone.Tun.Tests.Linux.NetNamespace.Ip("netns list"), StringComparison.Ordinal); // cleaned up
    }
}
