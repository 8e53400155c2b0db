using System.Net;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationChannelsTests
{
    private static IPEndPoint Peer(int i) => new(IPAddress.Parse("198.51.100.1"), 1000 + i);

    [Fact]
    public void First_channel_is_0x4000()
    {
        var channels = new AllocationChannels();
        Assert.Equal((ushort)0x4000, channels.NewChannelToPeer(PeerV4, T0));
    }

    [Fact]
    public void After_4096_channels_the_next_request_fails_and_at_15_minutes_0x4000_is_reusable()
    {
        var channels = new AllocationChannels();
        for (var i = 0; i < 4096; i++)
        {
            var n = channels.NewChannelToPeer(Peer(i), T0);
            Assert.Equal((ushort)(0x4000 + i), n);
            channels.SetBound(n!.Value, T0);
        }

        Assert.Null(channels.NewChannelToPeer(Peer(5000), T0 + TimeSpan.FromMinutes(10)));
        Assert.Null(channels.NewChannelToPeer(Peer(5000), T0 + TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1)));
        Assert.Equal((ushort)0x4000, channels.NewChannelToPeer(Peer(5000), T0 + TimeSpan.FromMinutes(15)));
    }

    [Fact]
    public void Unused_numbers_are_preferred_over_expired_ones()
    {
        var channels = new AllocationChannels();
        for (var i = 0; i < 100; i++)
        {
            channels.SetBound(channels.NewChannelToPeer(Peer(i), T0)!.Value, T0);
        }

        Assert.Equal((ushort)(0x4000 + 100), channels.NewChannelToPeer(Peer(100), T0 + TimeSpan.FromMinutes(20)));
    }

    [Fact]
    public void Cursor_keeps_advancing_instead_of_reusing_a_freed_first_number()
    {
        var channels = new AllocationChannels();
        var first = channels.NewChannelToPeer(Peer(0), T0)!.Value;
        channels.Remove(first);
        Assert.Equal((ushort)0x4001, channels.NewChannelToPeer(Peer(1), T0));
    }

    [Fact]
    public void Bound_channel_is_usable_for_10_minutes_and_reused_for_the_same_peer_until_15()
    {
        var channels = new AllocationChannels();
        var n = channels.NewChannelToPeer(PeerV4, T0)!.Value;
        Assert.Null(channels.ConnectedChannelToPeer(PeerV4, T0));
        channels.SetBound(n, T0);
        Assert.Equal(n, channels.ConnectedChannelToPeer(PeerV4, T0 + TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1)));
        Assert.Null(channels.ConnectedChannelToPeer(PeerV4, T0 + TimeSpan.FromMinutes(10)));
        Assert.Equal(n, channels.NewChannelToPeer(PeerV4, T0 + TimeSpan.FromMinutes(12)));
        Assert.Equal(PeerV4, channels.ReceivedOn(n, T0 + TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void Bound_channel_cannot_go_to_another_peer_at_10_minutes_1_second_but_can_at_15_minutes()
    {
        var channels = new AllocationChannels();
        for (var i = 0; i < 4096; i++)
        {
            channels.SetBound(channels.NewChannelToPeer(Peer(i), T0)!.Value, T0);
        }

        Assert.Null(channels.NewChannelToPeer(PeerV4b, T0 + TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1)));
        Assert.NotNull(channels.NewChannelToPeer(PeerV4b, T0 + TimeSpan.FromMinutes(15)));
    }

    [Fact]
    public void Unconfirmed_records_do_not_decode_data()
    {
        var channels = new AllocationChannels();
        var n = channels.NewChannelToPeer(PeerV4, T0)!.Value;
        Assert.Null(channels.ReceivedOn(n, T0));
        Assert.Null(channels.ReceivedOn(0x4FFF, T0));
        channels.SetBound(n, T0);
        Assert.Equal(PeerV4, channels.ReceivedOn(n, T0 + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Refresh_is_due_after_5_minutes_only_with_received_data()
    {
        var channels = new AllocationChannels();
        var quiet = channels.NewChannelToPeer(PeerV4, T0)!.Value;
        var busy = channels.NewChannelToPeer(PeerV4b, T0)!.Value;
        channels.SetBound(quiet, T0);
        channels.SetBound(busy, T0);
        channels.ReceivedOn(busy, T0 + TimeSpan.FromMinutes(1));

        var due = new List<(ushort, IPEndPoint)>();
        channels.CollectDueForRefresh(T0 + TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1), due);
        Assert.Empty(due);
        channels.CollectDueForRefresh(T0 + TimeSpan.FromMinutes(5), due);
        Assert.Equal(new[] { (busy, PeerV4b) }, due);
        Assert.Equal(T0 + TimeSpan.FromMinutes(5), channels.NextRefresh());
    }

    [Fact]
    public void An_unconfirmed_peer_keeps_its_number_on_the_next_attempt_deliberate_fix()
    {
        // Upstream hands out a new number; if the lost ChannelBind did reach the relay, the relay then answers 400
        // ("peer already bound to another channel") until the first binding cools down.
        var channels = new AllocationChannels();
        var n = channels.NewChannelToPeer(PeerV4, T0)!.Value;
        Assert.Equal(n, channels.NewChannelToPeer(PeerV4, T0 + TimeSpan.FromSeconds(9)));
        Assert.Equal(1, channels.Count);
    }
}
