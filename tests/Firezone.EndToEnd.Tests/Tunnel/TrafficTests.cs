using Firezone.Hosts.Tests.Hosts;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 2, in <see cref="TunnelTopology"/>, on the direct path and on the relayed one (nftables drops
/// client↔gateway traffic, so only our relay host carries it): the kernel's ping to the resource host over IPv4 and
/// IPv6 CIDR resources, a 10 MB HTTP download with curl by address, and the same file by the DNS resource's name —
/// resolved by the client's stub (the client host rewrote the namespace's resolv.conf), then by the gateway through
/// dnsmasq on the resource host. Every download's SHA-256 is checked. The third case runs the client published with
/// NativeAOT (the small-memory build) when it is published.
/// </summary>
public sealed class TrafficTests
{
    [Theory]
    [InlineData("direct")]
    [InlineData("relayed")]
    [InlineData("direct, NativeAOT client")]
    public async Task Ping_over_ipv4_and_ipv6_and_10_MB_downloads_by_address_and_by_dns_name_arrive_intact(string path)
    {
        TunnelTopology.SkipUnlessAvailable("curl", "python3");
        bool native = path.Contains("NativeAOT", StringComparison.Ordinal);
        Assert.SkipWhen(native && HostProcess.FindNative("Firezone.Client", "firezone-headless-client") is null,
            "the NativeAOT client is not published (dotnet publish samples/Firezone.Client -c Release -r linux-x64; .ci/run does)");
        await using var net = await TunnelTopology.StartAsync(new() { NativeClient = native });
        net.ServeRandomFile(10 * 1024 * 1024);
        if (path == "relayed")
        {
            net.BlockDirect();
        }

        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30), out var first), $"no IPv4 answer:\n{net}");
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost6, TimeSpan.FromSeconds(20)), $"no IPv6 answer:\n{net}");
        TestContext.Current.SendDiagnosticMessage($"{path}: first IPv4 answer after {first.TotalSeconds:F2} s");

        foreach (string host in new[] { TunnelTopology.ResourceHost, $"[{TunnelTopology.ResourceHost6}]", TunnelTopology.WebName })
        {
            var took = net.DownloadIntact(host);
            TestContext.Current.SendDiagnosticMessage($"{path}: 10 MiB from {host} in {took.TotalSeconds:F2} s");
        }

        // The name went through the DNS resource: the client answered it with a proxy address of 100.96.0.0/11 and the
        // gateway resolved it with dnsmasq (which logs nothing we could read), so check the client's answer directly.
        var (_, resolved) = TunnelTopology.Run(net.Client, "getent", "ahostsv4", TunnelTopology.WebName);
        Assert.StartsWith("100.9", resolved.Trim(), StringComparison.Ordinal);
        string log2 = net.ClientHost!.Output + net.GatewayHost!.Output;
        if (path == "relayed")
        {
            Assert.Contains("nominated relay", log2, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("nominated relay", log2, StringComparison.Ordinal);
        }
    }
}
