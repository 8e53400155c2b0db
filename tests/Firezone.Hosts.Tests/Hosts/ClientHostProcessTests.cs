using System.Net.Sockets;
using System.Text;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>
/// The built headless client as a process (hosts-and-tun.md §7.1): exit codes, token errors, crash recovery of DNS
/// control, SIGINT/SIGTERM (exit 0, resolv.conf restored), SIGHUP (reset, keeps running), <c>--exit</c>, READY=1, log files.
/// Runs with the hidden <c>--no-tunnel</c> stand-in where a running host is needed (the session is not wired yet).
/// </summary>
public sealed class ClientHostProcessTests
{
    private const int SIGHUP = 1;
    private const int SIGINT = 2;
    private const int SIGTERM = 15;
    private const string Original = "nameserver 198.18.0.53\noptions edns0\n";

    private static string Host()
    {
        string? dll = HostProcess.Find("Firezone.Client", "firezone-headless-client");
        Assert.SkipWhen(dll is null, "samples/Firezone.Client is not built (build the solution first)");
        return dll!;
    }

    private static async Task<HostProcess> RunToExit(IEnumerable<string> args, Dictionary<string, string?>? environment = null)
    {
        var host = HostProcess.Start(Host(), args, environment);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"the client did not exit:\n{host.Output}");
        return host;
    }

    private static string[] EtcResolvConf(TempDirectory dir) => ["--dns-control", "etc-resolv-conf", "--resolv-conf", dir.File("resolv.conf"), "-i", "test-device"];

    [Fact]
    public async Task Help_and_version_exit_0_upstream_quirk_of_exit_1_fixed()
    {
        await using var help = await RunToExit(["--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("[env: FIREZONE_DNS_CONTROL=]", help.Output, StringComparison.Ordinal);
        await using var version = await RunToExit(["-V"]);
        Assert.Equal(0, version.ExitCode);
        Assert.Contains("1.3.8", version.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_usage_error_exits_1_with_the_error()
    {
        await using var host = await RunToExit(["--dns-control", "bogus"]);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("error: --dns-control: 'bogus' is not a DNS control method", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_RUST_LOG_exits_1()
    {
        await using var host = await RunToExit(["--check"], new() { ["RUST_LOG"] = "foo=loud" });
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("Failed to parse directives", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_token_the_client_exits_1_naming_the_token_file()
    {
        using var dir = new TempDirectory();
        await using var host = await RunToExit([.. EtcResolvConf(dir), "--token-path", dir.File("token"), "--check"]);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains($"Can't find the Firezone token in $FIREZONE_TOKEN or in `{dir.File("token")}`", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_world_readable_token_file_is_refused_with_exit_1()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the mode check comes after the owner check, which needs a root-owned file");
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("token"), "tok");
        File.SetUnixFileMode(dir.File("token"), (UnixFileMode)0b110_100_100);
        await using var host = await RunToExit([.. EtcResolvConf(dir), "--token-path", dir.File("token"), "--check"]);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("should have mode 0o400 or 0x600", host.Output, StringComparison.Ordinal);
        File.SetUnixFileMode(dir.File("token"), (UnixFileMode)0b110_000_000);
        await using var ok = await RunToExit([.. EtcResolvConf(dir), "--token-path", dir.File("token"), "--check"]);
        Assert.Equal(0, ok.ExitCode);
    }

    [Fact]
    public async Task Check_exits_0_after_reverting_dns_left_by_a_crash()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), "# BEGIN Firezone DNS configuration\nnameserver 100.100.111.1\n");
        File.WriteAllText(dir.File("resolv.conf.before-firezone"), Original);
        await using var host = await RunToExit([.. EtcResolvConf(dir), "--check"], new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.Equal(0, host.ExitCode);
        Assert.Contains("Check passed", host.Output, StringComparison.Ordinal);
        Assert.Equal(Original, File.ReadAllText(dir.File("resolv.conf")));
    }

    [Fact]
    public async Task An_unusable_api_url_fails_the_check_with_exit_1()
    {
        using var dir = new TempDirectory();
        await using var host = await RunToExit([.. EtcResolvConf(dir), "--check", "--api-url", "ftp://portal.test/"], new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("Unsupported API URL scheme 'ftp'", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_session_the_host_says_so_and_exits_1()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), Original);
        await using var host = await RunToExit(EtcResolvConf(dir), new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("not wired into this host yet", host.Output, StringComparison.Ordinal);
        Assert.Equal(Original, File.ReadAllText(dir.File("resolv.conf")));
    }

    [Theory]
    [InlineData(SIGTERM, "SIGTERM")]
    [InlineData(SIGINT, "SIGINT")]
    public async Task A_stop_signal_exits_0_and_restores_resolv_conf(int signal, string name)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), Original);
        await using var host = HostProcess.Start(Host(), [.. EtcResolvConf(dir), "--no-tunnel"], new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.True(await host.WaitForOutputAsync("Tunnel ready"), host.Output);
        Assert.StartsWith("# BEGIN Firezone DNS configuration", File.ReadAllText(dir.File("resolv.conf")), StringComparison.Ordinal);
        Assert.Contains("nameserver 100.100.111.1", File.ReadAllText(dir.File("resolv.conf")), StringComparison.Ordinal);
        host.Signal(signal);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(20)), host.Output);
        Assert.Equal(0, host.ExitCode);
        Assert.Contains($"Caught {name}", host.Output, StringComparison.Ordinal);
        Assert.Equal(Original, File.ReadAllText(dir.File("resolv.conf")));
    }

    [Fact]
    public async Task SIGHUP_resets_the_session_and_the_client_keeps_running()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), Original);
        await using var host = HostProcess.Start(Host(), [.. EtcResolvConf(dir), "--no-tunnel"], new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.True(await host.WaitForOutputAsync("Tunnel ready"), host.Output);
        host.Signal(SIGHUP);
        Assert.True(await host.WaitForOutputAsync("Resetting Session (SIGHUP)"), host.Output);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.False(host.HasExited, host.Output);
        host.Signal(SIGTERM);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(20)), host.Output);
        Assert.Equal(0, host.ExitCode);
    }

    [Fact]
    public async Task Exit_flag_exits_0_once_ready_after_READY_1_and_restores_dns()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolv.conf"), Original);
        string socketPath = dir.File("notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        notify.ReceiveTimeout = 30_000;
        await using var host = await RunToExit([.. EtcResolvConf(dir), "--no-tunnel", "--exit", "-l", dir.File("logs")], new() { ["FIREZONE_TOKEN"] = "tok", ["NOTIFY_SOCKET"] = socketPath });
        Assert.Equal(0, host.ExitCode);
        Assert.Contains("Exiting due to `--exit` CLI flag", host.Output, StringComparison.Ordinal);
        var buffer = new byte[256];
        Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)));
        Assert.Equal("STOPPING=1", Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)));
        Assert.Equal(Original, File.ReadAllText(dir.File("resolv.conf")));
        string jsonl = Assert.Single(Directory.GetFiles(dir.File("logs"), "connlib.*.jsonl"));
        Assert.Contains("\"message\":\"Tunnel ready", File.ReadAllText(jsonl), StringComparison.Ordinal);
    }

    /// <summary>
    /// systemd-resolved through a stand-in <c>resolvectl</c> first on PATH: the sentinels go to tun-firezone, and the
    /// child process does not see FIREZONE_TOKEN (removed from the environment at startup, hosts-and-tun.md §9.18).
    /// </summary>
    [Fact]
    public async Task Systemd_resolved_gets_the_sentinels_and_child_processes_never_see_the_token()
    {
        Assert.SkipWhen(TempDirectory.FindTool("sh") is null, "needs /bin/sh for the stand-in resolvectl");
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("resolvectl"), $"#!/bin/sh\necho \"$*\" >> {dir.File("calls")}\nenv >> {dir.File("env")}\n");
        File.SetUnixFileMode(dir.File("resolvectl"), (UnixFileMode)0b111_101_101);
        string path = dir.Path + ":" + Environment.GetEnvironmentVariable("PATH");
        await using var host = await RunToExit(["--dns-control", "systemd-resolved", "-i", "test-device", "--no-tunnel", "--exit"],
            new() { ["FIREZONE_TOKEN"] = "secret-token-value", ["PATH"] = path });
        Assert.Equal(0, host.ExitCode);
        string[] calls = File.ReadAllLines(dir.File("calls"));
        Assert.Contains("dns tun-firezone 100.100.111.1 fd00:2021:1111:8000:100:100:111:0", calls);
        Assert.Contains("domain tun-firezone ~.", calls);
        Assert.Contains("llmnr tun-firezone false", calls);
        Assert.DoesNotContain("secret-token-value", File.ReadAllText(dir.File("env")), StringComparison.Ordinal);
        Assert.Contains("PATH=", File.ReadAllText(dir.File("env")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RUST_LOG_filters_the_console()
    {
        using var dir = new TempDirectory();
        await using var quiet = await RunToExit([.. EtcResolvConf(dir), "--check"], new() { ["FIREZONE_TOKEN"] = "tok", ["RUST_LOG"] = "warn" });
        Assert.Equal(0, quiet.ExitCode);
        Assert.DoesNotContain("Check passed", quiet.Output, StringComparison.Ordinal);
        await using var targeted = await RunToExit([.. EtcResolvConf(dir), "--check"], new() { ["FIREZONE_TOKEN"] = "tok", ["RUST_LOG"] = "warn,Firezone.Client=info" });
        Assert.Contains("Check passed", targeted.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unusable_log_directory_exits_1()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("file"), "");
        await using var host = await RunToExit([.. EtcResolvConf(dir), "--check", "-l", dir.File("file")], new() { ["FIREZONE_TOKEN"] = "tok" });
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("Failed to open the log directory", host.Output, StringComparison.Ordinal);
    }
}
