using Firezone.Connlib.Hosting;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary><c>--max-partition-time</c> durations as humantime reads them (hosts-and-tun.md §7.1: 5m, 1h, 30d).</summary>
public sealed class HumanDurationTests
{
    [Theory]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("30d", 2_592_000)]
    [InlineData("1h 30m", 5400)]
    [InlineData("2hours 5min 3s", 7503)]
    [InlineData("1w", 604_800)]
    public void Upstreams_examples_parse(string text, long seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), HumanDuration.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("m")]
    [InlineData("5 parsecs")]
    [InlineData("-5m")]
    public void Invalid_durations_are_errors(string text) => Assert.Throws<FormatException>(() => HumanDuration.Parse(text));

    [Fact]
    public void A_sum_of_parts_parses_to_the_sum()
    {
        var unit = Gen.Elements(("s", 1L), ("m", 60L), ("h", 3600L), ("d", 86400L), ("sec", 1L), ("min", 60L), ("hours", 3600L), ("days", 86400L));
        var part = Gen.Choose(0, 1000).Zip(unit);
        Prop.ForAll(Arb.From(Gen.NonEmptyListOf(part)), Arb.From(Gen.Elements("", " ", "  ")), (parts, separator) =>
        {
            string text = string.Join(separator, parts.Select(p => $"{p.Item1}{p.Item2.Item1}"));
            long seconds = parts.Sum(p => p.Item1 * p.Item2.Item2);
            return HumanDuration.Parse(text) == TimeSpan.FromSeconds(seconds);
        }).QuickCheckThrowOnFailure();
    }
}
