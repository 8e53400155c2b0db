using System.Net;
using Firezone.Connlib.Io;

namespace Firezone.Connlib.Tests.Io;

/// <summary>The gateway's name resolution for DNS resources (phoenix-and-portal spec §8.1: failures and timeouts → no addresses; at most 1000 in flight).</summary>
public sealed class NameResolverTests
{
    private static async Task<ResolvedName> Take(NameResolver resolver, SemaphoreSlim woken)
    {
        ResolvedName result;
        while (!resolver.TryTakeResult(out result))
        {
            Assert.True(await woken.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        }

        return result;
    }

    [Fact]
    public async Task The_injected_resolvers_addresses_come_back_with_the_requests_state()
    {
        var woken = new SemaphoreSlim(0);
        using var resolver = new NameResolver((name, _) => Task.FromResult<IReadOnlyList<IPAddress>>([IPAddress.Parse("198.19.2.2")]),
            TimeSpan.FromSeconds(5), () => woken.Release(), new TunnelCounters());
        var state = new object();
        Assert.True(resolver.Start("app.test", state));

        var result = await Take(resolver, woken);

        Assert.Same(state, result.State);
        Assert.Equal([IPAddress.Parse("198.19.2.2")], result.Addresses);
    }

    [Fact]
    public async Task A_resolution_that_times_out_or_fails_yields_no_addresses()
    {
        var woken = new SemaphoreSlim(0);
        using var resolver = new NameResolver((name, ct) => name == "slow"
                ? Task.Delay(Timeout.Infinite, ct).ContinueWith<IReadOnlyList<IPAddress>>(_ => [], TaskScheduler.Default)
                : Task.FromException<IReadOnlyList<IPAddress>>(new System.Net.Sockets.SocketException(11001)),
            TimeSpan.FromMilliseconds(100), () => woken.Release(), new TunnelCounters());
        resolver.Start("slow", "slow");
        resolver.Start("broken", "broken");

        var first = await Take(resolver, woken);
        var second = await Take(resolver, woken);

        Assert.Empty(first.Addresses);
        Assert.Empty(second.Addresses);
    }

    [Fact]
    public void More_than_1000_in_flight_are_dropped_and_counted()
    {
        var counters = new TunnelCounters();
        var never = new TaskCompletionSource<IReadOnlyList<IPAddress>>();
        using var resolver = new NameResolver((_, _) => never.Task, TimeSpan.FromMinutes(1), () => { }, counters);

        int accepted = Enumerable.Range(0, 1010).Count(i => resolver.Start($"n{i}", i));

        Assert.Equal(NameResolver.MaxInFlight, accepted);
        Assert.Equal(10, counters.Drops(TunnelDropReason.TooManyQueries));
    }
}
