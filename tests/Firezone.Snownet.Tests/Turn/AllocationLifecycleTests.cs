using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationLifecycleTests
{
    private static AllocationCandidate Relayed(System.Net.IPEndPoint address) => new(AllocationCandidateKind.Relayed, address, address);

    private static AllocationEvent New(AllocationCandidate c) => new(AllocationEventKind.New, c);

    private static AllocationEvent Invalid(AllocationCandidate c) => new(AllocationEventKind.Invalid, c);

    [Fact]
    public void Transaction_ids_come_from_the_injected_random_source_and_transmits_have_no_source()
    {
        byte next = 0;
        var a = new Allocation(RelaySocket.FromV4(RelayV4), Username, Password, Realm, Software, T0, bytes =>
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = next++;
            }
        });

        var transmit = a.PollTransmit()!.Value;
        Assert.Null(transmit.Source);
        Assert.Equal(RelayV4, transmit.Destination);
        var binding = new SentRequest(transmit);
        Assert.Equal(new TransactionId([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), binding.Id);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        Assert.Equal(new TransactionId([12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]), Single(a).Id);
    }

    [Fact]
    public void Successful_Allocate_emits_srflx_then_relayed_candidates()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, RelayedV6), T0);
        Assert.Equal(
            new[]
            {
                New(new AllocationCandidate(AllocationCandidateKind.ServerReflexive, MappedV4, LocalV4)),
                New(Relayed(RelayedV4)),
                New(Relayed(RelayedV6)),
            },
            Events(a));
        Assert.Equal(RelayV4, a.ActiveSocket);
    }

    [Fact]
    public void Changed_srflx_emits_new_then_invalid_old()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, Error(allocate, 500), T0);
        Events(a);
        Assert.True(a.IsSuspended);

        a.Refresh(T0 + TimeSpan.FromSeconds(1));
        var again = Single(a);
        var moved = System.Net.IPEndPoint.Parse("203.0.113.6:41000");
        Feed(a, again, BindingSuccess(again, moved), T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(
            new[]
            {
                New(new AllocationCandidate(AllocationCandidateKind.ServerReflexive, moved, LocalV4)),
                Invalid(new AllocationCandidate(AllocationCandidateKind.ServerReflexive, MappedV4, LocalV4)),
            },
            Events(a));
    }

    [Fact]
    public void Refresh_is_scheduled_at_half_the_lifetime_once_and_carries_no_LIFETIME()
    {
        var a = Allocated();
        Assert.Equal(T0 + TimeSpan.FromSeconds(300), a.PollTimeout());
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(299));
        Assert.Empty(Drain(a));
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(300));
        var refresh = Single(a);
        Assert.Equal(StunMethod.Refresh, refresh.Method);
        Assert.False(refresh.Has(StunAttributeType.Lifetime));
        Assert.Equal(Nonce1, refresh.Nonce);
        Assert.Equal(
            new[] { StunAttributeType.Software, StunAttributeType.Username, StunAttributeType.Realm, StunAttributeType.Nonce, StunAttributeType.MessageIntegrity },
            refresh.AttributeTypes);
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(300.5));
        Assert.Empty(Drain(a));
        Assert.Equal(T0 + TimeSpan.FromSeconds(301), a.PollTimeout()); // the retransmission, not a second refresh

        Feed(a, refresh, RefreshSuccess(refresh, 600), T0 + TimeSpan.FromSeconds(300.5));
        Assert.Equal(T0 + TimeSpan.FromSeconds(600.5), a.PollTimeout());
    }

    [Fact]
    public void Refresh_carries_no_REQUESTED_TRANSPORT_or_ADDITIONAL_ADDRESS_FAMILY_deliberate_fix_for_coturn()
    {
        // Upstream repeats both attributes in Refresh; RFC 8656 §7.1 has neither and coturn answers 420 Unknown Attribute.
        var a = Allocated();
        a.Refresh(T0 + TimeSpan.FromSeconds(10));
        var refresh = Single(a);
        Assert.False(refresh.Has(StunAttributeType.RequestedTransport));
        Assert.False(refresh.Has(StunAttributeType.AdditionalAddressFamily));

        var delete = DeleteAfter437();
        Assert.Equal(
            new[] { StunAttributeType.Software, StunAttributeType.Lifetime, StunAttributeType.Username, StunAttributeType.Realm, StunAttributeType.Nonce, StunAttributeType.MessageIntegrity },
            delete.AttributeTypes);
    }

    private static SentRequest DeleteAfter437()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, Error(allocate, 401, Nonce1, Realm, sign: false), T0);
        var allocate2 = Single(a);
        Feed(a, allocate2, Error(allocate2, 437), T0);
        return Single(a);
    }

    [Fact]
    public void Refresh_on_a_live_allocation_sends_a_Refresh_without_LIFETIME_0()
    {
        var a = Allocated();
        a.Refresh(T0 + TimeSpan.FromSeconds(10));
        var refresh = Single(a);
        Assert.Equal(StunMethod.Refresh, refresh.Method);
        Assert.Null(refresh.Lifetime);
    }

    [Fact]
    public void Refresh_while_the_first_Allocate_is_in_flight_does_nothing()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        Single(a);
        a.Refresh(T0 + TimeSpan.FromMilliseconds(100));
        Assert.Empty(Drain(a));
    }

    [Fact]
    public void A_437_on_Refresh_invalidates_v4_then_v6_clears_channels_and_allocates_again()
    {
        var a = Allocated();
        BoundChannel(a, PeerV4, T0);
        a.Refresh(T0 + TimeSpan.FromSeconds(1));
        var refresh = Single(a);
        Feed(a, refresh, Error(refresh, 437), T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(new[] { Invalid(Relayed(RelayedV4)), Invalid(Relayed(RelayedV6)) }, Events(a));
        Assert.Equal(0, a.Channels.Count);
        var allocate = Single(a);
        Assert.Equal(StunMethod.Allocate, allocate.Method);
        Assert.Null(a.EncodeToPeer(PeerV4, new byte[] { 1 }, T0 + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_437_on_Refresh_then_500_on_Allocate_leaves_no_timeout()
    {
        var a = Allocated();
        a.Refresh(T0 + TimeSpan.FromSeconds(1));
        var refresh = Single(a);
        Feed(a, refresh, Error(refresh, 437), T0 + TimeSpan.FromSeconds(1));
        var allocate = Single(a);
        Feed(a, allocate, Error(allocate, 500), T0 + TimeSpan.FromSeconds(1));
        Assert.Null(a.PollTimeout());
        Assert.True(a.IsSuspended);
    }

    [Fact]
    public void A_437_on_Allocate_deletes_the_stale_allocation_and_allocates_after_LIFETIME_0()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, Error(allocate, 437), T0);
        var delete = Single(a);
        Assert.Equal(StunMethod.Refresh, delete.Method);
        Assert.Equal(0u, delete.Lifetime);
        Feed(a, delete, RefreshSuccess(delete, 0), T0);
        var again = Single(a);
        Assert.Equal(StunMethod.Allocate, again.Method);
        Feed(a, again, AllocateSuccess(again, RelayedV4, null), T0);
        Assert.True(a.HasAllocation);
    }

    [Fact]
    public void A_437_on_ChannelBind_reallocates_and_then_rebinds_the_channel()
    {
        var a = Allocated();
        a.BindChannel(PeerV4, T0);
        var bind = Single(a);
        Feed(a, bind, Error(bind, 437), T0);
        var allocate = Single(a);
        Assert.Equal(StunMethod.Allocate, allocate.Method);
        Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, RelayedV6), T0);
        var rebind = Single(a);
        Assert.Equal(StunMethod.ChannelBind, rebind.Method);
        Assert.Equal(PeerV4, rebind.Peer);
    }

    [Fact]
    public void After_500_on_Allocate_refresh_restarts_with_Binding_and_old_buffered_bindings_are_dropped()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        a.BindChannel(PeerV4, T0);
        Assert.Equal(1, a.BufferedChannelBindingCount);
        Feed(a, allocate, Error(allocate, 500), T0);
        Assert.Equal(0, a.BufferedChannelBindingCount);
        Assert.True(a.IsSuspended);

        a.BindChannel(PeerV4b, T0);
        Assert.Equal(0, a.BufferedChannelBindingCount);

        a.Refresh(T0 + TimeSpan.FromSeconds(1));
        var rebinding = Single(a);
        Assert.Equal(StunMethod.Binding, rebinding.Method);
        Feed(a, rebinding, BindingSuccess(rebinding, MappedV4), T0 + TimeSpan.FromSeconds(1));
        var reallocate = Single(a);
        Assert.Equal(StunMethod.Allocate, reallocate.Method);
        Feed(a, reallocate, AllocateSuccess(reallocate, RelayedV4, null), T0 + TimeSpan.FromSeconds(1));
        Assert.Empty(Drain(a));
    }

    [Fact]
    public void A_500_on_the_initial_Binding_leaves_the_allocation_suspended()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Assert.True(Feed(a, binding, Error(binding, 500, sign: false), T0));
        Assert.True(a.IsSuspended);
        Assert.Null(a.PollTimeout());
    }

    [Fact]
    public void A_420_marks_a_protocol_failure()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, Error(allocate, 420), T0);
        Assert.Equal(AllocationFreeReason.ProtocolFailure, a.CanBeFreed());
    }

    [Fact]
    public void A_Refresh_timing_out_through_all_steps_invalidates_both_relay_candidates()
    {
        var a = Allocated();
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(300));
        Single(a);
        while (a.PollTimeout() is { } t && t < T0 + TimeSpan.FromSeconds(320))
        {
            a.HandleTimeout(t);
            Drain(a);
        }

        Assert.Equal(new[] { Invalid(Relayed(RelayedV4)), Invalid(Relayed(RelayedV6)) }, Events(a));
        Assert.Null(a.ActiveSocket);
        Assert.Equal(AllocationFreeReason.NoResponseReceived, a.CanBeFreed());
    }

    [Fact]
    public void Reaching_the_lifetime_invalidates_both_relay_candidates()
    {
        var a = Allocated();
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(300));
        var refresh = Single(a);

        // The relay answers with a short lifetime and is then never asked again before it runs out.
        Feed(a, refresh, RefreshSuccess(refresh, 20), T0 + TimeSpan.FromSeconds(300));
        Assert.Equal(T0 + TimeSpan.FromSeconds(310), a.PollTimeout());
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(320));
        Assert.Equal(new[] { Invalid(Relayed(RelayedV4)), Invalid(Relayed(RelayedV6)) }, Events(a));
        Assert.False(a.HasAllocation);
    }

    [Fact]
    public void Expiry_is_part_of_poll_timeout_deliberate_fix()
    {
        var a = Allocated();
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(300));
        var refresh = Single(a);
        Feed(a, refresh, RefreshSuccess(refresh, 4), T0 + TimeSpan.FromSeconds(300));
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(302));
        Single(a); // the refresh at half of 4 s, left unanswered
        var deadlines = new List<TimeSpan>();
        while (a.HasAllocation && a.PollTimeout() is { } t && deadlines.Count < 20)
        {
            deadlines.Add(t);
            a.HandleTimeout(t);
            Drain(a);
        }

        Assert.Equal(new[] { T0 + TimeSpan.FromSeconds(303), T0 + TimeSpan.FromSeconds(304) }, deadlines);
        Assert.False(a.HasAllocation);
    }

    [Fact]
    public void A_new_allocation_is_not_freeable()
    {
        Assert.Null(NewAllocation().CanBeFreed());
    }

    [Fact]
    public void Suspended_allocation_ignores_channel_binds_and_revives_through_refresh()
    {
        var a = NewAllocation();
        var binding = Single(a);
        while (a.PollTimeout() is { } t)
        {
            a.HandleTimeout(t);
            Drain(a);
        }

        Assert.True(a.IsSuspended);
        a.BindChannel(PeerV4, T0 + TimeSpan.FromSeconds(20));
        Assert.Equal(0, a.BufferedChannelBindingCount);
        a.Refresh(T0 + TimeSpan.FromSeconds(20));
        var again = Single(a);
        Assert.Equal(StunMethod.Binding, again.Method);
        Assert.NotEqual(binding.Id, again.Id);
    }
}
