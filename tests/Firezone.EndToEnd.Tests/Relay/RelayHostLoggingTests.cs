using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// The relay host's real stdout in Firezone's log shapes: google-cloud read with the seed notes' jq command, the
/// tracing JSON shape, and the level from <c>RUST_LOG</c> / <c>LOG_LEVEL</c>.
/// </summary>
public sealed partial class RelayHostLoggingTests
{
    private const string Secret = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    /// <summary>The filter of the seed notes ("Reading Client logs"): <c>jq -r '"\(.time) \(.severity) \(.message)"'</c>.</summary>
    private const string JqFilter = "\"\\(.time) \\(.severity) \\(.message)\"";

    [GeneratedRegex(@"^(?<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z) (?<severity>DEBUG|INFO|WARNING|ERROR) (?<message>\S.*)$")]
    private static partial Regex JqLine();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (TRACE|DEBUG| INFO| WARN|ERROR) [\w.]+: \S")]
    private static partial Regex HumanLine();

    /// <summary>Starts a standalone relay with <paramref name="extra"/> flags, stops it with SIGTERM (exit 0) and returns it.</summary>
    private static async Task<ExternalProcess> RunAndDrainAsync(IEnumerable<string> extra, Dictionary<string, string>? environment = null)
    {
        int port = Loopback.FreeUdpPort(), health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(8);
        var arguments = Loopback.RelayHostArguments(port, health, lowest, highest, Secret);
        arguments.AddRange(extra);
        var relay = await Loopback.StartHealthyRelayAsync(arguments, health, environment);
        relay.Signal(15);
        Assert.True(await relay.WaitForExitAsync(TimeSpan.FromSeconds(20)), relay.Output);
        Assert.Equal(0, relay.ExitCode);
        return relay;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Google_cloud_stdout_read_with_the_seed_notes_jq_command_shows_real_times_severities_and_messages()
    {
        string? jq = Loopback.FindTool("jq");
        Assert.SkipWhen(jq is null, "jq is not installed (apt-get install jq)");
        var started = DateTimeOffset.UtcNow;
        await using var relay = await RunAndDrainAsync(
            ["--log-format", "google-cloud", "--otlp-grpc-endpoint", "127.0.0.1:4317"],
            new Dictionary<string, string> { ["LOG_LEVEL"] = "", ["RUST_LOG"] = "info" });
        string[] json = Lines(relay.StandardOutput);

        string file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, relay.StandardOutput, TestContext.Current.CancellationToken);
            await using var reader = ExternalProcess.Start(jq!, ["-r", JqFilter, file]);
            Assert.True(await reader.WaitForExitAsync(TimeSpan.FromSeconds(20)), reader.Output);
            Assert.True(reader.ExitCode == 0, $"jq failed ({reader.ExitCode}):\n{reader.StandardError}\non:\n{relay.StandardOutput}");

            string[] lines = Lines(reader.StandardOutput);
            Assert.Equal(json.Length, lines.Length);
            foreach (string line in lines)
            {
                Assert.DoesNotContain("null", line, StringComparison.Ordinal);
                var match = JqLine().Match(line);
                Assert.True(match.Success, $"not '<time> <severity> <message>': {line}");
                var time = DateTimeOffset.Parse(match.Groups["time"].Value, CultureInfo.InvariantCulture);
                Assert.InRange(time, started.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
            }

            Assert.Contains(lines, l => l.EndsWith(" INFO firezone-relay 0.1.0 started", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains(" WARNING OTLP export is not built in;", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.EndsWith(" INFO Drained: no allocations left", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }

        foreach (string line in json)
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(["time", "target", "severity"], document.RootElement.EnumerateObject().Take(3).Select(p => p.Name).ToArray());
        }
    }

    [Fact]
    public async Task Json_stdout_is_tracing_subscribers_shape()
    {
        await using var relay = await RunAndDrainAsync(["--log-format", "json"]);
        string[] lines = Lines(relay.StandardOutput);
        Assert.NotEmpty(lines);
        foreach (string line in lines)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            Assert.Equal(["timestamp", "level", "fields", "target"], root.EnumerateObject().Select(p => p.Name).ToArray());
            Assert.False(string.IsNullOrEmpty(root.GetProperty("fields").GetProperty("message").GetString()), line);
        }

        Assert.Contains(lines, l => l.Contains("\"fields\":{\"message\":\"firezone-relay 0.1.0 started\",\"Version\":\"0.1.0\"}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("warn", "", false)]
    [InlineData("relay=debug,warn", "", false)]
    [InlineData("warn", "Information", true)]
    [InlineData("", "", true)]
    public async Task Rust_log_sets_the_level_and_log_level_wins_over_it(string rustLog, string logLevel, bool infoShown)
    {
        await using var relay = await RunAndDrainAsync(["--log-format", "human"], new Dictionary<string, string> { ["RUST_LOG"] = rustLog, ["LOG_LEVEL"] = logLevel });
        string[] lines = Lines(relay.StandardOutput);
        Assert.All(lines, line => Assert.Matches(HumanLine(), line));
        Assert.Contains(lines, l => l.Contains("  WARN Firezone.Relay: No FIREZONE_TOKEN: running standalone", StringComparison.Ordinal));
        Assert.Equal(infoShown, lines.Any(l => l.Contains("  INFO ", StringComparison.Ordinal)));
    }
}
