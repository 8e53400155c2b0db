using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>RUST_LOG for the client and gateway (hosts-and-tun.md §5.4): strict parsing, most specific target wins.</summary>
public sealed class RustLogFilterTests
{
    /// <summary>Upstream quirk fixed: an unset or empty RUST_LOG means info here (upstream's client and gateway then log nothing).</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Empty_rust_log_means_info_not_off_upstream_quirk_fixed(string? value)
    {
        var filter = RustLogFilter.Parse(value);
        Assert.Equal(LogLevel.Information, filter.DefaultLevel);
        Assert.True(filter.IsEnabled("Firezone.Client", LogLevel.Information));
        Assert.False(filter.IsEnabled("Firezone.Client", LogLevel.Debug));
    }

    [Fact]
    public void The_most_specific_target_wins_and_targets_match_at_dot_boundaries()
    {
        var filter = RustLogFilter.Parse("warn,Firezone.Connlib=debug,Firezone::Connlib::Dns=trace,Firezone.Connlib.Tcp=off");
        Assert.Equal(LogLevel.Warning, filter.LevelFor("Firezone.Client"));
        Assert.Equal(LogLevel.Debug, filter.LevelFor("Firezone.Connlib.Client"));
        Assert.Equal(LogLevel.Trace, filter.LevelFor("Firezone.Connlib.Dns.Stub"));
        Assert.Equal(LogLevel.Warning, filter.LevelFor("Firezone.ConnlibX"));
        Assert.False(filter.IsEnabled("Firezone.Connlib.Tcp", LogLevel.Critical));
    }

    [Fact]
    public void A_bare_target_enables_all_its_levels_and_span_filters_are_accepted()
    {
        var filter = RustLogFilter.Parse("info,wire::net,firezone_tunnel[connection{id=1}]=debug");
        Assert.Equal(LogLevel.Trace, filter.LevelFor("wire.net.recv"));
        Assert.Equal(LogLevel.Debug, filter.LevelFor("firezone_tunnel"));
    }

    [Theory]
    [InlineData("info,=debug")]
    [InlineData("foo=verbose")]
    [InlineData("a b=info")]
    public void An_invalid_directive_fails_with_upstreams_message(string value) =>
        Assert.StartsWith("Failed to parse directives", Assert.Throws<FormatException>(() => RustLogFilter.Parse(value)).Message, StringComparison.Ordinal);
}
