using System.Buffers.Binary;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationChannelBindingTests
{
    [Fact]
    public void ChannelBind_has_peer_channel_software_credentials_in_spec_order()
    {
        var a = Allocated();
        a.BindChannel(PeerV4, T0);
        var bind = Single(a);
        Assert.Equal(
            new[]
            {
                StunAttributeType.XorPeerAddress, StunAttributeType.ChannelNumber, StunAttributeType.Software,
                StunAttributeType.Username, StunAttributeType.Realm, StunAttributeType.Nonce, StunAttributeType.MessageIntegrity,
            },
            bind.AttributeTypes);
        Assert.Equal(PeerV4, bind.Peer);
        Assert.Equal((ushort)0x4000, bind.Channel);
        Assert.Equal(RelayV4, bind.Destination);
        Assert.True(bind.IntegrityValid);
    }

    [Fact]
    public void Bind_requested_before_the_allocation_is_buffered_and_sent_after_Allocate_success_in_order_once()
    {
        var a = NewAllocation();
        var binding = Single(a);
        a.BindChannel(PeerV4, T0);
        a.BindChannel(PeerV4b, T0);
        a.BindChannel(PeerV4, T0);
        a.BindChannel(PeerV6, T0);
        Assert.Equal(3, a.BufferedChannelBindingCount);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, null), T0);
        var binds = Drain(a);
        Assert.Equal(new[] { PeerV4, PeerV4b }, binds.Select(b => b.Peer));
        Assert.All(binds, b => Assert.Equal(StunMethod.ChannelBind, b.Method));
        Assert.Equal(0, a.BufferedChannelBindingCount);
    }

    [Fact]
    public void Buffer_keeps_the_latest_100_peers()
    {
        var a = NewAllocation();
        var binding = Single(a);
        for (var i = 0; i < 150; i++)
        {
            a.BindChannel(new System.Net.IPEndPoint(PeerV4.Address, 1000 + i), T0);
        }

        Assert.Equal(100, a.BufferedChannelBindingCount);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, AllocateSuccess(allocate, RelayedV4, null), T0);
        var binds = Drain(a);
        Assert.Equal(100, binds.Count);
        Assert.Equal(1050, binds[0].Peer!.Port);
    }

    [Fact]
    public void No_bind_while_one_to_the_same_peer_is_in_flight_but_another_peer_proceeds()
    {
        var a = Allocated();
        a.BindChannel(PeerV4, T0);
        Single(a);
        a.BindChannel(PeerV4, T0);
        Assert.Empty(Drain(a));
        a.BindChannel(PeerV4b, T0);
        var second = Single(a);
        Assert.Equal(PeerV4b, second.Peer);
        Assert.Equal((ushort)0x4001, second.Channel);
    }

    [Fact]
    public void No_bind_to_a_family_without_relayed_address()
    {
        var v4Only = Allocated(dual: false);
        v4Only.BindChannel(PeerV6, T0);
        Assert.Empty(Drain(v4Only));

        var a = NewAllocation();
        var binding = Single(a);
        Feed(a, binding, BindingSuccess(binding, MappedV4), T0);
        var allocate = Single(a);
        Feed(a, allocate, AllocateSuccess(allocate, null, RelayedV6), T0);
        a.BindChannel(PeerV4, T0);
        Assert.Empty(Drain(a));
        a.BindChannel(PeerV6, T0);
        Assert.Equal(PeerV6, Single(a).Peer);
    }

    [Fact]
    public void Confirmed_channel_frames_data_as_ChannelData_to_the_relay_and_unconfirmed_sends_nothing()
    {
        var a = Allocated();
        a.BindChannel(PeerV4, T0);
        var bind = Single(a);
        Assert.Null(a.EncodeToPeer(PeerV4, "ping"u8, T0));
        Feed(a, bind, ChannelBindSuccess(bind), T0);
        var t = a.EncodeToPeer(PeerV4, "ping"u8, T0)!.Value;
        Assert.Equal(RelayV4, t.Destination);
        Assert.Equal(new byte[] { 0x40, 0x00, 0x00, 0x04, (byte)'p', (byte)'i', (byte)'n', (byte)'g' }, t.Payload);

        var packet = new byte[4 + 5];
        "hello"u8.CopyTo(packet.AsSpan(4));
        Assert.Equal(RelayV4, a.WriteChannelDataHeader(PeerV4, packet, 5, T0));
        Assert.Equal((ushort)0x4000, BinaryPrimitives.ReadUInt16BigEndian(packet));
        Assert.Equal((ushort)5, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
        Assert.Null(a.WriteChannelDataHeader(PeerV4b, packet, 5, T0));
    }

    [Fact]
    public void Rebinding_an_already_bound_peer_sends_nothing()
    {
        var a = Allocated();
        BoundChannel(a, PeerV4, T0);
        a.BindChannel(PeerV4, T0 + TimeSpan.FromMinutes(1));
        Assert.Empty(Drain(a));
    }

    [Fact]
    public void A_ChannelBind_error_removes_the_channel()
    {
        var a = Allocated();
        a.BindChannel(PeerV4, T0);
        var bind = Single(a);
        Feed(a, bind, Error(bind, 400), T0);
        Assert.Equal(0, a.Channels.Count);
        Assert.Null(a.EncodeToPeer(PeerV4, "x"u8, T0));
    }

    [Fact]
    public void Framing_decoding_and_idle_timers_of_a_bound_channel_allocate_nothing()
    {
        var a = Allocated();
        var channel = BoundChannel(a, PeerV4, T0);
        var packet = new byte[4 + 1312];
        var frame = ChannelData.Encode(channel, new byte[1312]);
        var now = T0 + TimeSpan.FromSeconds(1);
        int Tick()
        {
            int ok = ReferenceEquals(a.WriteChannelDataHeader(PeerV4, packet, 1312, now), a.ActiveSocket) ? 1 : 0;
            ok += a.TryDecapsulate(frame, RelayV4, now, out _, out _, out _) ? 1 : 0;
            a.HandleTimeout(now); // nothing due: the allocation refresh is at 300 s, the channel's at 5 min
            return ok + (a.PollTimeout() is not null ? 1 : 0);
        }

        Assert.Equal(3, Tick()); // warm up
        int done = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            done += Tick();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(30_000, done);
        Assert.Null(a.PollTransmit());
    }

    [Fact]
    public void Bound_channel_decodes_data_into_peer_payload_and_our_relayed_address()
    {
        var a = Allocated();
        BoundChannel(a, PeerV4, T0);
        BoundChannel(a, PeerV6, T0);
        var frame = new byte[] { 0x40, 0x00, 0x00, 0x05, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o', 0, 0, 0 };
        Assert.True(a.TryDecapsulate(frame, RelayV4, T0 + TimeSpan.FromSeconds(1), out var peer, out var relayed, out var payload));
        Assert.Equal(PeerV4, peer);
        Assert.Equal(RelayedV4, relayed);
        Assert.Equal("hello"u8.ToArray(), frame[payload]);

        frame[1] = 0x01;
        Assert.True(a.TryDecapsulate(frame, RelayV4, T0 + TimeSpan.FromSeconds(1), out peer, out relayed, out _));
        Assert.Equal(PeerV6, peer);
        Assert.Equal(RelayedV6, relayed);

        Assert.Equal(0, a.DroppedChannelData);
        frame[1] = 0x02;
        Assert.False(a.TryDecapsulate(frame, RelayV4, T0, out _, out _, out _));
        Assert.False(a.TryDecapsulate(frame.AsSpan(0, 3), RelayV4, T0, out _, out _, out _));
        Assert.Equal(2, a.DroppedChannelData);
        frame[1] = 0x00;
        Assert.False(a.TryDecapsulate(frame, PeerV4, T0, out _, out _, out _));
        Assert.Equal(2, a.DroppedChannelData); // not from the relay: not ours to count
    }

    [Fact]
    public void Channel_with_received_data_is_rebound_after_5_minutes_unless_a_bind_is_in_flight_and_the_instant_is_in_poll_timeout_deliberate_fix()
    {
        var a = Allocated();
        var channel = BoundChannel(a, PeerV4, T0);
        var quiet = BoundChannel(a, PeerV4b, T0);
        var frame = new byte[] { (byte)(channel >> 8), (byte)channel, 0, 1, 42 };
        Assert.True(a.TryDecapsulate(frame, RelayV4, T0 + TimeSpan.FromMinutes(1), out _, out _, out _));

        a.HandleTimeout(T0 + TimeSpan.FromMinutes(4));
        Assert.Empty(Drain(a));
        Assert.Equal(T0 + TimeSpan.FromMinutes(5), a.PollTimeout());

        a.HandleTimeout(T0 + TimeSpan.FromMinutes(5));
        var sent = Drain(a);
        var rebind = Assert.Single(sent, s => s.Method == StunMethod.ChannelBind);
        Assert.Equal(channel, rebind.Channel);
        Assert.Equal(PeerV4, rebind.Peer);
        Assert.DoesNotContain(sent, s => s.Channel == quiet);

        a.HandleTimeout(T0 + TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(Drain(a), s => s.Method == StunMethod.ChannelBind);

        Feed(a, rebind, ChannelBindSuccess(rebind), T0 + TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(500));
        Assert.Equal(channel, a.EncodeToPeer(PeerV4, "x"u8, T0 + TimeSpan.FromMinutes(14)) is { } t ? BinaryPrimitives.ReadUInt16BigEndian(t.Payload.Span) : 0);
        Assert.Null(a.EncodeToPeer(PeerV4b, "x"u8, T0 + TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void Bind_in_the_cool_down_window_reuses_the_number_for_the_same_peer()
    {
        var a = Allocated();
        var channel = BoundChannel(a, PeerV4, T0);
        foreach (var minute in new[] { 5, 11 })
        {
            var now = T0 + TimeSpan.FromMinutes(minute);
            a.HandleTimeout(now);
            foreach (var s in Drain(a))
            {
                Assert.Equal(StunMethod.Refresh, s.Method);
                Feed(a, s, RefreshSuccess(s), now);
            }
        }

        Assert.Null(a.EncodeToPeer(PeerV4, "x"u8, T0 + TimeSpan.FromMinutes(12)));
        a.BindChannel(PeerV4, T0 + TimeSpan.FromMinutes(12));
        var bind = Single(a);
        Assert.Equal(channel, bind.Channel);
    }
}
