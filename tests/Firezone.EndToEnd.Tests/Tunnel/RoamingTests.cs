using System.Diagnostics;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 3, roaming: with the tunnel in use, the client's interface gets a new address and loses the old one
/// (what a DHCP renewal on another network looks like). The client host's netlink monitor notices, the session resets
/// (portal and connections anew) and traffic flows again (time reported); the gateway now talks to the new address.
/// </summary>
public sealed class RoamingTests
{
    [Fact]
    public async Task The_tunnel_recovers_when_the_client_gets_a_new_address()
    {
        TunnelTopology.SkipUnlessAvailable("curl", "python3");
        await using var net = await TunnelTopology.StartAsync();
        net.ServeRandomFile(4 * 1024 * 1024);
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30)), net.ToString());

        net.MoveClient(3);
        var moved = Stopwatch.StartNew();
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(60), out var back), $"no traffic after roaming:\n{net}");
        TestContext.Current.SendDiagnosticMessage($"traffic back {back.TotalSeconds:F2} s after the address changed");
        net.DownloadIntact(TunnelTopology.ResourceHost, maxSeconds: 60);
        Assert.Contains(net.ClientAddress + ":", net.GatewayHost!.Output, StringComparison.Ordinal); // the gateway learned the new address (candidates / path)
    }
}
