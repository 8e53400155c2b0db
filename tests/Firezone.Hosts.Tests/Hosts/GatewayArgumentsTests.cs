extern alias GatewayHost;

using System.Net;
using GatewayHost::Firezone.Gateway;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>The gateway's flags and environment (hosts-and-tun.md §7.2 table), parsed in-process.</summary>
public sealed class GatewayArgumentsTests
{
    private static GatewayArguments Parse(string[] args, Dictionary<string, string>? environment = null) =>
        GatewayArguments.Parse(args, name => environment is not null && environment.TryGetValue(name, out var value) ? value : null);

    [Fact]
    public void Defaults_are_upstreams()
    {
        var a = Parse(["tok"]);
        Assert.Equal("wss://api.firezone.dev", a.ApiUrl);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 8080), a.HealthCheckAddress);
        Assert.Equal("tok", a.Token);
        Assert.False(a.SetupForwarding);
        Assert.Null(a.FirezoneId);
    }

    [Fact]
    public void The_token_is_required_from_the_argument_or_FIREZONE_TOKEN()
    {
        Assert.Contains("<TOKEN>", Assert.Throws<ArgumentException>(() => Parse([])).Message, StringComparison.Ordinal);
        Assert.Contains("<TOKEN>", Assert.Throws<ArgumentException>(() => Parse([], new() { ["FIREZONE_TOKEN"] = "" })).Message, StringComparison.Ordinal);
        Assert.Equal("env", Parse([], new() { ["FIREZONE_TOKEN"] = "env" }).Token);
        Assert.Equal("arg", Parse(["arg"], new() { ["FIREZONE_TOKEN"] = "env" }).Token);
    }

    [Fact]
    public void Flags_win_over_environment_variables()
    {
        var environment = new Dictionary<string, string>
        {
            ["FIREZONE_NAME"] = "env-name", ["FIREZONE_ID"] = "env-id", ["HEALTH_CHECK_ADDR"] = "127.0.0.1:9000", ["FIREZONE_API_URL"] = "ws://env",
            ["FIREZONE_SETUP_FORWARDING"] = "false",
        };
        var fromEnv = Parse(["t"], environment);
        Assert.Equal("env-name", fromEnv.FirezoneName);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9000), fromEnv.HealthCheckAddress);
        var fromFlags = Parse(["t", "-n", "flag-name", "-i", "flag-id", "--health-check-addr", "127.0.0.1:9001", "-u", "ws://flag", "--setup-forwarding"], environment);
        Assert.Equal("flag-name", fromFlags.FirezoneName);
        Assert.Equal("flag-id", fromFlags.FirezoneId);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9001), fromFlags.HealthCheckAddress);
        Assert.Equal("ws://flag", fromFlags.ApiUrl);
        Assert.True(fromFlags.SetupForwarding);
    }

    [Theory]
    [InlineData("HEALTH_CHECK_ADDR", "8080")]
    [InlineData("FIREZONE_NO_TELEMETRY", "1")]
    [InlineData("FIREZONE_SETUP_FORWARDING", "yes")]
    public void Bad_environment_values_are_errors_naming_the_variable(string env, string value) =>
        Assert.Contains(env, Assert.Throws<ArgumentException>(() => Parse(["t"], new() { [env] = value })).Message, StringComparison.Ordinal);

    [Fact]
    public void Help_names_every_visible_options_environment_variable()
    {
        var help = new StringWriter();
        GatewayArguments.WriteHelp(help);
        string text = help.ToString();
        foreach (string env in new[] { "FIREZONE_TOKEN", "FIREZONE_NAME", "FIREZONE_ID", "FIREZONE_NO_TELEMETRY", "FIREZONE_SETUP_FORWARDING" })
        {
            Assert.Contains($"[env: {env}=]", text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("--health-check-addr", text, StringComparison.Ordinal); // hidden, as upstream
    }
}
