using System.Net;
using Firezone.Connlib.Relay;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// <see cref="RelaySession"/> reads two clocks from its <see cref="TimeProvider"/>: monotonic timestamps for every
/// lifetime and timer, the wall clock only for username expiry. Over real UDP on loopback, a wall clock that jumps two
/// hours either way changes which usernames are expired and nothing else.
/// </summary>
public sealed class RelaySessionWallClockTests
{
    private const string Secret = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    /// <summary>The system clock with a wall-clock offset a test can step; its monotonic timestamps are the real ones.</summary>
    private sealed class SteppedWallClock : TimeProvider
    {
        private long _offsetTicks;

        public TimeSpan Offset
        {
            get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
            set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
        }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }

    [Fact]
    public async Task A_wall_clock_jump_expires_no_allocation_and_only_changes_which_usernames_are_expired()
    {
        var clock = new SteppedWallClock();
        var (lowest, highest) = Loopback.FreeUdpRange(3);
        await using var session = new RelaySession(new RelaySessionOptions
        {
            Server = new TurnServerOptions
            {
                PublicIPv4 = IPAddress.Loopback,
                ListenPort = 0,
                LowestPort = lowest,
                HighestPort = highest,
                AuthSecret = Secret,
            },
            ListenAddresses = [IPAddress.Loopback],
            Time = clock,
        });
        session.Start();
        var listen = session.ListenEndPoints[0];
        var peer = new IPEndPoint(IPAddress.Loopback, 9);
        using var tenMinutes = new LoopbackTurnClient(listen, Secret, "wallclock1");
        using var threeHours = new LoopbackTurnClient(listen, Secret, "wallclock2", TimeSpan.FromHours(3));
        using var expiredAnHourAgo = new LoopbackTurnClient(listen, Secret, "wallclock3", TimeSpan.FromHours(-1));
        Assert.Equal(0, tenMinutes.Allocate().Error); // a 600 s allocation
        Assert.Equal(StunErrorCode.Unauthorized, expiredAnHourAgo.Allocate().Error);

        // Two hours later by the wall clock, a moment later by the monotonic one: the 10-minute username has expired,
        // the 3-hour one has not, and the 600 s allocation is still there (each exchange runs the session's timers first).
        clock.Offset = TimeSpan.FromHours(2);
        Assert.Equal(StunErrorCode.Unauthorized, tenMinutes.ChannelBind(0x4000, peer));
        Assert.Equal(0, threeHours.Allocate().Error);
        Assert.Equal(2, session.AllocationCount);

        // Two hours earlier by the wall clock: the username that expired an hour ago is valid again.
        clock.Offset = TimeSpan.FromHours(-2);
        Assert.Equal(0, expiredAnHourAgo.Allocate().Error);
        Assert.Equal(0, tenMinutes.ChannelBind(0x4000, peer));
        Assert.Equal(3, session.AllocationCount);
    }
}
