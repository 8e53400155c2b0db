using System.Diagnostics;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 2, a resource removed while in use, direct and relayed: pings to the IPv4 CIDR resource flow, then the dev portal's config
/// file is rewritten without it (the portal reloads, sends <c>resource_deleted</c> to the client and
/// <c>reject_access</c> to the gateway); the pings stop getting answers within seconds (reported) and the client's
/// route for it goes, while the IPv6 resource that stayed keeps answering.
/// </summary>
public sealed class ResourceRemovedTests
{
    [Theory]
    [InlineData("direct")]
    [InlineData("relayed")]
    public async Task Traffic_to_a_resource_removed_from_the_portal_config_stops_within_seconds(string path)
    {
        TunnelTopology.SkipUnlessAvailable();
        await using var net = await TunnelTopology.StartAsync();
        if (path == "relayed")
        {
            net.BlockDirect();
        }

        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30)), net.ToString());
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost6, TimeSpan.FromSeconds(10)), net.ToString());

        net.SetResources("""[{ "type": "cidr", "name": "lab hosts v6", "address": "2001:2:200::/64", "sites": ["lab"] }]""");
        var removed = Stopwatch.StartNew();
        Assert.True(await net.PortalHost!.WaitForOutputAsync("Config reloaded", TimeSpan.FromSeconds(10)), net.PortalHost.Output);
        TimeSpan? stopped = null;
        int unanswered = 0;
        while (removed.Elapsed < TimeSpan.FromSeconds(20) && unanswered < 5)
        {
            if (net.Ping(TunnelTopology.ResourceHost))
            {
                unanswered = 0;
                stopped = null;
            }
            else
            {
                stopped ??= removed.Elapsed;
                unanswered++;
            }
        }

        Assert.True(unanswered >= 5, $"pings to the removed resource still get answers {removed.Elapsed.TotalSeconds:F0} s later:\n{net}");
        TestContext.Current.SendDiagnosticMessage($"traffic stopped {stopped!.Value.TotalSeconds:F2} s after the config was rewritten");
        Assert.True(stopped < TimeSpan.FromSeconds(5), $"traffic stopped only after {stopped.Value.TotalSeconds:F1} s");
        Assert.DoesNotContain("198.18.200.0/24", net.Client.IpIn("route show table all"), StringComparison.Ordinal);
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost6, TimeSpan.FromSeconds(5)), "the remaining resource stopped answering:\n" + net);
    }
}
