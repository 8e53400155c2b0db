using System.Net;
using Firezone.Connlib.Dns;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>The sentinel DNS mapping of tunnel spec §4.3 steps 1–3 (and the client.rs tests of §10).</summary>
public sealed class SentinelDnsMappingTests
{
    private static IPEndPoint Ep(string s) => IPEndPoint.Parse(s);

    private static DnsMapping Map(params string[] servers)
    {
        var update = SentinelDnsMapping.Update(DnsMapping.Empty, [.. servers.Select(Ep)]);
        Assert.Equal(DnsMappingStatus.Changed, update.Status);
        return update.Mapping;
    }

    [Fact]
    public void Portal_upstream_servers_take_precedence_over_system_resolvers()
    {
        var effective = SentinelDnsMapping.EffectiveServers([Ep("198.18.0.1:5353")], [IPAddress.Parse("198.18.0.2")], new ListLogger());
        Assert.Equal([Ep("198.18.0.1:5353")], effective);
    }

    [Fact]
    public void Sentinel_range_upstream_servers_are_ignored_and_system_resolvers_used_as_ip_53()
    {
        var logger = new ListLogger();
        var effective = SentinelDnsMapping.EffectiveServers(
            [Ep("100.100.111.1:53"), Ep("[fd00:2021:1111:8000:100:100:111:5]:53")],
            [IPAddress.Parse("100.100.111.9"), IPAddress.Parse("198.18.0.2"), IPAddress.Parse("2001:2::53")],
            logger);
        Assert.Equal([Ep("198.18.0.2:53"), Ep("[2001:2::53]:53")], effective);
        Assert.Empty(logger.Warnings);
    }

    [Fact]
    public void No_servers_left_is_an_empty_list_with_a_warning()
    {
        var logger = new ListLogger();
        Assert.Empty(SentinelDnsMapping.EffectiveServers([], [IPAddress.Parse("100.100.111.3")], logger));
        Assert.Contains(logger.Warnings, w => w.Contains("DNS interception will be disabled", StringComparison.Ordinal));
    }

    [Fact]
    public void Sentinels_are_assigned_in_list_order_per_family_from_the_first_address()
    {
        var mapping = Map("198.18.0.1:53", "[2001:2::1]:53", "198.18.0.2:53", "[2001:2::2]:5353");
        Assert.Equal(
            [
                ("100.100.111.1", "198.18.0.1:53"), ("fd00:2021:1111:8000:100:100:111:0", "[2001:2::1]:53"),
                ("100.100.111.2", "198.18.0.2:53"), ("fd00:2021:1111:8000:100:100:111:1", "[2001:2::2]:5353"),
            ],
            mapping.Entries.Select(e => (e.Sentinel.ToString(), e.Server.ToString())));
        Assert.True(mapping.TryGetServer([100, 100, 111, 2], out var server));
        Assert.Equal(Ep("198.18.0.2:53"), server);
        Assert.True(mapping.TryGetSentinel(Ep("[2001:2::2]:5353"), out var sentinel));
        Assert.Equal(IPAddress.Parse("fd00:2021:1111:8000:100:100:111:1"), sentinel);
    }

    [Fact]
    public void Sentinel_dns_works_every_server_gets_an_address_of_the_sentinel_ranges()
    {
        var mapping = Map("198.18.0.1:53", "[2001:2::1]:53");
        Assert.All(mapping.Sentinels, s => Assert.True(DnsRanges.IsSentinel(s)));
    }

    [Fact]
    public void Unchanged_when_the_set_of_servers_is_unchanged_even_reordered_or_repeated()
    {
        var mapping = Map("198.18.0.1:53", "198.18.0.2:53");
        var update = SentinelDnsMapping.Update(mapping, [Ep("198.18.0.2:53"), Ep("198.18.0.1:53"), Ep("198.18.0.2:53")]);
        Assert.Equal(DnsMappingStatus.Unchanged, update.Status);
        Assert.Same(mapping, update.Mapping);
    }

    [Fact]
    public void Sentinel_dns_excludes_old_ones_so_consecutive_mappings_are_disjoint()
    {
        var old = Map("198.18.0.1:53", "[2001:2::1]:53");
        var update = SentinelDnsMapping.Update(old, [Ep("198.18.0.1:53"), Ep("[2001:2::1]:53"), Ep("198.18.0.3:53")]);
        Assert.Equal(DnsMappingStatus.Changed, update.Status);
        Assert.Empty(update.Mapping.Sentinels.Intersect(old.Sentinels));
        Assert.Equal(["100.100.111.2", "fd00:2021:1111:8000:100:100:111:1", "100.100.111.3"], update.Mapping.Sentinels.Select(s => s.ToString()));
    }

    [Fact]
    public void Empty_effective_servers_replace_a_mapping_with_the_empty_one()
    {
        var update = SentinelDnsMapping.Update(Map("198.18.0.1:53"), []);
        Assert.Equal(DnsMappingStatus.Changed, update.Status);
        Assert.Equal(0, update.Mapping.Count);
        Assert.Equal(DnsMappingStatus.Unchanged, SentinelDnsMapping.Update(DnsMapping.Empty, []).Status);
    }

    [Fact]
    public void A_server_listed_twice_keeps_its_last_sentinel_as_upstreams_bimap()
    {
        var mapping = Map("198.18.0.1:53", "198.18.0.1:53", "198.18.0.2:53");
        Assert.Equal([("100.100.111.2", "198.18.0.1:53"), ("100.100.111.3", "198.18.0.2:53")],
            mapping.Entries.Select(e => (e.Sentinel.ToString(), e.Server.ToString())));
    }

    [Fact]
    public void Running_out_of_sentinels_is_an_error_value_not_a_panic_deliberate_difference_from_upstream()
    {
        var servers = Enumerable.Range(0, 255).Select(i => new IPEndPoint(IPAddress.Parse("198.18.0.0"), 1000 + i)).ToList();
        var update = SentinelDnsMapping.Update(DnsMapping.Empty, servers);
        Assert.Equal(DnsMappingStatus.SentinelsExhausted, update.Status);
        Assert.Same(DnsMapping.Empty, update.Mapping);
        Assert.Contains("IPv4", update.Error, StringComparison.Ordinal);
        Assert.Equal(DnsMappingStatus.Changed, SentinelDnsMapping.Update(DnsMapping.Empty, servers[..254]).Status);

        var v6 = Enumerable.Range(0, 257).Select(i => new IPEndPoint(IPAddress.Parse("2001:2::1"), 1000 + i)).ToList();
        Assert.Equal(DnsMappingStatus.SentinelsExhausted, SentinelDnsMapping.Update(DnsMapping.Empty, v6).Status);
        Assert.Equal(DnsMappingStatus.Changed, SentinelDnsMapping.Update(DnsMapping.Empty, v6[..256]).Status);
    }

    /// <summary>
    /// Random sequences of server lists: each step is unchanged exactly when the server sets are equal; otherwise the
    /// new mapping covers exactly the new set, uses only sentinel addresses of the server's family, is a bijection, and
    /// shares no sentinel with the previous mapping.
    /// </summary>
    [Property(MaxTest = 300)]
    public void Consecutive_mappings_are_disjoint_and_follow_set_equality(byte[][] steps)
    {
        var current = DnsMapping.Empty;
        foreach (var step in (steps ?? []).Take(12))
        {
            var servers = (step ?? []).Take(20).Select(b => b % 3 == 0
                ? new IPEndPoint(IPAddress.Parse($"2001:2::{b % 7:x}"), 53)
                : new IPEndPoint(IPAddress.Parse($"198.18.0.{b % 7}"), 53 + (b % 2))).ToList();
            var update = SentinelDnsMapping.Update(current, servers);
            bool sameSet = current.Servers.ToHashSet().SetEquals(servers);
            Assert.Equal(sameSet ? DnsMappingStatus.Unchanged : DnsMappingStatus.Changed, update.Status);
            if (!sameSet)
            {
                var next = update.Mapping;
                Assert.True(next.Servers.ToHashSet().SetEquals(servers));
                Assert.Equal(next.Count, next.Sentinels.Distinct().Count());
                Assert.Empty(next.Sentinels.Intersect(current.Sentinels));
                Assert.All(next.Entries, e =>
                {
                    Assert.Equal(e.Server.AddressFamily, e.Sentinel.AddressFamily);
                    Assert.True(DnsRanges.IsSentinel(e.Sentinel));
                    Assert.NotEqual(IPAddress.Parse("100.100.111.0"), e.Sentinel);
                    Assert.NotEqual(IPAddress.Parse("100.100.111.255"), e.Sentinel);
                });
                current = next;
            }
        }
    }
}
