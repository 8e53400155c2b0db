using System.Runtime.InteropServices;
using Firezone.Hosts.Tests.Hosts;
using Firezone.PhoenixChannel;

namespace Firezone.DevPortal.Tests.Host;

/// <summary>The dev portal executable: --help, signals (issue 13: it used to ignore --help and keep running after SIGTERM), exit codes.</summary>
public sealed class HostProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>samples/Firezone.DevPortal's built executable with <paramref name="arguments"/> (skipped when it is not built).</summary>
    private static HostProcess DevPortalProcess(params string[] arguments)
    {
        string? dll = HostProcess.Find("Firezone.DevPortal", "firezone-dev-portal");
        Assert.SkipWhen(dll is null, "samples/Firezone.DevPortal is not built (build the solution first)");
        return HostProcess.Start(dll!, arguments);
    }

    [Fact]
    public async Task Help_lists_every_option_and_exits_0()
    {
        await using var host = DevPortalProcess("--help");
        Assert.True(await host.WaitForExitAsync(Timeout), host.Output);
        Assert.Equal(0, host.ExitCode);
        foreach (string option in new[] { "--config <FILE>", "--port <PORT>", "--listen-address <IP>", "--log-level <LEVEL>", "--help" })
        {
            Assert.Contains(option, host.Output, StringComparison.Ordinal);
        }

        Assert.Contains("not a production portal", host.Output, StringComparison.Ordinal);
        Assert.Contains("client-token", host.Output, StringComparison.Ordinal); // the built-in config is documented
    }

    [Fact]
    public async Task A_usage_error_prints_it_with_the_help_and_exits_1()
    {
        await using var host = DevPortalProcess("--port", "seventy");
        Assert.True(await host.WaitForExitAsync(Timeout), host.Output);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("error: --port: 'seventy' is not a port number", host.Output, StringComparison.Ordinal);
        Assert.Contains("Usage:", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_config_file_exits_2_naming_the_file_the_json_path_and_the_reason()
    {
        string path = Path.Combine(Path.GetTempPath(), $"devportal-bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, "{ \"clients\": [{ \"token\": \"a\", \"ipv4\": \"10.1.2.3\" }] }", TestContext.Current.CancellationToken);
        try
        {
            await using var host = DevPortalProcess("--config", path, "--port", "0");
            Assert.True(await host.WaitForExitAsync(Timeout), host.Output);
            Assert.Equal(2, host.ExitCode);
            Assert.Contains($"{path}: $.clients[0].ipv4: 10.1.2.3 is not in 100.64.0.0/11", host.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(PosixSignal.SIGTERM, 15)]
    [InlineData(PosixSignal.SIGINT, 2)]
    public async Task A_signal_closes_the_sockets_and_exits_0(PosixSignal signal, int number)
    {
        int port = FreeTcpPort();
        await using var host = DevPortalProcess("--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(await host.WaitForOutputAsync("Dev portal listening on", Timeout), host.Output);
        Assert.SkipWhen(host.Ignores(number), $"{signal} is ignored in this process tree (inherited SIG_IGN), so it cannot be tested here");

        await using var client = await Component.ClientAsync(new Uri($"ws://127.0.0.1:{port}"), "client-token");
        host.Signal(number);
        Assert.True(await host.WaitForExitAsync(Timeout), $"still running after {signal}:\n{host.Output}");
        Assert.Equal(0, host.ExitCode);
        Assert.Contains($"{signal}: stopping", host.Output, StringComparison.Ordinal);

        // The client saw its socket end (a close from the server: it starts reconnecting).
        Assert.IsType<ChannelEvent.Reconnecting>(await client.NextAsync(e => e is ChannelEvent.Reconnecting));
    }

    [Fact]
    public async Task The_logs_say_who_joined_and_what_is_brokered()
    {
        int port = FreeTcpPort();
        await using var host = DevPortalProcess("--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(await host.WaitForOutputAsync("Dev portal listening on", Timeout), host.Output);
        var api = new Uri($"ws://127.0.0.1:{port}");
        await using var client = await Component.ClientAsync(api, "client-token");
        await using var gateway = await Component.GatewayAsync(api, "gateway-token");
        var lan = Firezone.DevPortal.Config.DevPortalConfig.Default.Resources[0];
        client.Send(new Connlib.Messages.PrepareConnection(lan.Id, []));
        Assert.True(await host.WaitForOutputAsync("prepare_connection", Timeout), host.Output);
        Assert.Contains("Client ", host.Output, StringComparison.Ordinal);
        Assert.Contains("Gateway ", host.Output, StringComparison.Ordinal);
        Assert.Contains($"prepare_connection {lan.Id} ({lan.Name}) -> gateway {Firezone.DevPortal.Config.DevPortalConfig.Default.Gateways[0].Id}", host.Output, StringComparison.Ordinal);
        // Tokens are never logged (only the startup line names the documented built-in ones).
        Assert.DoesNotContain(host.Output.Split('\n').Where(l => !l.Contains("built-in config", StringComparison.Ordinal)), l => l.Contains("client-token", StringComparison.Ordinal));
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
