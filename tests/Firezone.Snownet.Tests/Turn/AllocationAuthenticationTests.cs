using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationAuthenticationTests
{
    private static (Allocation A, SentRequest Allocate) AfterBinding()
    {
        var a = NewAllocation();
        var binding = Single(a);
        Assert.True(Feed(a, binding, BindingSuccess(binding, MappedV4), T0));
        return (a, Single(a));
    }

    [Fact]
    public void Binding_request_carries_only_SOFTWARE()
    {
        var binding = Single(NewAllocation());
        Assert.Equal(StunMethod.Binding, binding.Method);
        Assert.Equal(StunClass.Request, binding.Class);
        Assert.Equal(new[] { StunAttributeType.Software }, binding.AttributeTypes);
        Assert.Equal(Software, binding.Software);
        Assert.Equal(RelayV4, binding.Destination);
    }

    [Fact]
    public void First_Allocate_carries_no_credentials_before_a_nonce_is_known_deliberate_fix_RFC_8489_9_2_3_1()
    {
        // Upstream sends USERNAME, REALM and MESSAGE-INTEGRITY without NONCE here; coturn answers that with an
        // unsigned 400. Without credentials both coturn and the Firezone relay answer with a 401 challenge.
        var (_, allocate) = AfterBinding();
        Assert.Equal(StunMethod.Allocate, allocate.Method);
        Assert.Equal(
            new[] { StunAttributeType.RequestedTransport, StunAttributeType.AdditionalAddressFamily, StunAttributeType.Software },
            allocate.AttributeTypes);
        Assert.Null(allocate.Nonce);
        Assert.False(allocate.Has(StunAttributeType.Lifetime));
        Assert.False(allocate.Has(StunAttributeType.Fingerprint));
    }

    [Fact]
    public void Allocate_after_the_challenge_has_username_realm_nonce_integrity_in_spec_order()
    {
        var (a, allocate) = AfterBinding();
        Feed(a, allocate, Error(allocate, 401, Nonce1, Realm, sign: false), T0);
        var retry = Single(a);
        Assert.Equal(
            new[]
            {
                StunAttributeType.RequestedTransport, StunAttributeType.AdditionalAddressFamily, StunAttributeType.Software,
                StunAttributeType.Username, StunAttributeType.Realm, StunAttributeType.Nonce, StunAttributeType.MessageIntegrity,
            },
            retry.AttributeTypes);
        Assert.Equal(Username, retry.Username);
        Assert.Equal(Realm, retry.Realm);
        Assert.True(retry.IntegrityValid);
    }

    [Fact]
    public void A_401_with_a_nonce_is_retried_with_that_nonce_and_a_new_transaction_id()
    {
        var (a, allocate) = AfterBinding();
        Assert.True(Feed(a, allocate, Error(allocate, 401, Nonce1, Realm), T0));
        var retry = Single(a);
        Assert.Equal(StunMethod.Allocate, retry.Method);
        Assert.Equal(Nonce1, retry.Nonce);
        Assert.NotEqual(allocate.Id, retry.Id);
        Assert.True(retry.IntegrityValid);
        Assert.Equal(StunAttributeType.Nonce, retry.AttributeTypes[^2]);
    }

    [Fact]
    public void A_second_401_stops_retrying_and_frees_with_AuthenticationError()
    {
        var (a, allocate) = AfterBinding();
        Feed(a, allocate, Error(allocate, 401, Nonce1, Realm), T0);
        var retry = Single(a);
        Assert.True(Feed(a, retry, Error(retry, 401, Nonce2, Realm), T0));
        Assert.Empty(Drain(a));
        Assert.Null(a.PollTimeout());
        Assert.False(a.HasCredentials);
        Assert.Null(a.CanBeFreed()); // the srflx event is still waiting to be polled
        Events(a);
        Assert.Equal(AllocationFreeReason.AuthenticationError, a.CanBeFreed());
    }

    [Fact]
    public void A_438_is_retried_with_the_new_nonce()
    {
        var a = Allocated();
        a.Refresh(T0 + TimeSpan.FromSeconds(1));
        var refresh = Single(a);
        Assert.Equal(Nonce1, refresh.Nonce);
        Assert.True(Feed(a, refresh, Error(refresh, 438, Nonce2, Realm), T0 + TimeSpan.FromSeconds(1)));
        var retry = Single(a);
        Assert.Equal(StunMethod.Refresh, retry.Method);
        Assert.Equal(Nonce2, retry.Nonce);
        Assert.True(a.HasAllocation);
    }

    [Fact]
    public void Unsigned_401_challenge_is_accepted_deliberate_fix_for_standard_servers()
    {
        // Upstream requires MESSAGE-INTEGRITY on every non-Binding response and therefore cannot talk to coturn.
        var (a, allocate) = AfterBinding();
        Assert.True(Feed(a, allocate, Error(allocate, 401, Nonce1, Realm, sign: false), T0));
        var retry = Single(a);
        Assert.Equal(Nonce1, retry.Nonce);
    }

    [Fact]
    public void Unsigned_or_wrongly_signed_success_is_ignored_and_the_request_stays_in_flight()
    {
        var (a, allocate) = AfterBinding();
        var unsigned = Response(allocate, StunClass.SuccessResponse, (ref StunMessageBuilder b) =>
        {
            b.AddXorRelayedAddress(RelayedV4);
            b.AddLifetime(600);
        }, sign: false);
        Assert.True(Feed(a, allocate, unsigned, T0));
        Assert.False(a.HasAllocation);
        Assert.Equal(1, a.InFlightCount);

        var forged = (byte[])AllocateSuccess(allocate, RelayedV4, null).Clone();
        forged[^1] ^= 1;
        Assert.True(Feed(a, allocate, forged, T0));
        Assert.False(a.HasAllocation);

        Assert.Equal(2, a.IgnoredResponses);
        Assert.True(Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, null), T0));
        Assert.True(a.HasAllocation);
        Assert.Equal(2, a.IgnoredResponses);
    }

    [Fact]
    public void Unsigned_error_other_than_a_challenge_is_ignored()
    {
        var (a, allocate) = AfterBinding();
        Assert.True(Feed(a, allocate, Error(allocate, 437, sign: false), T0));
        Assert.Empty(Drain(a));
        Assert.Equal(1, a.InFlightCount);
    }

    [Fact]
    public void A_different_realm_is_refused()
    {
        var (a, allocate) = AfterBinding();
        Assert.True(Feed(a, allocate, Error(allocate, 401, Nonce1, "evil"), T0));
        Assert.Empty(Drain(a));
        Assert.Equal(0, a.InFlightCount);
    }

    [Fact]
    public void A_challenge_without_nonce_is_not_retried_deliberate_fix()
    {
        var (a, allocate) = AfterBinding();
        Assert.True(Feed(a, allocate, Error(allocate, 401, nonce: null, Realm), T0));
        Assert.Empty(Drain(a));
    }

    [Fact]
    public void A_401_on_a_Refresh_that_carried_a_nonce_invalidates_both_relay_candidates_and_frees()
    {
        var a = Allocated();
        a.Refresh(T0 + TimeSpan.FromSeconds(5));
        var refresh = Single(a);
        Assert.True(Feed(a, refresh, Error(refresh, 401, Nonce2, Realm), T0 + TimeSpan.FromSeconds(5)));
        var events = Events(a);
        Assert.Equal(
            new[]
            {
                new AllocationEvent(AllocationEventKind.Invalid, new AllocationCandidate(AllocationCandidateKind.Relayed, RelayedV4, RelayedV4)),
                new AllocationEvent(AllocationEventKind.Invalid, new AllocationCandidate(AllocationCandidateKind.Relayed, RelayedV6, RelayedV6)),
            },
            events);
        Assert.Empty(Drain(a));
        Assert.Null(a.PollTimeout());
        Assert.Equal(AllocationFreeReason.AuthenticationError, a.CanBeFreed());
    }

    [Fact]
    public void Responses_from_elsewhere_or_with_unknown_ids_are_not_handled()
    {
        var (a, allocate) = AfterBinding();
        var response = AllocateSuccess(allocate, RelayedV4, null);
        Assert.False(a.HandleInput(response, PeerV4, LocalV4, T0));
        Assert.False(a.HandleInput(Response(allocate, StunClass.Request, sign: false), RelayV4, LocalV4, T0));
        Assert.False(a.HandleInput(new byte[] { 0x40, 0x00, 0x00, 0x00 }, RelayV4, LocalV4, T0));
        Assert.False(a.HasAllocation);
        Assert.True(Feed(a, allocate, response, T0));
        Assert.True(a.HasAllocation);

        // Answered once: a duplicate is an unknown transaction.
        Assert.False(Feed(a, allocate, response, T0));
    }
}
