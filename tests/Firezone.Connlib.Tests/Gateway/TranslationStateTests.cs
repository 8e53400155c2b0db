using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// Tunnel spec §5.5 "translation liveness" (120 s conntrack window, 10 s look-ahead, 1 s ack grace): every
/// translation-timeline case of upstream peer.rs (§10), each named after its upstream test.
/// </summary>
public sealed class TranslationStateTests
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(1000);

    private static TranslationState Fresh() =>
        new(new ResourceId(Guid.NewGuid()), "example.com", IpKey.From(System.Net.IPAddress.Loopback), Start);

    private static TimeSpan S(double seconds) => Start + TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    [Fact]
    public void Initial_translation_state_is_not_expired() => Assert.False(Fresh().IsExpired(Start));

    [Fact]
    public void Translation_state_is_not_used_and_so_not_expired_after_121s()
    {
        Assert.False(Fresh().IsExpired(S(121)));
    }

    [Fact]
    public void Translation_state_is_used_and_expired_after_120s_with_outgoing_packets()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        Assert.True(state.IsExpired(S(121)));
    }

    [Fact]
    public void Translation_state_is_used_and_expired_after_121s_with_outgoing_packets()
    {
        var state = Fresh();
        state.OnOutgoing(S(121));
        Assert.True(state.IsExpired(S(122)));
    }

    [Fact]
    public void Translation_state_is_not_expired_with_incoming_packets()
    {
        var state = Fresh();
        state.OnIncoming(S(120));
        Assert.False(state.IsExpired(S(121)));
    }

    [Fact]
    public void Translation_state_doesnt_expire_with_incoming_and_outgoing_packets()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        state.OnIncoming(S(120.2));
        Assert.False(state.IsExpired(S(121.2)));
    }

    [Fact]
    public void Translation_state_still_has_grace_period_after_incoming_traffic()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        state.OnIncoming(S(120.2));
        state.OnOutgoing(S(240.2));
        Assert.False(state.IsExpired(S(240.2)));
    }

    [Fact]
    public void Translation_state_still_expires_after_grace_period_after_incoming_traffic_resetted_it()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        state.OnIncoming(S(120.2));
        state.OnOutgoing(S(240.2));
        Assert.True(state.IsExpired(S(241.2)));
    }

    [Fact]
    public void Translation_state_doesnt_expire_with_first_packet_after_silence()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        Assert.False(state.IsExpired(S(120)));
    }

    [Fact]
    public void Translation_state_expires_after_silence_even_with_multiple_packets()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        state.OnOutgoing(S(125));
        Assert.True(state.IsExpired(S(125)));
    }

    [Fact]
    public void Translation_doesnt_expire_before_expected_period()
    {
        var state = Fresh();
        state.OnOutgoing(S(110));
        Assert.False(state.IsExpired(S(115)));
    }

    [Fact]
    public void Translation_expire_after_expected_period_because_outgoing_traffic_looks_10s_ahead()
    {
        var state = Fresh();
        state.OnOutgoing(S(110));
        state.OnOutgoing(S(115));
        Assert.True(state.IsExpired(S(120)));
    }

    [Fact]
    public void Incoming_traffic_prevents_expiration()
    {
        var state = Fresh();
        state.OnOutgoing(S(120));
        state.OnIncoming(S(120.5));
        Assert.False(state.IsExpired(S(125.5)));
    }

    [Fact]
    public void Translation_state_doesnt_expire_with_packet_that_didnt_have_time_to_be_responded()
    {
        var state = Fresh();
        state.OnOutgoing(S(119.99));
        Assert.False(state.IsExpired(S(120.01)));
    }

    [Fact]
    public void Translation_state_expires_with_packet_that_had_time_to_be_responded()
    {
        var state = Fresh();
        state.OnOutgoing(S(119.99));
        Assert.True(state.IsExpired(S(120.99)));
    }

    [Fact]
    public void Outgoing_traffic_well_before_the_window_starts_no_grace_period()
    {
        var state = Fresh();
        state.OnOutgoing(S(100)); // 100 + 10 < 120: no grace period started
        Assert.Null(state.AckGraceStartedAt);
        Assert.False(state.IsExpired(S(200)));
    }
}
