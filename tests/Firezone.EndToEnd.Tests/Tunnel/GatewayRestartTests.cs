using System.Diagnostics;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 3, the gateway restarted: with the tunnel in use, the gateway host is killed (SIGKILL: no goodbye,
/// its keys and connections gone) and started again with the same id. The client, not restarted, notices the dead
/// connection, asks the portal for a new one and reaches the resource again (time reported), over IPv4 and IPv6.
/// </summary>
public sealed class GatewayRestartTests
{
    [Fact]
    public async Task The_client_reconnects_without_a_restart_when_the_gateway_restarts()
    {
        TunnelTopology.SkipUnlessAvailable();
        await using var net = await TunnelTopology.StartAsync();
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30)), net.ToString());
        var oldClient = net.ClientHost!;

        await TunnelTopology.KillAsync(net.GatewayHost!);
        var restarted = Stopwatch.StartNew();
        net.StartGateway();
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(90), out var back), $"no traffic after the gateway restarted:\n{net}");
        TestContext.Current.SendDiagnosticMessage($"traffic back {back.TotalSeconds:F1} s after the gateway restarted");
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost6, TimeSpan.FromSeconds(10)), $"no IPv6 traffic after the gateway restarted:\n{net}");
        Assert.Same(oldClient, net.ClientHost);
        Assert.False(oldClient.HasExited);
    }
}
