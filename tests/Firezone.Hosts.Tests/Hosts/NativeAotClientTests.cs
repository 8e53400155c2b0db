using System.Text.Json;
using Firezone.Tun.Tests.Linux;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>
/// The headless client published with NativeAOT (<c>dotnet publish samples/Firezone.Client -c Release -r linux-&lt;arch&gt;</c>;
/// .ci/run publishes it before the tests): the same command line as the built dll, JSONL logs, signals, and no
/// runtime loaded. Traffic through it is shown by the <c>tunnel-vs-wireguard-go</c> benchmark and by running this
/// suite with <c>FIREZONE_TEST_NATIVE_HOSTS=1</c> (every host test then starts the published client).
/// </summary>
public sealed class NativeAotClientTests
{
    private const int SIGHUP = 1;
    private const int SIGTERM = 15;
    private const string Original = "nameserver 198.18.0.53\n";

    private static string Native()
    {
        string? binary = HostProcess.FindNative("Firezone.Client", "firezone-headless-client");
        Assert.SkipWhen(binary is null, "the NativeAOT client is not published (dotnet publish samples/Firezone.Client -c Release -r linux-x64)");
        return binary!;
    }

    private static string Dll()
    {
        string? dll = HostProcess.Find("Firezone.Client", "firezone-headless-client");
        Assert.SkipWhen(dll is null, "samples/Firezone.Client is not built (build the solution first)");
        Assert.SkipUnless(dll!.EndsWith(".dll", StringComparison.Ordinal), "FIREZONE_TEST_NATIVE_HOSTS=1 replaces the dll this compares against");
        return dll!;
    }

    private static async Task<(int ExitCode, string Output)> RunToExit(string host, string[] args)
    {
        await using var process = HostProcess.Start(host, args);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"{host} did not exit:\n{process.Output}");
        return (process.ExitCode, process.Output);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-V")]
    [InlineData("--dns-control", "bogus")]
    [InlineData("--max-partition-time", "soon")]
    public async Task The_native_client_answers_the_command_line_exactly_as_the_dll(params string[] args)
    {
        string native = Native(), dll = Dll();
        var expected = await RunToExit(dll, args);
        var actual = await RunToExit(native, args);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.Output, actual.Output);
    }

    [Fact]
    public async Task The_native_client_writes_JSONL_logs_resets_on_SIGHUP_and_exits_0_on_SIGTERM_without_a_runtime_loaded()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), Original);
        await using var host = HostProcess.Start(Native(),
            ["--dns-control", "etc-resolv-conf", "--resolv-conf", dir.File("resolv.conf"), "-i", "test-device", "--no-tunnel", "-l", dir.File("logs")],
            new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.True(await host.WaitForOutputAsync("Tunnel ready"), host.Output);
        string maps = File.ReadAllText($"/proc/{host.Id}/maps");
        Assert.DoesNotContain("libcoreclr.so", maps, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Private.CoreLib.dll", maps, StringComparison.Ordinal);
        Assert.Contains("nameserver 100.100.111.1", File.ReadAllText(dir.File("resolv.conf")), StringComparison.Ordinal);

        host.Signal(SIGHUP);
        Assert.True(await host.WaitForOutputAsync("Resetting Session (SIGHUP)"), host.Output);
        Assert.False(host.HasExited, host.Output);
        host.Signal(SIGTERM);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(20)), host.Output);
        Assert.Equal(0, host.ExitCode);
        Assert.Equal(Original, File.ReadAllText(dir.File("resolv.conf")));

        string jsonl = Assert.Single(Directory.GetFiles(dir.File("logs"), "connlib.*.jsonl"));
        var lines = File.ReadAllLines(jsonl).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(lines, l => Assert.All(new[] { "time", "target", "severity", "message" }, name => Assert.Equal(JsonValueKind.String, l.GetProperty(name).ValueKind)));
        Assert.Contains(lines, l => l.GetProperty("message").GetString()!.StartsWith("Tunnel ready", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TryGetProperty("signal", out var s) && s.GetString() == "SIGHUP");
        Assert.Contains(lines, l => l.TryGetProperty("signal", out var s) && s.GetString() == "SIGTERM");
    }
}
