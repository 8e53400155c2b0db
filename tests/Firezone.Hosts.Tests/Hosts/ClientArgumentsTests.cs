extern alias ClientHost;

using ClientHost::Firezone.Client;
using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>The headless client's flags and environment (hosts-and-tun.md §7.1 table), parsed in-process.</summary>
public sealed class ClientArgumentsTests
{
    private static ClientArguments Parse(string[] args, Dictionary<string, string>? environment = null) =>
        ClientArguments.Parse(args, name => environment is not null && environment.TryGetValue(name, out var value) ? value : null);

    [Fact]
    public void Defaults_are_upstreams()
    {
        var a = Parse([]);
        Assert.Equal("wss://api.firezone.dev/", a.ApiUrl);
        Assert.Equal(DnsControlMethod.SystemdResolved, a.DnsControl);
        Assert.Null(a.LogDirectory);
        Assert.Null(a.MaxPartitionTime);
        Assert.False(a.Check);
        Assert.False(a.Exit);
        Assert.Null(a.FirezoneId);
        Assert.Null(a.Token);
        Assert.Equal("/etc/dev.firezone.client/token", a.TokenPath);
    }

    [Fact]
    public void Every_setting_is_read_from_its_environment_variable()
    {
        var a = Parse([], new()
        {
            ["FIREZONE_API_URL"] = "ws://127.0.0.1:8081/",
            ["FIREZONE_DNS_CONTROL"] = "etc-resolv-conf",
            ["LOG_DIR"] = "/tmp/logs",
            ["MAX_PARTITION_TIME"] = "1h",
            ["FIREZONE_NAME"] = "laptop",
            ["FIREZONE_ID"] = "id-1",
            ["FIREZONE_NO_TELEMETRY"] = "true",
            ["FIREZONE_TOKEN"] = "tok",
            ["FIREZONE_TOKEN_PATH"] = "/tmp/token",
        });
        Assert.Equal("ws://127.0.0.1:8081/", a.ApiUrl);
        Assert.Equal(DnsControlMethod.EtcResolvConf, a.DnsControl);
        Assert.Equal("/tmp/logs", a.LogDirectory);
        Assert.Equal(TimeSpan.FromHours(1), a.MaxPartitionTime);
        Assert.Equal("laptop", a.FirezoneName);
        Assert.Equal("id-1", a.FirezoneId);
        Assert.True(a.NoTelemetry);
        Assert.Equal("tok", a.Token);
        Assert.Equal("/tmp/token", a.TokenPath);
    }

    [Fact]
    public void A_flag_wins_over_its_environment_variable()
    {
        var a = Parse(["--dns-control", "disabled", "-l", "/flag", "-m", "5m", "-i", "flag-id", "-u", "ws://flag/", "flag-token"],
            new() { ["FIREZONE_DNS_CONTROL"] = "etc-resolv-conf", ["LOG_DIR"] = "/env", ["MAX_PARTITION_TIME"] = "1h", ["FIREZONE_ID"] = "env-id", ["FIREZONE_API_URL"] = "ws://env/", ["FIREZONE_TOKEN"] = "env-token" });
        Assert.Equal(DnsControlMethod.Disabled, a.DnsControl);
        Assert.Equal("/flag", a.LogDirectory);
        Assert.Equal(TimeSpan.FromMinutes(5), a.MaxPartitionTime);
        Assert.Equal("flag-id", a.FirezoneId);
        Assert.Equal("ws://flag/", a.ApiUrl);
        Assert.Equal("flag-token", a.Token);
    }

    [Fact]
    public void An_empty_environment_variable_counts_as_unset()
    {
        var a = Parse([], new() { ["FIREZONE_DNS_CONTROL"] = "", ["MAX_PARTITION_TIME"] = "", ["FIREZONE_TOKEN"] = "", ["FIREZONE_ID"] = "", ["FIREZONE_NO_TELEMETRY"] = "" });
        Assert.Equal(DnsControlMethod.SystemdResolved, a.DnsControl);
        Assert.Null(a.MaxPartitionTime);
        Assert.Null(a.Token);
        Assert.Null(a.FirezoneId);
        Assert.False(a.NoTelemetry);
    }

    [Theory]
    [InlineData(new[] { "--dns-control", "resolvconf" }, null, null, "--dns-control")]
    [InlineData(new string[0], "FIREZONE_DNS_CONTROL", "nope", "FIREZONE_DNS_CONTROL")]
    [InlineData(new[] { "-m", "forever" }, null, null, "--max-partition-time")]
    [InlineData(new string[0], "MAX_PARTITION_TIME", "5", "MAX_PARTITION_TIME")]
    [InlineData(new string[0], "FIREZONE_NO_TELEMETRY", "yes", "FIREZONE_NO_TELEMETRY")]
    [InlineData(new[] { "--token", "x" }, null, null, "--token")]
    public void Bad_values_are_clear_errors_naming_the_flag_or_variable(string[] args, string? env, string? value, string named)
    {
        var environment = env is null ? null : new Dictionary<string, string> { [env] = value! };
        var e = Assert.Throws<ArgumentException>(() => Parse(args, environment));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_standalone_subcommand_is_accepted_and_changes_nothing()
    {
        var a = Parse(["standalone", "--check", "tok"]);
        Assert.True(a.Check);
        Assert.Equal("tok", a.Token);
    }

    [Fact]
    public void Help_names_every_visible_options_environment_variable()
    {
        var help = new StringWriter();
        ClientArguments.WriteHelp(help);
        string text = help.ToString();
        foreach (string env in new[] { "FIREZONE_DNS_CONTROL", "LOG_DIR", "MAX_PARTITION_TIME", "FIREZONE_NAME", "FIREZONE_ID", "FIREZONE_NO_TELEMETRY", "FIREZONE_TOKEN_PATH" })
        {
            Assert.Contains($"[env: {env}=]", text, StringComparison.Ordinal);
        }

        Assert.Contains("FIREZONE_TOKEN ", text, StringComparison.Ordinal);
        Assert.Contains("RUST_LOG", text, StringComparison.Ordinal);
        Assert.DoesNotContain("--api-url", text, StringComparison.Ordinal); // hidden, as upstream
        Assert.DoesNotContain("--no-tunnel", text, StringComparison.Ordinal);
    }
}
