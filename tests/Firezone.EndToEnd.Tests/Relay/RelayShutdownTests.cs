using System.Net;
using Firezone.Connlib.Relay;
using Firezone.Snownet.Tests.Turn;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Time.Testing;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// <see cref="RelayShutdown"/> without signals or sockets (relay.md §2): a fake clock, an allocation count and a portal
/// whose close the test completes by hand.
/// </summary>
public sealed class RelayShutdownTests
{
    /// <summary>A portal stand-in: counts close calls, closes when the test says so, can fail fatally.</summary>
    private sealed class FakePortal
    {
        private readonly TaskCompletionSource _closed = new();

        public int CloseCalls { get; private set; }

        public bool IsClosed { get; private set; }

        public TaskCompletionSource<int?> Completion { get; } = new();

        public Task CloseAsync()
        {
            CloseCalls++;
            return _closed.Task;
        }

        public void FinishClose()
        {
            IsClosed = true;
            _closed.SetResult();
        }
    }

    private sealed class Harness
    {
        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UnixEpoch);

        public FakePortal Portal { get; } = new();

        public ListLogger Log { get; } = new();

        public int Allocations { get; set; }

        public int AllocationReads { get; private set; }

        public RelayShutdown Create() => new(
            () =>
            {
                AllocationReads++;
                return Allocations;
            },
            () => Portal.IsClosed,
            Portal.CloseAsync,
            Portal.Completion.Task,
            Time,
            Log);
    }

    [Fact]
    public void Nothing_happens_without_a_termination_request()
    {
        var h = new Harness();
        using var shutdown = h.Create();
        h.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(shutdown.Completion.IsCompleted);
        Assert.False(shutdown.IsDraining);
        Assert.Equal(0, h.Portal.CloseCalls);
        Assert.Equal(0, h.AllocationReads);
    }

    [Fact]
    public async Task First_request_closes_the_portal_and_waits_for_the_close_before_exiting_with_0()
    {
        var h = new Harness { Allocations = 0 };
        using var shutdown = h.Create();
        shutdown.RequestTermination();
        Assert.True(shutdown.IsDraining);
        Assert.Equal(1, h.Portal.CloseCalls);

        h.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(shutdown.Completion.IsCompleted, "exited before the portal connection was closed");

        h.Portal.FinishClose(); // checked as soon as the close finishes, no tick needed
        Assert.True(shutdown.Completion.IsCompleted);
        Assert.Equal(0, await shutdown.Completion);
        Assert.Contains("Drained: no allocations left", h.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_keeps_relaying_until_the_last_allocation_is_gone_checking_every_second()
    {
        var h = new Harness { Allocations = 3 };
        using var shutdown = h.Create();
        shutdown.RequestTermination();
        h.Portal.FinishClose();
        h.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.False(shutdown.Completion.IsCompleted);

        h.Allocations = 0;
        h.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(shutdown.Completion.IsCompleted);
        h.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(shutdown.Completion.IsCompleted);
        Assert.Equal(0, await shutdown.Completion);

        // The timer is gone once completed.
        int reads = h.AllocationReads;
        h.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(reads, h.AllocationReads);
    }

    [Fact]
    public async Task Second_request_exits_with_0_at_once_and_closes_the_portal_only_once()
    {
        var h = new Harness { Allocations = 5 };
        using var shutdown = h.Create();
        shutdown.RequestTermination();
        Assert.False(shutdown.Completion.IsCompleted);
        shutdown.RequestTermination();
        Assert.True(shutdown.Completion.IsCompleted);
        Assert.Equal(0, await shutdown.Completion);
        Assert.Equal(1, h.Portal.CloseCalls);
        Assert.Contains("Second termination request", h.Log.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Drained", h.Log.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_fatal_portal_error_completes_with_its_exit_code_draining_or_not(bool draining)
    {
        var h = new Harness { Allocations = 2 };
        using var shutdown = h.Create();
        if (draining)
        {
            shutdown.RequestTermination();
        }

        h.Portal.Completion.SetResult(1);
        Assert.True(shutdown.Completion.IsCompleted);
        Assert.Equal(1, await shutdown.Completion);
        shutdown.RequestTermination();
        Assert.Equal(1, await shutdown.Completion); // the first outcome stays
    }

    [Fact]
    public async Task A_portal_closed_without_a_code_ends_nothing_until_a_termination_request()
    {
        var h = new Harness { Allocations = 0 };
        using var shutdown = h.Create();
        h.Portal.FinishClose();
        h.Portal.Completion.SetResult(null);
        h.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.False(shutdown.Completion.IsCompleted);

        shutdown.RequestTermination();
        Assert.Equal(0, await shutdown.Completion);
    }

    [Fact]
    public async Task A_failed_close_is_logged_and_the_drain_goes_on()
    {
        var h = new Harness { Allocations = 0 };
        using var shutdown = new RelayShutdown(() => h.Allocations, () => h.Portal.IsClosed, () => Task.FromException(new InvalidOperationException("socket gone")), null, h.Time, h.Log);
        shutdown.RequestTermination();
        Assert.Contains("Closing the portal connection failed: socket gone", h.Log.ToString(), StringComparison.Ordinal);
        Assert.False(shutdown.Completion.IsCompleted); // the portal never said it was closed

        shutdown.RequestTermination();
        Assert.Equal(0, await shutdown.Completion);
    }

    [Fact]
    public async Task A_standalone_session_without_allocations_exits_with_0_on_the_first_request()
    {
        await using var session = new RelaySession(new RelaySessionOptions
        {
            Server = new TurnServerOptions { PublicIPv4 = IPAddress.Loopback, ListenPort = 0 },
            ListenAddresses = [IPAddress.Loopback],
        });
        using var shutdown = new RelayShutdown(session, portal: null, time: new FakeTimeProvider());
        shutdown.RequestTermination();
        Assert.True(shutdown.Completion.IsCompleted);
        Assert.Equal(0, await shutdown.Completion);
    }
}
