using System.Net;
using Firezone.Connlib.Dns;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>Proxy-address allocation of tunnel spec §2 and §4.7.</summary>
public sealed class ProxyIpAllocatorTests
{
    [Fact]
    public void First_proxies_are_100_96_0_1_to_4_and_the_ipv6_network_address_onwards()
    {
        var allocator = ProxyIpAllocator.ForResources();
        var v4 = Enumerable.Range(0, 4).Select(_ => { allocator.TryNextV4(out uint a); return IpKey.V4(a); });
        var v6 = Enumerable.Range(0, 4).Select(_ => { allocator.TryNextV6(out UInt128 a); return IpKey.V6(a); });
        Assert.Equal(["100.96.0.1", "100.96.0.2", "100.96.0.3", "100.96.0.4"], v4.Select(a => a.ToString()));
        Assert.Equal(["fd00:2021:1111:8000::", "fd00:2021:1111:8000::1", "fd00:2021:1111:8000::2", "fd00:2021:1111:8000::3"], v6.Select(a => a.ToString()));
    }

    [Fact]
    public void Ipv4_allocation_skips_the_sentinel_range()
    {
        var allocator = ProxyIpAllocator.ForResources();
        var sentinelStart = IpKey.V4(IPAddress.Parse("100.100.111.0").GetAddressBytes());
        uint last = 0;
        while (allocator.TryNextV4(out uint a) && a < sentinelStart + 256)
        {
            Assert.False(a >= sentinelStart && a < sentinelStart + 256);
            last = a;
        }

        Assert.Equal("100.100.110.255", IpKey.V4(last).ToString());
    }

    [Fact]
    public void Ipv4_range_ends_before_the_broadcast_address_and_never_recycles()
    {
        var allocator = new ProxyIpAllocator(IPNetwork.Parse("100.96.0.0/30"), IPNetwork.Parse("fd00::/127"));
        var v4 = new List<string>();
        while (allocator.TryNextV4(out uint a))
        {
            v4.Add(IpKey.V4(a).ToString());
        }

        Assert.Equal(["100.96.0.1", "100.96.0.2"], v4);
        Assert.False(allocator.TryNextV4(out _));
        Assert.True(allocator.TryNextV6(out _));
        Assert.True(allocator.TryNextV6(out _));
        Assert.False(allocator.TryNextV6(out _));
    }

    [Fact]
    public void Whole_ipv4_proxy_range_holds_2_096_894_addresses()
    {
        // 2^21 minus network, broadcast and the 256 sentinels.
        var allocator = ProxyIpAllocator.ForResources();
        int count = 0;
        while (allocator.TryNextV4(out _))
        {
            count++;
        }

        Assert.Equal((1 << 21) - 2 - 256, count);
    }
}
