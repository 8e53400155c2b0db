using System.Net;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// The relay runs on two clocks: every lifetime and timer (nonces, allocations, channels, permissions, busy ports) on the
/// monotonic <c>now</c>, and username expiry alone on the wall clock <c>utcNow</c>. A wall-clock jump (NTP step, a
/// suspended VM, an operator's <c>date -s</c>) while the monotonic clock advances one second therefore shifts no
/// deadline: it only changes which usernames count as expired.
/// </summary>
public class TurnServerWallClockTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("198.51.100.7"), 40000);
    private static readonly IPEndPoint OtherClientAddress = new(IPAddress.Parse("198.51.100.8"), 40000);
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.20"), 51820);
    private static readonly TimeSpan Jump = TimeSpan.FromHours(2);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static TurnServer SeededServer(int seed = 11)
    {
        var random = new Random(seed);
        return new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4, Random = random.NextBytes });
    }

    /// <summary>A client that fetches real nonces (401 challenges) and signs with a username of the given wall-clock expiry.</summary>
    private sealed class Client
    {
        private readonly TurnServer _server;
        private readonly IPEndPoint _address;
        private readonly string _username;
        private readonly byte[] _key;
        private string? _nonce;

        public Client(TurnServer server, IPEndPoint address, DateTimeOffset usernameExpiry, string salt = "wallclock1")
        {
            _server = server;
            _address = address;
            _username = FirezoneCredentials.MakeUsername((ulong)usernameExpiry.ToUnixTimeSeconds(), salt);
            _key = Key(server, _username);
        }

        /// <summary>The host finds the first port the server asks it to bind taken by another process.</summary>
        public bool FirstPortTaken { get; set; }

        /// <summary>
        /// Sends one request (after a 401 challenge for a nonce if it has none yet) and returns the response. A 401 or 438
        /// carrying a nonce is kept for the next request and returned as is.
        /// </summary>
        public (StunClass Class, int? Error) Request(StunMethod method, Attributes attributes, TimeSpan now, DateTimeOffset utcNow)
        {
            if (_nonce is null)
            {
                var challenge = Send(Message(method, StunClass.Request, TransactionId.NewRandom(), attributes), now, utcNow);
                Assert.Equal((StunClass.ErrorResponse, (int?)StunErrorCode.Unauthorized), challenge);
            }

            return Send(Message(method, StunClass.Request, TransactionId.NewRandom(), attributes, _username, _nonce, _key), now, utcNow);
        }

        private (StunClass, int?) Send(byte[] datagram, TimeSpan now, DateTimeOffset utcNow)
        {
            Assert.Null(_server.HandleClientInput(datagram, _address, now, utcNow));
            (StunClass, int?)? response = null;
            while (_server.TryPollCommand(out var command))
            {
                switch (command.Kind)
                {
                    case TurnServerCommandKind.CreateAllocation when FirstPortTaken:
                        FirstPortTaken = false;
                        _server.HandleAllocationFailed(command.Port, command.Family, portInUse: true, now);
                        break;
                    case TurnServerCommandKind.SendMessage:
                        var (cls, error, nonce) = Inspect(command);
                        _nonce = nonce ?? _nonce;
                        response = (cls, error);
                        break;
                }
            }

            return response ?? throw new InvalidOperationException("no response");
        }
    }

    private static Attributes AllocateFor(uint lifetime) => (ref StunMessageBuilder b) =>
    {
        b.AddRequestedTransport();
        b.AddLifetime(lifetime);
    };

    private static Attributes RefreshFor(uint lifetime) => (ref StunMessageBuilder b) => b.AddLifetime(lifetime);

    private static void ChannelTo(ref StunMessageBuilder b)
    {
        b.AddChannelNumber(0x4000);
        b.AddXorPeerAddress(Peer);
    }

    private static void PermissionFor(ref StunMessageBuilder b) => b.AddXorPeerAddress(Peer);

    /// <summary>
    /// One timed item of every kind, set up at <see cref="Start"/> on an honest wall clock; one second later the wall
    /// clock is off by <paramref name="jump"/> and the client refreshes everything and takes a fresh nonce; then the host
    /// wakes at every deadline. Returns every response and, per wake-up, the deadline and the table sizes.
    /// </summary>
    private static List<string> RunWithWallClockJump(TimeSpan jump)
    {
        var trace = new List<string>();
        var server = SeededServer();
        var client = new Client(server, ClientAddress, WallStart + TimeSpan.FromDays(30)) { FirstPortTaken = true };
        string Tables() => $"busy={server.BusyPortCount} permissions={server.PermissionCount} bound={server.BoundChannelCount} " +
                           $"channels={server.ChannelCount} allocations={server.AllocationCount} nonces={server.NonceCount} heap={server.DeadlineCount}";

        // Start: a nonce (1 h), an allocation (3000 s) whose first port is taken (busy 60 s), a channel, a permission.
        var t0 = Start;
        trace.Add($"allocate {client.Request(StunMethod.Allocate, AllocateFor(3000), t0, Wall(t0))}");
        trace.Add($"bind {client.Request(StunMethod.ChannelBind, ChannelTo, t0, Wall(t0))}");
        trace.Add($"permit {client.Request(StunMethod.CreatePermission, PermissionFor, t0, Wall(t0))}");
        trace.Add($"poll {server.PollTimeout()} {Tables()}");

        // One second later (monotonic) the wall clock is off by `jump`: refresh everything, and a stranger draws a nonce.
        var t1 = Start + S(1);
        var utc1 = Wall(t1) + jump;
        trace.Add($"refresh {client.Request(StunMethod.Refresh, RefreshFor(3000), t1, utc1)}");
        trace.Add($"rebind {client.Request(StunMethod.ChannelBind, ChannelTo, t1, utc1)}");
        trace.Add($"repermit {client.Request(StunMethod.CreatePermission, PermissionFor, t1, utc1)}");
        Assert.Null(server.HandleClientInput(Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), RefreshFor(600)), OtherClientAddress, t1, utc1));
        trace.Add($"stranger {Inspect(Single(server))}");
        trace.Add($"poll {server.PollTimeout()} {Tables()}");

        while (server.PollTimeout() is { } deadline)
        {
            server.HandleTimeout(deadline);
            Drain(server);
            trace.Add($"fired {deadline - Start} {Tables()}");
        }

        return trace;
    }

    [Fact]
    public void Wall_clock_jumping_two_hours_forward_shifts_no_lifetime_or_timer()
    {
        var honest = RunWithWallClockJump(TimeSpan.Zero);
        Assert.Equal(honest, RunWithWallClockJump(Jump));

        // And the honest run is the schedule the monotonic clock gives: everything counted from t0 = 0 s or t1 = 1 s.
        Assert.Equal(
            ["00:01:00", "00:05:01", "00:10:01", "00:15:01", "00:50:01", "01:00:00", "01:00:01"],
            honest.Where(l => l.StartsWith("fired ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]));
        // Nothing after the jump was refused: the nonce's lifetime and the username's validity did not move.
        Assert.Contains("refresh (SuccessResponse, )", honest);
        Assert.Contains("rebind (SuccessResponse, )", honest);
        Assert.Contains("repermit (SuccessResponse, )", honest);
    }

    [Fact]
    public void Wall_clock_jumping_two_hours_back_shifts_no_lifetime_or_timer()
    {
        Assert.Equal(RunWithWallClockJump(TimeSpan.Zero), RunWithWallClockJump(-Jump));
    }

    [Fact]
    public void Wall_clock_jumping_forward_expires_usernames_by_the_new_wall_time_and_nothing_else()
    {
        var server = SeededServer();
        var shortLived = new Client(server, ClientAddress, WallStart + TimeSpan.FromHours(1), "shortlived");
        var longLived = new Client(server, OtherClientAddress, WallStart + TimeSpan.FromDays(30), "longlived1");
        Assert.Equal((StunClass.SuccessResponse, (int?)null), shortLived.Request(StunMethod.Allocate, AllocateFor(600), Start, Wall(Start)));
        Assert.Equal(Start + S(600), server.PollTimeout());

        // One second later the wall clock reads two hours later: the one-hour username has expired, the other has not.
        var t1 = Start + S(1);
        var utc1 = Wall(t1) + Jump;
        Assert.Equal((StunClass.ErrorResponse, (int?)StunErrorCode.Unauthorized), shortLived.Request(StunMethod.Refresh, RefreshFor(600), t1, utc1));
        Assert.Equal((StunClass.SuccessResponse, (int?)null), longLived.Request(StunMethod.Allocate, AllocateFor(600), t1, utc1));

        // The refused refresh extended nothing and the jump expired nothing: the first allocation still ends at 600 s.
        Assert.Equal(2, server.AllocationCount);
        Assert.Equal(Start + S(600), server.PollTimeout());
        server.HandleTimeout(Start + S(600) - TimeSpan.FromTicks(1));
        Assert.Equal(2, server.AllocationCount);
        server.HandleTimeout(Start + S(600));
        Assert.Equal(1, server.AllocationCount);
        Assert.Equal(t1 + S(600), server.PollTimeout());
    }

    [Fact]
    public void Wall_clock_jumping_back_accepts_usernames_by_the_new_wall_time_and_nothing_else()
    {
        var server = SeededServer();
        var expiredAnHourAgo = new Client(server, ClientAddress, WallStart - TimeSpan.FromHours(1), "expired001");
        Assert.Equal((StunClass.ErrorResponse, (int?)StunErrorCode.Unauthorized), expiredAnHourAgo.Request(StunMethod.Allocate, AllocateFor(600), Start, Wall(Start)));
        Assert.Equal(0, server.AllocationCount);

        // One second later the wall clock reads two hours earlier: by it the username is valid again.
        var t1 = Start + S(1);
        Assert.Equal((StunClass.SuccessResponse, (int?)null), expiredAnHourAgo.Request(StunMethod.Allocate, AllocateFor(600), t1, Wall(t1) - Jump));

        // Its lifetime runs on the monotonic clock from t1, not from a wall-clock instant two hours back.
        Assert.Equal(t1 + S(600), server.PollTimeout());
        server.HandleTimeout(t1 + S(600) - TimeSpan.FromTicks(1));
        Assert.Equal(1, server.AllocationCount);
        server.HandleTimeout(t1 + S(600));
        Assert.Equal(0, server.AllocationCount);
    }
}
