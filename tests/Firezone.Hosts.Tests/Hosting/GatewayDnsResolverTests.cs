using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>The gateway's DNS-resource resolution (hosts-and-tun.md §7.2): both families, IPv6 first, 10 s timeout, at most 1000 in flight.</summary>
public sealed class GatewayDnsResolverTests
{
    private static readonly IPAddress V4 = IPAddress.Parse("198.18.0.10");
    private static readonly IPAddress V6 = IPAddress.Parse("2001:2::10");

    [Fact]
    public async Task Ipv6_results_come_first_then_ipv4()
    {
        var resolver = new GatewayDnsResolver((_, family, _) => Task.FromResult(family == AddressFamily.InterNetwork ? new[] { V4 } : [V6]));
        Assert.Equal([V6, V4], await resolver.ResolveAsync("app.test", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_failing_family_contributes_nothing_and_both_failing_is_an_error()
    {
        var v4Only = new GatewayDnsResolver((_, family, _) => family == AddressFamily.InterNetwork ? Task.FromResult(new[] { V4 }) : Task.FromException<IPAddress[]>(new SocketException(11001)));
        Assert.Equal([V4], await v4Only.ResolveAsync("app.test", TestContext.Current.CancellationToken));
        var none = new GatewayDnsResolver((_, _, _) => Task.FromException<IPAddress[]>(new SocketException(11001)));
        await Assert.ThrowsAsync<GatewayDnsException>(() => none.ResolveAsync("missing.test", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_lookup_that_never_answers_times_out()
    {
        var resolver = new GatewayDnsResolver((_, _, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => Array.Empty<IPAddress>(), TaskScheduler.Default), TimeSpan.FromMilliseconds(100));
        var e = await Assert.ThrowsAsync<GatewayDnsException>(() => resolver.ResolveAsync("slow.test", TestContext.Current.CancellationToken));
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, resolver.InFlight);
    }

    [Fact]
    public async Task Lookups_beyond_the_cap_fail_at_once_instead_of_queueing()
    {
        var release = new TaskCompletionSource<IPAddress[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var resolver = new GatewayDnsResolver((_, _, _) => release.Task, maxConcurrent: 2);
        var first = resolver.ResolveAsync("a.test", TestContext.Current.CancellationToken);
        var second = resolver.ResolveAsync("b.test", TestContext.Current.CancellationToken);
        Assert.Equal(2, resolver.InFlight);
        var e = await Assert.ThrowsAsync<GatewayDnsException>(() => resolver.ResolveAsync("c.test", TestContext.Current.CancellationToken));
        Assert.Contains("Too many concurrent", e.Message, StringComparison.Ordinal);
        release.SetResult([V4]);
        Assert.Equal([V4], await first);
        Assert.Equal([V4], await second);
        Assert.Equal(0, resolver.InFlight);
        Assert.Equal(GatewayDnsResolver.DefaultMaxConcurrent, new GatewayDnsResolver().MaxConcurrent);
        Assert.Equal(TimeSpan.FromSeconds(10), new GatewayDnsResolver().Timeout);
    }

    [Fact]
    public async Task The_system_resolver_answers_localhost()
    {
        var addresses = await new GatewayDnsResolver().ResolveAsync("localhost", TestContext.Current.CancellationToken);
        Assert.Contains(addresses, IPAddress.IsLoopback);
    }
}
