using System.Net;
using Firezone.Connlib.Routing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Routing;

public sealed class IpPrefixTableTests
{
    [Fact]
    public void Longest_prefix_wins_and_exact_lookups_see_only_their_network()
    {
        var table = new IpPrefixTable<string>();
        table.Set(IPNetwork.Parse("10.0.0.0/8"), "wide");
        table.Set(IPNetwork.Parse("10.1.0.0/16"), "narrow");
        table.Set(IPNetwork.Parse("0.0.0.0/0"), "default");
        table.Set(IPNetwork.Parse("fd00::/8"), "v6");

        Assert.True(table.TryLongestMatch(IPAddress.Parse("10.1.2.3"), out var net, out var v));
        Assert.Equal(("narrow", IPNetwork.Parse("10.1.0.0/16")), (v, net));
        Assert.True(table.TryLongestMatch(IPAddress.Parse("10.2.0.1"), out _, out v));
        Assert.Equal("wide", v);
        Assert.True(table.TryLongestMatch(IPAddress.Parse("1.1.1.1"), out _, out v));
        Assert.Equal("default", v);
        Assert.True(table.TryLongestMatch(IPAddress.Parse("fd00::1"), out _, out v));
        Assert.Equal("v6", v);
        Assert.False(table.TryLongestMatch(IPAddress.Parse("2001:db8::1"), out _, out _));
        Assert.False(table.TryGetExact(IPNetwork.Parse("10.1.2.0/24"), out _));
        Assert.True(table.Remove(IPNetwork.Parse("10.1.0.0/16")));
        Assert.True(table.TryLongestMatch(IPAddress.Parse("10.1.2.3"), out _, out v));
        Assert.Equal("wide", v);
        Assert.Equal(3, table.Count);
    }

    [Fact]
    public void Host_routes_of_both_families_work()
    {
        var table = new IpPrefixTable<int>();
        table.Set(IPNetwork.Parse("100.64.0.1/32"), 1);
        table.Set(IPNetwork.Parse("fd00:2021:1111::1/128"), 2);
        Assert.True(table.TryLongestMatchValue(IPAddress.Parse("100.64.0.1").GetAddressBytes(), out int a));
        Assert.True(table.TryLongestMatchValue(IPAddress.Parse("fd00:2021:1111::1").GetAddressBytes(), out int b));
        Assert.Equal((1, 2), (a, b));
        Assert.False(table.TryLongestMatchValue(IPAddress.Parse("100.64.0.2").GetAddressBytes(), out _));
    }

    /// <summary>Against a reference model: a list of (network, value) searched linearly for the longest containing network.</summary>
    [Property(MaxTest = 300)]
    public void Agrees_with_a_linear_scan(byte[][] addresses, byte[] lengths, byte[] removals, bool v6)
    {
        var table = new IpPrefixTable<int>();
        var model = new Dictionary<IPNetwork, int>();
        int bits = v6 ? 128 : 32;
        var networks = new List<IPNetwork>();
        for (int i = 0; i < Math.Min(addresses?.Length ?? 0, 40); i++)
        {
            var raw = new byte[v6 ? 16 : 4];
            (addresses![i] ?? []).AsSpan(0, Math.Min(raw.Length, addresses[i]?.Length ?? 0)).CopyTo(raw);
            int length = lengths is { Length: > 0 } ? lengths[i % lengths.Length] % (bits + 1) : bits;
            var network = new IPNetwork(Masked(raw, length), length);
            networks.Add(network);
            table.Set(network, i);
            model[network] = i;
        }

        foreach (byte r in removals ?? [])
        {
            if (networks.Count > 0)
            {
                var n = networks[r % networks.Count];
                Assert.Equal(model.Remove(n), table.Remove(n));
            }
        }

        Assert.Equal(model.Count, table.Count);
        foreach (var probe in networks.Select(n => n.BaseAddress).Append(v6 ? IPAddress.IPv6Any : IPAddress.Any))
        {
            var best = model.Where(e => e.Key.Contains(probe)).OrderByDescending(e => e.Key.PrefixLength).Select(e => (int?)e.Value).FirstOrDefault();
            bool found = table.TryLongestMatch(probe, out _, out int value);
            Assert.Equal(best.HasValue, found);
            if (found)
            {
                Assert.Equal(best, value);
            }
        }

        Assert.Equal(model.Keys.OrderBy(k => k.ToString()).ToList(), table.Entries().Select(e => e.Network).OrderBy(k => k.ToString()).ToList());
    }

    private static IPAddress Masked(byte[] raw, int length)
    {
        for (int bit = length; bit < raw.Length * 8; bit++)
        {
            raw[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(raw);
    }
}
