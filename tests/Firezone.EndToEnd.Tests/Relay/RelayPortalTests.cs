using System.Net.Http;
using Firezone.Connlib.Relay;
using Firezone.DevPortal;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>The relay host's portal connection against the local dev portal (Phoenix over WebSocket on 127.0.0.1).</summary>
public sealed class RelayPortalTests
{
    private const string Secret = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    private static async Task<(ExternalProcess Relay, int Port, int Health)> StartRelayAsync(PortalServer portal)
    {
        string? host = Loopback.FindRelayHost();
        Assert.SkipWhen(host is null, "samples/Firezone.Relay is not built (build the solution first)");
        int port = Loopback.FreeUdpPort();
        int health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(16);
        var arguments = Loopback.RelayHostArguments(port, health, lowest, highest, Secret);
        arguments.AddRange(["--api-url", portal.ApiUrl.ToString(), "relay-token", "relay-1"]);
        var relay = ExternalProcess.Start("dotnet", arguments.Prepend(host!));
        return (relay, port, health);
    }

    [Fact]
    public async Task Relay_joins_topic_relay_with_its_stamp_secret_and_drains_on_sigterm()
    {
        await using var portal = new PortalServer();
        await portal.StartAsync(TestContext.Current.CancellationToken);
        var (relay, port, health) = await StartRelayAsync(portal);
        await using var _ = relay;

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        PortalFrame? join = null;
        try
        {
            await foreach (var frame in portal.Received.ReadAllAsync(timeout.Token))
            {
                if (frame.Event == "phx_join")
                {
                    join = frame;
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        Assert.True(join is not null, $"no join within 30 s:\n{relay.Output}");
        Assert.Equal("relay", join.Topic);
        Assert.Equal(Secret, (string?)join.Payload?["stamp_secret"]);
        Assert.Equal("relay", join.Session.Mode);
        Assert.StartsWith("relay/", join.Session.UserAgent);
        Assert.Equal("relay-token", join.Session.Query["token"]);
        Assert.Equal("relay-1", join.Session.Query["name"]);
        Assert.Equal("127.0.0.1", join.Session.Query["ipv4"]);
        Assert.Equal(port.ToString(), join.Session.Query["port"]);
        Assert.False(join.Session.Query.ContainsKey("ipv6"));

        using var http = new HttpClient();
        var response = await http.GetAsync($"http://127.0.0.1:{health}/healthz", TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);

        relay.Signal(15); // SIGTERM: close the portal gracefully; no allocations, so exit 0
        Assert.True(await relay.WaitForExitAsync(TimeSpan.FromSeconds(20)), relay.Output);
        Assert.Equal(0, relay.ExitCode);
    }

    [Fact]
    public async Task Rejected_token_is_fatal_and_exits_with_1()
    {
        await using var portal = new PortalServer(new PortalServerOptions { RejectUpgrade = _ => 401 });
        await portal.StartAsync(TestContext.Current.CancellationToken);
        var (relay, _, _) = await StartRelayAsync(portal);
        await using var _ = relay;
        Assert.True(await relay.WaitForExitAsync(TimeSpan.FromSeconds(30)), relay.Output);
        Assert.Equal(1, relay.ExitCode);
    }

    [Fact]
    public void Health_is_judged_on_the_last_heartbeat_sent()
    {
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        Assert.True(RelayPortalConnection.IsHealthy(null, now));
        Assert.True(RelayPortalConnection.IsHealthy(now - TimeSpan.FromSeconds(10), now));
        Assert.True(RelayPortalConnection.IsHealthy(now - TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1), now));
        Assert.False(RelayPortalConnection.IsHealthy(now - TimeSpan.FromMinutes(15), now));
    }

    [Theory]
    [InlineData(0, "0.00 B/s")]
    [InlineData(999, "999.00 B/s")]
    [InlineData(1234, "1.23 kB/s")]
    [InlineData(12_500_000, "12.50 MB/s")]
    [InlineData(3_000_000_000, "3.00 GB/s")]
    [InlineData(4e12, "4.00 TB/s")]
    [InlineData(5e15, "5000.00 TB/s")]
    public void Throughput_is_formatted_with_decimal_units(double bytesPerSecond, string expected) =>
        Assert.Equal(expected, ThroughputFormatter.Format(bytesPerSecond));
}
