using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>The relay properties of relay.md §11, reproduced with FsCheck.</summary>
public class TurnServerPropertyTests
{
    public sealed record Inputs(ulong IdHigh, uint IdLow, uint Lifetime, ushort Channel, string Salt, Guid Nonce, IPEndPoint Client, IPEndPoint Peer, IPAddress RelayV4, IPAddress RelayV6, IPEndPoint ClientV6, IPEndPoint PeerV6)
    {
        internal TransactionId Id => RelayTestKit.Id(IdHigh, IdLow);
    }

    public static class Generators
    {
        private static Gen<IPEndPoint> EndPoint(int length) =>
            from bytes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length)
            from port in Gen.Choose(0, 65535)
            select new IPEndPoint(new IPAddress(bytes), port);

        public static Arbitrary<Inputs> Inputs() =>
            (from high in ArbMap.Default.GeneratorFor<ulong>()
             from low in ArbMap.Default.GeneratorFor<uint>()
             from lifetime in Gen.Choose(1, 3599)
             from channel in Gen.Choose(0x4000, 0x4FFF)
             from salt in Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".ToCharArray()), 10)
             from nonce in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 16)
             from client in EndPoint(4)
             from peer in EndPoint(4)
             from relay4 in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 4)
             from relay6 in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 16)
             from client6 in EndPoint(16)
             from peer6 in EndPoint(16)
             select new Inputs(high, low, (uint)lifetime, (ushort)channel, new string(salt), new Guid(nonce), client, peer, new IPAddress(relay4), new IPAddress(relay6), client6, peer6))
            .ToArbitrary();
    }

    private static byte[] Allocate(TransactionId id, string username, Guid nonce, byte[] key, uint? lifetime, StunAddressFamily? raf = null) =>
        Message(StunMethod.Allocate, StunClass.Request, id, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            if (lifetime is { } l)
            {
                b.AddLifetime(l);
            }

            if (raf is { } f)
            {
                b.AddRequestedAddressFamily(f);
            }
        }, username, nonce.ToString(), key);

    private static byte[] Refresh(TransactionId id, string username, Guid nonce, byte[] key, uint lifetime) =>
        Message(StunMethod.Refresh, StunClass.Request, id, (ref StunMessageBuilder b) => b.AddLifetime(lifetime), username, nonce.ToString(), key);

    private static byte[] ChannelBind(TransactionId id, string username, Guid nonce, byte[] key, ushort channel, IPEndPoint peer) =>
        Message(StunMethod.ChannelBind, StunClass.Request, id, (ref StunMessageBuilder b) =>
        {
            b.AddChannelNumber(channel);
            b.AddXorPeerAddress(peer);
        }, username, nonce.ToString(), key);

    private static byte[] Success(StunMethod method, TransactionId id, byte[] key, IPEndPoint? relayed = null, IPEndPoint? mapped = null, uint? lifetime = null) =>
        Message(method, StunClass.SuccessResponse, id, (ref StunMessageBuilder b) =>
        {
            if (relayed is not null)
            {
                b.AddXorRelayedAddress(relayed);
            }

            if (mapped is not null)
            {
                b.AddXorMappedAddress(mapped);
            }

            if (lifetime is { } l)
            {
                b.AddLifetime(l);
            }
        }, key: key);

    private sealed record Allocated(TurnServer Server, string Username, byte[] Key);

    private static Allocated AllocateAt(Inputs x, TimeSpan now, uint? lifetime, IPEndPoint client, TurnServer? server = null, StunAddressFamily? raf = null)
    {
        server ??= ZeroServer(x.RelayV4);
        server.AddNonce(x.Nonce);
        // Upstream checks expiry against the real wall clock; with simulated time the username must outlive the whole test.
        string username = ValidUsername(x.Salt, now + TimeSpan.FromHours(2));
        byte[] key = Key(server, username);
        Assert.Null(server.HandleClientInput(Allocate(x.Id, username, x.Nonce, key, lifetime, raf), client, now, Wall(now)));
        var commands = Drain(server);
        Assert.Equal(2, commands.Count);
        bool v6 = raf == StunAddressFamily.IPv6;
        AssertCreate(commands[0], 49152, v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        AssertSend(commands[1], client, Success(StunMethod.Allocate, x.Id, key, new IPEndPoint(v6 ? x.RelayV6 : x.RelayV4, 49152), client, lifetime ?? 600));
        return new Allocated(server, username, key);
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P1_binding_from_ipv4_returns_only_xor_mapped_address(Inputs x)
    {
        var server = ZeroServer(x.RelayV4);
        var request = Message(StunMethod.Binding, StunClass.Request, x.Id, (ref StunMessageBuilder _) => { });
        Assert.Null(server.HandleClientInput(request, x.Client, Start, Wall(Start)));
        AssertSend(Single(server), x.Client, Message(StunMethod.Binding, StunClass.SuccessResponse, x.Id, (ref StunMessageBuilder b) => b.AddXorMappedAddress(x.Client)));
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P2_deallocate_once_expired(Inputs x)
    {
        var a = AllocateAt(x, Start, x.Lifetime, x.Client);
        Assert.Equal(Start + TimeSpan.FromSeconds(x.Lifetime), a.Server.PollTimeout());
        a.Server.HandleTimeout(Start + TimeSpan.FromSeconds(x.Lifetime + 1));
        AssertFree(Single(a.Server), 49152, AddressFamily.InterNetwork);
        Assert.Equal(0, a.Server.AllocationCount);
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P3_unauthenticated_allocate_triggers_auth(Inputs x)
    {
        var server = ZeroServer(x.RelayV4);
        var unauthenticated = Message(StunMethod.Allocate, StunClass.Request, x.Id, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            b.AddLifetime(x.Lifetime);
        });
        Assert.Null(server.HandleClientInput(unauthenticated, x.Client, Start, Wall(Start)));
        AssertSend(Single(server), x.Client, Message(StunMethod.Allocate, StunClass.ErrorResponse, x.Id, (ref StunMessageBuilder b) =>
        {
            b.AddErrorCode(401, "Unauthorized");
            b.AddRealm("firezone");
            b.AddNonce("00000000-0000-0000-0000-000000000000");
        }));

        string username = ValidUsername(x.Salt, Start);
        byte[] key = Key(server, username);
        Assert.Null(server.HandleClientInput(Allocate(x.Id, username, Guid.Empty, key, x.Lifetime), x.Client, Start, Wall(Start)));
        var commands = Drain(server);
        Assert.Equal(2, commands.Count);
        AssertCreate(commands[0], 49152, AddressFamily.InterNetwork);
        AssertSend(commands[1], x.Client, Success(StunMethod.Allocate, x.Id, key, new IPEndPoint(x.RelayV4, 49152), x.Client, x.Lifetime));
        Assert.Equal(Start + TimeSpan.FromSeconds(x.Lifetime), server.PollTimeout());
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P4_refresh_in_time_replaces_expiry(Inputs x, PositiveInt secondLifetimeSeed)
    {
        uint l2 = 1 + ((uint)secondLifetimeSeed.Get % 3599);
        var a = AllocateAt(x, Start, x.Lifetime, x.Client);
        var t1 = Start + TimeSpan.FromSeconds(x.Lifetime / 2.0);
        Assert.Null(a.Server.HandleClientInput(Refresh(x.Id, a.Username, x.Nonce, a.Key, l2), x.Client, t1, Wall(t1)));
        AssertSend(Single(a.Server), x.Client, Success(StunMethod.Refresh, x.Id, a.Key, lifetime: l2));
        Assert.Equal(t1 + TimeSpan.FromSeconds(l2), a.Server.PollTimeout());
        a.Server.HandleTimeout(t1 + TimeSpan.FromSeconds(l2 - 1));
        Assert.Empty(Drain(a.Server));
        Assert.Equal(1, a.Server.AllocationCount);
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P5_refresh_with_zero_deletes(Inputs x)
    {
        var a = AllocateAt(x, Start, x.Lifetime, x.Client);
        Assert.Null(a.Server.HandleClientInput(Refresh(x.Id, a.Username, x.Nonce, a.Key, 0), x.Client, Start + TimeSpan.FromSeconds(1), Wall(Start + TimeSpan.FromSeconds(1))));
        var commands = Drain(a.Server);
        Assert.Equal(2, commands.Count);
        AssertFree(commands[0], 49152, AddressFamily.InterNetwork);
        AssertSend(commands[1], x.Client, Success(StunMethod.Refresh, x.Id, a.Key, lifetime: 0));
        a.Server.HandleTimeout(Start + TimeSpan.FromSeconds(x.Lifetime + 1));
        Assert.Empty(Drain(a.Server));
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P6_freeing_allocation_clears_channels(Inputs x, bool ipv6Client)
    {
        var client = ipv6Client ? x.ClientV6 : x.Client;
        var a = AllocateAt(x, Start, null, client);
        Assert.Null(a.Server.HandleClientInput(ChannelBind(x.Id, a.Username, x.Nonce, a.Key, x.Channel, x.Peer), client, Start, Wall(Start)));
        Assert.Equal(1, a.Server.BoundChannelCount);
        Assert.Null(a.Server.HandleClientInput(Refresh(x.Id, a.Username, x.Nonce, a.Key, 0), client, Start, Wall(Start)));
        Assert.Equal(0, a.Server.BoundChannelCount);
        Assert.Equal(0, a.Server.AllocationCount);
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P7_ping_pong_relay(Inputs x, byte[] payload)
    {
        payload ??= [];
        var a = AllocateAt(x, Start, 3600, x.Client);
        var t = Start + TimeSpan.FromSeconds(1);
        Assert.Null(a.Server.HandleClientInput(ChannelBind(x.Id, a.Username, x.Nonce, a.Key, x.Channel, x.Peer), x.Client, t, Wall(t)));
        AssertSend(Single(a.Server), x.Client, Success(StunMethod.ChannelBind, x.Id, a.Key));
        Assert.Equal(t + TimeSpan.FromSeconds(600), a.Server.PollTimeout());

        var frame = ChannelData.Encode(x.Channel, payload);
        var toPeer = a.Server.HandleClientInput(frame, x.Client, t + TimeSpan.FromSeconds(1), Wall(t + TimeSpan.FromSeconds(1)));
        Assert.Equal(new RelayToPeer(49152, x.Peer, x.Peer.Serialize(), 4, payload.Length), toPeer);

        var toClient = a.Server.HandlePeerTraffic(new byte[32], x.Peer, 49152, t + TimeSpan.FromSeconds(1));
        Assert.NotNull(toClient);
        Assert.Equal(x.Client, toClient.Value.Client);
        Assert.Equal(x.Channel, toClient.Value.Channel);
        Assert.Empty(Drain(a.Server));
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P8_rebind_after_expiry(Inputs x)
    {
        var a = AllocateAt(x, Start, 3600, x.Client);
        var t = Start + TimeSpan.FromSeconds(1);
        Assert.Null(a.Server.HandleClientInput(ChannelBind(x.Id, a.Username, x.Nonce, a.Key, x.Channel, x.Peer), x.Client, t, Wall(t)));
        Drain(a.Server);
        Assert.Equal(t + TimeSpan.FromSeconds(600), a.Server.PollTimeout());
        a.Server.HandleTimeout(t + TimeSpan.FromSeconds(601));
        Assert.Equal(t + TimeSpan.FromSeconds(900), a.Server.PollTimeout());
        Assert.Equal(0, a.Server.BoundChannelCount);
        var later = t + TimeSpan.FromSeconds(601 + 301);
        a.Server.HandleTimeout(later);
        Assert.Empty(Drain(a.Server));

        var peer2 = new IPEndPoint(x.Peer.Address, (x.Peer.Port + 1) % 65536);
        var now = later + TimeSpan.FromSeconds(1);
        Assert.Null(a.Server.HandleClientInput(ChannelBind(x.Id, a.Username, x.Nonce, a.Key, x.Channel, peer2), x.Client, now, Wall(now)));
        AssertSend(Single(a.Server), x.Client, Success(StunMethod.ChannelBind, x.Id, a.Key));
        Assert.Equal(now + TimeSpan.FromSeconds(600), a.Server.PollTimeout());
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void P9_ipv6_ping_pong(Inputs x)
    {
        var server = ZeroServer(x.RelayV4, x.RelayV6);
        var a = AllocateAt(x, Start, null, x.ClientV6, server, StunAddressFamily.IPv6);
        Assert.Null(server.HandleClientInput(ChannelBind(x.Id, a.Username, x.Nonce, a.Key, x.Channel, x.PeerV6), x.ClientV6, Start, Wall(Start)));
        AssertSend(Single(server), x.ClientV6, Success(StunMethod.ChannelBind, x.Id, a.Key));
        var frame = ChannelData.Encode(x.Channel, new byte[32]);
        Assert.Equal(36, frame.Length);
        Assert.Equal(new RelayToPeer(49152, x.PeerV6, x.PeerV6.Serialize(), 4, 32), server.HandleClientInput(frame, x.ClientV6, Start, Wall(Start)));
        var toClient = server.HandlePeerTraffic(new byte[32], x.PeerV6, 49152, Start);
        Assert.Equal(x.ClientV6, toClient!.Value.Client);
        Assert.Equal(x.Channel, toClient.Value.Channel);
    }

    [Property(Arbitrary = [typeof(Generators)])]
    public void Channel_range_edges_in_channel_bind_and_channel_data(Inputs x, bool upperHalf)
    {
        // 0x4FFF is Firezone's last channel; 0x5000–0x7FFF are accepted on purpose (RFC 5766 clients such as turnutils_uclient).
        ushort channel = upperHalf ? (ushort)(0x5000 + (x.Channel & 0x2FFF)) : x.Channel;
        var a = AllocateAt(x, Start, null, x.Client);
        Assert.Null(a.Server.HandleClientInput(ChannelBind(x.Id, a.Username, x.Nonce, a.Key, channel, x.Peer), x.Client, Start, Wall(Start)));
        AssertSend(Single(a.Server), x.Client, Success(StunMethod.ChannelBind, x.Id, a.Key));
        Assert.NotNull(a.Server.HandleClientInput(ChannelData.Encode(channel, [1, 2, 3]), x.Client, Start, Wall(Start)));
    }

    [Property]
    public void Handle_input_never_throws_on_arbitrary_bytes(byte[] bytes, bool peerSide, ushort port)
    {
        var server = ZeroServer(IPAddress.Parse("203.0.113.1"), IPAddress.Parse("2001:db8::1"));
        var from = new IPEndPoint(IPAddress.Parse("198.51.100.1"), port);
        bytes ??= [];
        if (peerSide)
        {
            server.HandlePeerTraffic(bytes, from, 49152, Start);
        }
        else
        {
            server.HandleClientInput(bytes, from, Start, Wall(Start));
        }

        // Also with a STUN header in front, so the attribute decoder sees the garbage.
        var stun = new byte[20 + bytes.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(stun, (ushort)(port & 0x3FFF));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(stun.AsSpan(2), (ushort)bytes.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(stun.AsSpan(4), StunHeader.MagicCookie);
        bytes.CopyTo(stun, 20);
        server.HandleClientInput(stun, from, Start, Wall(Start));
        foreach (var command in Drain(server))
        {
            Assert.Equal(TurnServerCommandKind.SendMessage, command.Kind);
            Assert.True(StunMessage.TryParse(command.Payload, out _, out _));
        }

        server.HandleTimeout(Start + TimeSpan.FromHours(2));
    }
}
