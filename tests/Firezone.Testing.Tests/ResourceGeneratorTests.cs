using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Testing.Tests;

/// <summary>The resource generators against tunnel spec §9.2 (the constraints restated here as the oracle).</summary>
public partial class ResourceGeneratorTests
{
    // Proxy ranges (tunnel spec table: IPV4_RESOURCES, IPV6_RESOURCES) and documentation ranges (RFC 5737, RFC 3849).
    private static readonly string[] Forbidden =
        ["100.96.0.0/11", "fd00:2021:1111:8000::/107", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"];

    [GeneratedRegex(@"^(\*\.|\*\*\.)?[a-z]{3,6}(\.[a-z]{3,6}){1,2}$")]
    private static partial Regex PatternShape();

    [Property(MaxTest = 1000)]
    public Property Cidr_networks_are_v4_25_to_32_or_v6_121_to_128_outside_proxy_and_documentation_ranges_spec_9_2() =>
        Prop.ForAll(ResourceGenerators.CidrNetwork.ToArbitrary(), network =>
        {
            bool v4 = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
            Assert.InRange(network.PrefixLength, v4 ? 25 : 121, v4 ? 32 : 128);
            Assert.DoesNotContain(Forbidden, f => IPNetwork.Parse(f).Contains(network.BaseAddress));
            Assert.Equal(network, IPNetwork.Parse(network.ToString())); // canonical: host bits zero
        });

    [Fact]
    public void Cidr_networks_cover_both_families_and_every_prefix()
    {
        var networks = Samples.Draw(ResourceGenerators.CidrNetwork, 11, 4000);
        Assert.Equal(16, networks.Select(n => (n.BaseAddress.AddressFamily, n.PrefixLength)).Distinct().Count());
    }

    [Fact]
    public void Is_excluded_names_proxy_and_documentation_networks()
    {
        Assert.True(ResourceGenerators.IsExcluded(IPNetwork.Parse("100.100.0.0/30")));
        Assert.True(ResourceGenerators.IsExcluded(IPNetwork.Parse("2001:db8::/128")));
        Assert.False(ResourceGenerators.IsExcluded(IPNetwork.Parse("100.64.0.0/32")));
        Assert.False(ResourceGenerators.IsExcluded(IPNetwork.Parse("198.18.0.0/25")));
    }

    [Property(MaxTest = 1000)]
    public Property Dns_patterns_are_plain_star_or_double_star_with_two_or_three_labels_of_3_to_6_letters_spec_9_2() =>
        Prop.ForAll(ResourceGenerators.DnsPattern.ToArbitrary(), pattern => Assert.Matches(PatternShape(), pattern));

    [Fact]
    public void Dns_patterns_reach_every_shape()
    {
        var patterns = Samples.Draw(ResourceGenerators.DnsPattern, 5, 2000);
        Assert.Contains(patterns, p => p.StartsWith("**.", StringComparison.Ordinal));
        Assert.Contains(patterns, p => p.StartsWith("*.", StringComparison.Ordinal) && !p.StartsWith("**.", StringComparison.Ordinal));
        Assert.Contains(patterns, p => !p.StartsWith('*'));
        Assert.Contains(patterns, p => p.TrimStart('*', '.').Count(c => c == '.') == 2);
    }

    [Property(MaxTest = 300)]
    public Property A_portal_has_1_to_4_cidr_1_to_4_dns_one_internet_resource_each_on_exactly_one_of_its_sites_spec_9_2() =>
        Prop.ForAll(ResourceGenerators.Sites.SelectMany(s => ResourceGenerators.Resources(s).Select(r => (s, r))).ToArbitrary(), t =>
        {
            var (sites, resources) = t;
            Assert.InRange(sites.Count, 1, 3);
            Assert.Equal(sites.Count, sites.Select(s => s.Id).Distinct().Count());
            Assert.InRange(resources.OfType<CidrResource>().Count(), 1, 4);
            Assert.InRange(resources.OfType<DnsResource>().Count(), 1, 4);
            Assert.Single(resources.OfType<InternetResource>());
            Assert.Equal(resources.Count, resources.Select(r => r.Id).Distinct().Count());
            Assert.All(resources, r => Assert.Contains(Assert.Single(r.Sites), sites));
            Assert.All(resources.OfType<DnsResource>(), r => Assert.Matches(PatternShape(), r.Address));
        });
}
