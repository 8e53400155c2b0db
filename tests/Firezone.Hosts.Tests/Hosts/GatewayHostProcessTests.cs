using System.Net;
using System.Net.Sockets;
using Firezone.Tun.Tests.Linux;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>The built gateway as a process (hosts-and-tun.md §7.2): exit codes, /healthz, SIGINT and SIGTERM.</summary>
public sealed class GatewayHostProcessTests
{
    private static string Host()
    {
        string? dll = HostProcess.Find("Firezone.Gateway", "firezone-gateway");
        Assert.SkipWhen(dll is null, "samples/Firezone.Gateway is not built (build the solution first)");
        return dll!;
    }

    private static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task A_missing_token_is_a_usage_error_with_exit_2_as_upstreams_clap()
    {
        await using var host = HostProcess.Start(Host(), ["-i", "gw"]);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), host.Output);
        Assert.Equal(2, host.ExitCode);
        Assert.Contains("<TOKEN>", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0_and_names_the_environment_variables()
    {
        await using var host = HostProcess.Start(Host(), ["--help"]);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), host.Output);
        Assert.Equal(0, host.ExitCode);
        Assert.Contains("[env: FIREZONE_TOKEN=]", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_session_the_gateway_says_so_and_exits_1()
    {
        await using var host = HostProcess.Start(Host(), ["tok", "-i", "gw", "--health-check-addr", $"127.0.0.1:{FreeTcpPort()}"]);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), host.Output);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("not wired into this host yet", host.Output, StringComparison.Ordinal);
    }

    /// <summary>Upstream quirk fixed: upstream's gateway handles only SIGINT and dies on SIGTERM; here both stop it cleanly with exit 0.</summary>
    [Theory]
    [InlineData(15, "SIGTERM")]
    [InlineData(2, "SIGINT")]
    public async Task SIGTERM_and_SIGINT_stop_the_gateway_gracefully_upstream_quirk_fixed(int signal, string name)
    {
        int port = FreeTcpPort();
        await using var host = HostProcess.Start(Host(), ["tok", "-i", "gw", "--health-check-addr", $"127.0.0.1:{port}", "--no-tunnel"]);
        Assert.True(await host.WaitForOutputAsync("/healthz"), host.Output);
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        host.Signal(signal);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(20)), host.Output);
        Assert.Equal(0, host.ExitCode);
        Assert.Contains($"Caught {name}", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Setup_forwarding_installs_the_nftables_table_and_removes_it_on_SIGTERM()
    {
        NetNamespace.SkipUnlessAvailable();
        Assert.SkipWhen(TempDirectory.FindTool("nft") is null, "nft (nftables) is not installed");
        using var ns = NetNamespace.Create();
        await using var host = HostProcess.Start(Host(), ["tok", "-i", "gw", "--health-check-addr", "127.0.0.1:8080", "--no-tunnel", "--setup-forwarding"], netns: ns.Name);
        Assert.True(await host.WaitForOutputAsync("Installed nftables table firezone-gateway"), host.Output);
        Assert.Equal("1", Nft(ns.Name, "cat", "/proc/sys/net/ipv4/ip_forward").Trim());
        Assert.Contains("masquerade", Nft(ns.Name, "nft", "list", "table", "inet", "firezone-gateway"), StringComparison.Ordinal);
        host.Signal(15);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(20)), host.Output);
        Assert.Equal(0, host.ExitCode);
        Assert.DoesNotContain("firezone-gateway", Nft(ns.Name, "nft", "list", "tables"), StringComparison.Ordinal);
    }

    private static string Nft(string ns, params string[] command)
    {
        var info = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns }.Concat(command))
        {
            info.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
