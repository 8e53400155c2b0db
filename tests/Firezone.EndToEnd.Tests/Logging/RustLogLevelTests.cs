using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;

namespace Firezone.EndToEnd.Tests.Logging;

/// <summary>The bare level of a <c>RUST_LOG</c> value, read leniently as the relay does (hosts-and-tun.md §5.4).</summary>
public sealed class RustLogLevelTests
{
    [Theory]
    [InlineData(null, LogLevel.Information)]
    [InlineData("", LogLevel.Information)]
    [InlineData("trace", LogLevel.Trace)]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("DEBUG", LogLevel.Debug)]
    [InlineData("info", LogLevel.Information)]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData(" error ", LogLevel.Error)]
    [InlineData("off", LogLevel.None)]
    [InlineData("hyper=warn,debug", LogLevel.Debug)]
    [InlineData("debug,hyper=warn", LogLevel.Debug)]
    [InlineData("info,trace", LogLevel.Trace)]
    [InlineData("firezone_relay=trace", LogLevel.Information)]
    [InlineData("wire::net", LogLevel.Information)]
    [InlineData("warning", LogLevel.Information)]
    [InlineData("garbage,,", LogLevel.Information)]
    public void Only_bare_levels_count_and_the_last_one_wins(string? value, LogLevel expected) =>
        Assert.Equal(expected, RustLogLevel.Parse(value));

    [Fact]
    public void The_fallback_is_used_when_no_bare_level_is_given()
    {
        Assert.Equal(LogLevel.None, RustLogLevel.Parse(null, LogLevel.None));
        Assert.Equal(LogLevel.Warning, RustLogLevel.Parse("relay=debug", LogLevel.Warning));
        Assert.False(RustLogLevel.TryParseLevel("verbose", out _));
        Assert.True(RustLogLevel.TryParseLevel("Off", out var off));
        Assert.Equal(LogLevel.None, off);
    }
}
