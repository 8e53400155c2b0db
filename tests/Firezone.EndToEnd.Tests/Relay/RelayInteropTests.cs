using System.Net.Http;
using System.Text.RegularExpressions;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// coturn's <c>turnutils_uclient</c> against our relay host (samples/Firezone.Relay) on 127.0.0.1, with credentials from
/// Firezone's stateless scheme. Channel mode needs the 0x4000–0x7FFF channel extension, <c>-s</c> mode needs the
/// permissions/Send-indication extension; upstream Firezone fails both (relay.md §12).
/// </summary>
public sealed partial class RelayInteropTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private sealed class Relay : IAsyncDisposable
    {
        public required ExternalProcess Process { get; init; }

        public required int Port { get; init; }

        public required int HealthPort { get; init; }

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    private static async Task<Relay> StartRelayAsync()
    {
        int port = Loopback.FreeUdpPort();
        int health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(64);
        var arguments = Loopback.RelayHostArguments(port, health, lowest, highest, Secret);
        arguments.AddRange(["--log-format", "json"]);
        var process = await Loopback.StartHealthyRelayAsync(arguments, health);
        return new Relay { Process = process, Port = port, HealthPort = health };
    }

    private static (string Username, string Password) Credentials()
    {
        ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        const string salt = "uclientTst";
        return (FirezoneCredentials.MakeUsername(expiry, salt), FirezoneCredentials.ComputePassword(Secret, expiry, salt));
    }

    [GeneratedRegex(@"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex Totals();

    [GeneratedRegex(@"Total lost packets (\d+) \(([\d.]+)%\)")]
    private static partial Regex Lost();

    private static async Task RunUclientAsync(bool sendIndications)
    {
        string? uclient = Loopback.FindTool("turnutils_uclient");
        string? peerTool = Loopback.FindTool("turnutils_peer");
        Assert.SkipWhen(uclient is null || peerTool is null, "coturn's turnutils_uclient/turnutils_peer are not installed (apt-get install coturn)");

        await using var relay = await StartRelayAsync();
        int peerPort = Loopback.FreeUdpPort();
        await using var peer = ExternalProcess.Start(peerTool!, ["-L", "127.0.0.1", "-p", peerPort.ToString()]);
        await Loopback.WaitUntilUdpPortBoundAsync(peerPort, TimeSpan.FromSeconds(30), peer);

        var (username, password) = Credentials();
        var arguments = new List<string>();
        if (sendIndications)
        {
            arguments.Add("-s");
        }

        arguments.AddRange(["-c", "-m", "8", "-n", "100", "-l", "200", "-z", "5", "-e", "127.0.0.1", "-r", peerPort.ToString(),
            "-u", username, "-w", password, "-p", relay.Port.ToString(), "127.0.0.1"]);
        await using var client = ExternalProcess.Start(uclient!, arguments);
        Assert.True(await client.WaitForExitAsync(TimeSpan.FromSeconds(90)), $"turnutils_uclient did not finish:\n{client.Output}");
        string output = client.Output;
        Assert.True(client.ExitCode == 0, $"turnutils_uclient exit code {client.ExitCode}:\n{output}\nrelay:\n{relay.Process.Output}");

        var totals = Totals().Matches(output);
        Assert.True(totals.Count > 0, $"no totals line:\n{output}");
        var last = totals[^1];
        int sent = int.Parse(last.Groups[1].Value), received = int.Parse(last.Groups[2].Value);
        Assert.Equal(800, sent); // 8 clients × 100 messages
        Assert.Equal(sent, received);

        var lost = Lost().Match(output);
        Assert.True(lost.Success, $"no loss line:\n{output}");
        Assert.Equal("0", lost.Groups[1].Value);
        Assert.Equal(0.0, double.Parse(lost.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public Task Turnutils_uclient_channel_mode_with_8_clients_has_no_loss_through_channels_up_to_0x7FFF() => RunUclientAsync(sendIndications: false);

    [Fact]
    public Task Turnutils_uclient_send_indication_mode_has_no_loss_through_real_permissions() => RunUclientAsync(sendIndications: true);

    [Fact]
    public async Task Relay_host_serves_binding_health_and_drains_on_sigterm()
    {
        await using var relay = await StartRelayAsync();
        string? stunclient = Loopback.FindTool("turnutils_stunclient");
        if (stunclient is not null)
        {
            await using var stun = ExternalProcess.Start(stunclient, ["-p", relay.Port.ToString(), "127.0.0.1"]);
            Assert.True(await stun.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            Assert.Contains("UDP reflexive addr: 127.0.0.1:", stun.Output);
        }

        // No allocations: the first SIGTERM drains immediately and exits with 0.
        relay.Process.Signal(15);
        Assert.True(await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)), relay.Process.Output);
        Assert.Equal(0, relay.Process.ExitCode);
        Assert.Contains("Drained", relay.Process.Output);
    }
}
