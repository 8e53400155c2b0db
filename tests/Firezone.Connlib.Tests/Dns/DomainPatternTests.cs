using Firezone.Connlib.Dns;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>The match and non-match tables and the priority order of tunnel spec §4.7.</summary>
public sealed class DomainPatternTests
{
    [Theory]
    [InlineData("**.example.com", "example.com")]
    [InlineData("**.example.com", "a.b.example.com")]
    [InlineData("app.**.example.com", "app.bar.foo.example.com")]
    [InlineData("app.**.example.com", "app.example.com")]
    [InlineData("*.example.com", "example.com")]
    [InlineData("*.example.com", "foo.example.com")]
    [InlineData("foo.*.example.com", "foo.bar.example.com")]
    [InlineData("app.*.*.example.com", "app.foo.bar.example.com")]
    [InlineData("app.f??.example.com", "app.foo.example.com")]
    [InlineData("*?*.example.com", "app.example.com")]
    [InlineData("app.**.web.**.example.com", "app.web.example.com")]
    [InlineData("example.com", "EXAMPLE.com.")]
    [InlineData("app.[a-c]x.example.com", "app.bx.example.com")]
    [InlineData("app.[!a-c]x.example.com", "app.dx.example.com")]
    public void Matches_the_spec_examples(string pattern, string name) =>
        Assert.True(DomainPattern.Parse(pattern).Matches(name));

    [Theory]
    [InlineData("app.*.example.com", "app.foo.bar.example.com")]
    [InlineData("app.*com", "app.foo.com")]
    [InlineData("app?com", "app.com")]
    [InlineData("*.example.com", "example.org")]
    [InlineData("foo.example.com", "example.com")]
    [InlineData("app.[a-c]x.example.com", "app.dx.example.com")]
    [InlineData("**.example.com", "badexample.com")]
    public void Does_not_match_the_spec_non_examples(string pattern, string name) =>
        Assert.False(DomainPattern.Parse(pattern).Matches(name));

    [Theory]
    [InlineData("")]
    [InlineData("a..b")]
    [InlineData("a**b.example.com")]
    [InlineData("app.[ab.example.com")]
    public void Rejects_invalid_patterns(string pattern) => Assert.False(DomainPattern.TryParse(pattern, out _));

    [Fact]
    public void Priority_orders_exact_names_before_wildcards_and_narrow_suffixes_before_broad_ones()
    {
        string[] expected =
        [
            "example.com", "bar.example.com", "*.bar.example.com", "foo.example.com", "?.example.com", "*.example.com",
            "**.example.com", "*ample.com", "*.com",
        ];
        var shuffled = expected.Reverse().ToList();
        shuffled.Sort(DomainPattern.PriorityComparer);
        Assert.Equal(expected, shuffled);
    }

    [Fact]
    public void Display_uses_dots() => Assert.Equal("**.example.com", DomainPattern.Parse("**.Example.com.").ToString());
}
