using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationDualStackTests
{
    private static readonly RelaySocket Dual = RelaySocket.Dual(RelayV4, RelayV6);

    [Fact]
    public void Bindings_go_to_both_addresses_and_the_first_answer_selects_the_active_socket()
    {
        var a = NewAllocation(Dual);
        var sent = Drain(a);
        Assert.Equal(new[] { RelayV4, RelayV6 }, sent.Select(s => s.Destination));
        var v6 = sent[1];
        Feed(a, v6, BindingSuccess(v6, MappedV6), T0);
        Assert.Equal(RelayV6, a.ActiveSocket);
        var allocate = Single(a);
        Assert.Equal(RelayV6, allocate.Destination);

        var v4 = sent[0];
        Feed(a, v4, BindingSuccess(v4, MappedV4), T0);
        Assert.Empty(Drain(a));
        Assert.Equal(RelayV6, a.ActiveSocket);
        Assert.Equal(
            new[]
            {
                new AllocationEvent(AllocationEventKind.New, new AllocationCandidate(AllocationCandidateKind.ServerReflexive, MappedV6, LocalV6)),
                new AllocationEvent(AllocationEventKind.New, new AllocationCandidate(AllocationCandidateKind.ServerReflexive, MappedV4, LocalV4)),
            },
            Events(a));

        Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, RelayedV6), T0);
        BoundChannel(a, PeerV4, T0);
        Assert.Equal(RelayV6, a.EncodeToPeer(PeerV4, "x"u8, T0)!.Value.Destination);
    }

    [Fact]
    public void With_only_IPv4_answered_the_IPv6_Binding_and_the_Allocate_retransmit_until_they_give_up()
    {
        var a = NewAllocation(Dual);
        var sent = Drain(a);
        Feed(a, sent[0], BindingSuccess(sent[0], MappedV4), T0);
        Single(a);
        var kinds = new List<(double, StunMethod, System.Net.IPEndPoint)>();
        while (a.PollTimeout() is { } t)
        {
            a.HandleTimeout(t);
            kinds.AddRange(Drain(a).Select(s => ((t - T0).TotalSeconds, s.Method, s.Destination)));
        }

        Assert.Equal(3, kinds.Count(k => k.Item2 == StunMethod.Binding && k.Item3.Equals(RelayV6)));
        Assert.Equal(3, kinds.Count(k => k.Item2 == StunMethod.Allocate && k.Item3.Equals(RelayV4)));
        Assert.Null(a.CanBeFreed());
        Assert.True(a.IsSuspended);
        Assert.Equal(RelayV4, a.ActiveSocket);
    }

    [Fact]
    public void RelaySocket_matches_either_address()
    {
        Assert.True(RelaySocket.FromV4(RelayV4).Matches(RelayV4));
        Assert.False(RelaySocket.FromV4(RelayV4).Matches(RelayV6));
        Assert.True(RelaySocket.FromV6(RelayV6).Matches(RelayV6));
        Assert.False(RelaySocket.FromV6(RelayV6).Matches(RelayV4));
        Assert.True(Dual.Matches(RelayV4));
        Assert.True(Dual.Matches(RelayV6));
        Assert.False(Dual.Matches(PeerV4));
    }

    [Fact]
    public void Same_configuration_is_recognised_for_update_relays()
    {
        var a = NewAllocation(Dual);
        Assert.True(a.HasSameConfiguration(RelaySocket.Dual(RelayV4, RelayV6), Username, Password));
        Assert.False(a.HasSameConfiguration(RelaySocket.FromV4(RelayV4), Username, Password));
        Assert.False(a.HasSameConfiguration(Dual, Username, "other"));
        Assert.False(a.HasSameConfiguration(Dual, "other", Password));
    }
}
