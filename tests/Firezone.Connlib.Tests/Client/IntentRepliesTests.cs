using Firezone.Connlib.Client;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>The host's mapping of connection-intent replies (tunnel spec §4.5 "Host mapping"; the clients/shared event-loop tests of §10).</summary>
public sealed class IntentRepliesTests
{
    [Fact]
    public void An_older_intents_reply_is_discarded_when_a_newer_intent_exists()
    {
        var replies = new IntentReplies();
        replies.Sent("1", Rid(1));
        replies.Sent("2", Rid(1));
        Assert.False(replies.TryAccept("1", out _));
        Assert.True(replies.TryAccept("2", out var resource));
        Assert.Equal(Rid(1), resource);
    }

    [Fact]
    public void Unrelated_intents_are_independent()
    {
        var replies = new IntentReplies();
        replies.Sent("1", Rid(1));
        replies.Sent("2", Rid(2));
        Assert.True(replies.TryAccept("1", out var first));
        Assert.True(replies.TryAccept("2", out var second));
        Assert.Equal((Rid(1), Rid(2)), (first, second));
    }

    [Fact]
    public void Out_of_order_replies_accept_the_newest_only_and_accepting_forgets_every_intent_of_the_resource()
    {
        var replies = new IntentReplies();
        replies.Sent("1", Rid(1));
        replies.Sent("2", Rid(1));
        replies.Sent("3", Rid(1));
        Assert.True(replies.TryAccept("3", out _));
        Assert.False(replies.TryAccept("2", out _));
        Assert.False(replies.TryAccept("1", out _));
        Assert.Equal(0, replies.Count);
    }

    [Fact]
    public void A_reply_to_an_unknown_reference_is_discarded()
    {
        Assert.False(new IntentReplies().TryAccept("42", out _));
    }

    [Fact]
    public void A_portal_that_never_answers_cannot_grow_the_table_past_its_cap()
    {
        var replies = new IntentReplies();
        for (int i = 0; i < 10_000; i++)
        {
            replies.Sent(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Rid(i % 50));
        }

        Assert.Equal(IntentReplies.MaxPending, replies.Count);
        Assert.True(replies.TryAccept("9999", out var resource)); // the newest still works
        Assert.Equal(Rid(9999 % 50), resource);
    }

    [Fact]
    public void Sending_and_accepting_forever_keeps_the_bookkeeping_bounded()
    {
        var replies = new IntentReplies();
        for (int i = 0; i < 100_000; i++)
        {
            var reference = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            replies.Sent(reference, Rid(i % 7));
            Assert.True(replies.TryAccept(reference, out _));
        }

        Assert.True(replies.QueuedReferences <= 2 * IntentReplies.MaxPending + 1);
    }
}
