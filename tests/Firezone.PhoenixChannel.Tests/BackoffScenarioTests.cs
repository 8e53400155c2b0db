using Firezone.PhoenixChannel.Backoff;
using Firezone.PhoenixChannel.Protocol;

namespace Firezone.PhoenixChannel.Tests;

/// <summary>
/// The scenarios of spec §4.5 on a fake clock. Each test shows the fixed behaviour (the backoff is created at the
/// first error of a failure streak) and states how the pre-fix policy (a backoff anchored at the last successful
/// connection or <c>connect()</c>) fails it; <see cref="PreFix"/> replays that policy to prove the scenario
/// tells the two apart.
/// </summary>
public class BackoffScenarioTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMinutes(1);
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>What the pre-fix policy decides at the first failure: a backoff whose clock started at <paramref name="anchor"/>.</summary>
    private static class PreFix
    {
        public static bool GivesUpAtFirstFailure(ReconnectPolicy policy, TimeSpan anchor, TimeSpan failure) =>
            Enumerable.Range(0, 50).All(seed => new ExponentialBackoff(policy, anchor, new Random(seed)).NextDelay(failure) is null);
    }

    private static CoreHarness ConnectedRelayAt0()
    {
        var h = new CoreHarness(ReconnectPolicy.Relay);
        h.Connect();
        h.Succeed();
        return h;
    }

    [Fact]
    public void Scenario1_relay_drop_after_15min_uptime_retries_instead_of_giving_up()
    {
        var h = ConnectedRelayAt0();
        h.AdvanceTo(15 * Min + S(1));
        h.Drop();

        Assert.Null(h.Failure);
        var retry = Assert.Single(h.Reconnects);
        Assert.InRange(retry.RetryIn, S(0.25), S(0.75));
        h.Advance(S(0.75));
        Assert.NotNull(h.InFlightAttempt); // The next attempt is under way.

        // Pre-fix: elapsed since the last successful connect (901 s) > 900 s → MaxRetriesReached at once, no attempt.
        Assert.True(PreFix.GivesUpAtFirstFailure(ReconnectPolicy.Relay, TimeSpan.Zero, 15 * Min + S(1)));
    }

    [Fact]
    public void Scenario2_relay_drop_just_before_15min_retries()
    {
        var h = ConnectedRelayAt0();
        h.AdvanceTo(14 * Min + S(59.8));
        h.Drop();

        Assert.Null(h.Failure);
        Assert.InRange(Assert.Single(h.Reconnects).RetryIn, S(0.25), S(0.75));

        // Pre-fix: 899.8 s elapsed + a delay of at least 0.25 s > 900 s → gives up.
        Assert.True(PreFix.GivesUpAtFirstFailure(ReconnectPolicy.Relay, TimeSpan.Zero, 14 * Min + S(59.8)));
    }

    [Fact]
    public void Scenario3_relay_outage_from_10_to_20min_keeps_retrying_and_reconnects()
    {
        var h = ConnectedRelayAt0();
        h.AdvanceTo(10 * Min);
        h.AttemptOutcome = now => now < 20 * Min ? new ConnectFailure($"unreachable at {now}") : CoreHarness.Ok;
        h.Drop();
        h.AdvanceTo(20 * Min + S(91)); // The longest possible delay at 60 s nominal is 90 s.

        Assert.Null(h.Failure);
        Assert.Equal(2, h.ConnectedCount);
        Assert.Equal(ChannelState.Connected, h.Core.State);

        // Pre-fix: the clock ran from t=0, so some failure around t=15 min gives up (elapsed + delay > 900 s).
        Assert.True(PreFix.GivesUpAtFirstFailure(ReconnectPolicy.Relay, TimeSpan.Zero, 15 * Min + S(1)));
    }

    [Fact]
    public void Scenario4_headless_client_with_max_partition_time_1h_reconnects_after_2h_uptime()
    {
        var policy = ReconnectPolicy.HeadlessClient.WithMaxPartitionTime(TimeSpan.FromHours(1));
        var h = new CoreHarness(policy, topic: "client");
        h.Connect();
        h.Succeed();
        h.AdvanceTo(TimeSpan.FromHours(2));
        h.AttemptOutcome = _ => CoreHarness.Ok;
        h.Drop();        // One failure ...
        h.Advance(S(1)); // ... then the portal is reachable.

        Assert.Null(h.Failure);
        Assert.Equal(2, h.ConnectedCount);

        // Pre-fix: 2 h since the last connect > 1 h → fatal on the first failure.
        Assert.True(PreFix.GivesUpAtFirstFailure(policy, TimeSpan.Zero, TimeSpan.FromHours(2)));
    }

    [Fact]
    public void Scenario5_slow_first_failure_after_16min_handshake_hang_retries()
    {
        var h = new CoreHarness(ReconnectPolicy.Relay);
        h.Connect();               // connect() at t=0; the attempt hangs ...
        h.AdvanceTo(16 * Min);
        h.Fail("TLS handshake failed"); // ... and fails 16 min later.

        Assert.Null(h.Failure);
        Assert.InRange(Assert.Single(h.Reconnects).RetryIn, S(0.25), S(0.75));

        // Pre-fix: the clock started at connect(), 16 min > 15 min → gives up.
        Assert.True(PreFix.GivesUpAtFirstFailure(ReconnectPolicy.Relay, TimeSpan.Zero, 16 * Min));
    }

    [Fact]
    public void Scenario6_continuous_failure_gives_up_only_after_15min_since_the_first_error_naming_the_last_error()
    {
        // Randomisation off, so a reference model predicts every delay exactly.
        var policy = ReconnectPolicy.Relay with { RandomizationFactor = 0 };
        var h = new CoreHarness(policy);
        h.Connect();
        h.Succeed();
        h.AdvanceTo(30 * Min); // A long healthy connection first: it must not count.
        var firstError = h.Now;
        var n = 0;
        h.AttemptOutcome = _ => new ConnectFailure($"refused #{++n}");
        h.Drop("reset #0");
        h.AdvanceTo(firstError + 20 * Min);

        // Reference model: nominal 0.5 s ×1.5 up to 60 s; give up at the first failure where elapsed > M or elapsed + delay > M.
        var (expectedGiveUp, expectedRetries) = Model(policy, firstError);
        var failed = Assert.IsType<ChannelEvent.Failed>(h.Events.Last());
        Assert.Equal(PhoenixChannelErrorKind.MaxRetriesReached, failed.Error.Kind);
        Assert.Equal(expectedRetries, h.Reconnects.Count());
        Assert.Equal($"refused #{n}", failed.Error.FinalError);
        Assert.Contains($"refused #{n}", failed.Error.Message);
        Assert.True(expectedGiveUp - firstError > 14 * Min, "never gives up earlier than the budget demands");

        // Pre-fix: anchored at t=0 (30 min before), the very first failure gives up.
        Assert.True(PreFix.GivesUpAtFirstFailure(policy, TimeSpan.Zero, firstError));

        static (TimeSpan GiveUpAt, int Retries) Model(ReconnectPolicy p, TimeSpan start)
        {
            var now = start;
            var cur = p.InitialInterval;
            for (var retries = 0; ; retries++)
            {
                var elapsed = now - start;
                if (elapsed > p.MaxElapsedTime) return (now, retries);
                var delay = cur;
                cur = cur.Ticks >= p.MaxInterval.Ticks / p.Multiplier ? p.MaxInterval : TimeSpan.FromTicks((long)(cur.Ticks * p.Multiplier));
                if (elapsed + delay > p.MaxElapsedTime) return (now, retries);
                now += delay; // The attempt fails at once when it starts.
            }
        }
    }

    [Fact]
    public void Scenario7_missed_heartbeat_after_20min_reconnects_instead_of_fatal()
    {
        var h = ConnectedRelayAt0();
        h.AdvanceTo(20 * Min);
        h.AutoAckHeartbeats = false;
        h.Advance(S(30 + 5.001)); // The next heartbeat goes out and its 5 s deadline passes.

        Assert.Null(h.Failure);
        var retry = Assert.Single(h.Reconnects);
        Assert.Contains("heartbeat", retry.Error);
        Assert.InRange(retry.RetryIn, S(0.25), S(0.75));

        // Pre-fix: 20 min since the last connect > 15 min → fatal.
        Assert.True(PreFix.GivesUpAtFirstFailure(ReconnectPolicy.Relay, TimeSpan.Zero, 20 * Min + S(35)));
    }

    [Fact]
    public void Scenario8a_success_resets_the_streak_so_the_next_delay_is_nominal_again()
    {
        var policy = ReconnectPolicy.Relay with { RandomizationFactor = 0 };
        var h = new CoreHarness(policy);
        h.Connect();
        h.Fail(); h.Advance(S(10));
        h.Fail(); h.Advance(S(10));
        h.Fail(); h.Advance(S(10));
        Assert.Equal([S(0.5), S(0.75), S(1.125)], h.Reconnects.Select(r => r.RetryIn));
        h.Succeed();
        h.Drop();
        Assert.Equal(S(0.5), h.Reconnects.Last().RetryIn);
    }

    [Fact]
    public void Scenario8b_gateway_never_gives_up()
    {
        var h = new CoreHarness(ReconnectPolicy.Gateway, topic: "gateway");
        h.AttemptOutcome = _ => new ConnectFailure("refused");
        h.Connect();
        h.AdvanceTo(TimeSpan.FromDays(40));

        Assert.Null(h.Failure);
        Assert.True(h.Reconnects.Count() > 50_000);
        Assert.All(h.Reconnects.Skip(20), r => Assert.InRange(r.RetryIn, S(30), S(90)));
    }

    [Theory]
    [InlineData(401, true)]
    [InlineData(403, true)]
    [InlineData(404, false)]
    [InlineData(422, false)]
    [InlineData(429, false)]
    public void Scenario8c_4xx_upgrade_is_fatal_at_once(int status, bool isAuthentication)
    {
        var h = new CoreHarness(ReconnectPolicy.Gateway, topic: "gateway");
        h.Connect();
        h.Fail("rejected", status);

        var failure = Assert.IsType<ChannelEvent.Failed>(Assert.Single(h.Events));
        Assert.Equal(PhoenixChannelErrorKind.ClientError, failure.Error.Kind);
        Assert.Equal(isAuthentication, failure.Error.IsAuthenticationError);
        Assert.StartsWith($"client error: {status}", failure.Error.Message);
        Assert.Empty(h.Reconnects);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(301)]
    public void Non_4xx_upgrade_answers_are_transient(int status)
    {
        var h = new CoreHarness(ReconnectPolicy.Gateway, topic: "gateway");
        h.Connect();
        h.Fail("bad gateway", status);
        Assert.Null(h.Failure);
        Assert.Single(h.Reconnects);
    }

    [Fact]
    public void Scenario8d_connect_with_the_same_url_while_sleeping_changes_nothing()
    {
        var policy = ReconnectPolicy.Relay with { RandomizationFactor = 0 };
        var h = new CoreHarness(policy);
        h.Connect();
        h.Fail(); h.Advance(S(1));
        h.Fail(); // Now sleeping 0.75 s in backoff.
        var sleepingUntil = h.Core.PollTimeout();
        var backoff = h.Core.Backoff;
        var opens = h.Commands.OfType<DriverCommand.OpenSocket>().Count();

        h.Connect();

        Assert.Equal(sleepingUntil, h.Core.PollTimeout());
        Assert.Same(backoff, h.Core.Backoff);
        Assert.Equal(opens, h.Commands.OfType<DriverCommand.OpenSocket>().Count());
    }

    [Fact]
    public void Scenario8e_connect_with_a_new_url_attempts_at_once_and_starts_a_fresh_streak()
    {
        var policy = ReconnectPolicy.Relay with { RandomizationFactor = 0 };
        var h = new CoreHarness(policy, topic: "client");
        h.Connect(CoreHarness.Url + "&public_key=a");
        h.Fail(); h.Advance(S(1));
        h.Fail(); // Sleeping, nominal 0.75 s.
        var opens = h.Commands.OfType<DriverCommand.OpenSocket>().Count();

        h.Connect(CoreHarness.Url + "&public_key=b");

        Assert.Null(h.Core.Backoff);
        Assert.Equal(opens + 1, h.Commands.OfType<DriverCommand.OpenSocket>().Count());
        Assert.EndsWith("public_key=b", h.Commands.OfType<DriverCommand.OpenSocket>().Last().Url.Query);
        h.Fail();
        Assert.Equal(S(0.5), h.Reconnects.Last().RetryIn);
    }
}
