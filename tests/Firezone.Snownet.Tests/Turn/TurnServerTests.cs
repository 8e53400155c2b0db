using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>Error codes of relay.md §5.6, authentication (§6), lifetimes (§7) and the documented extensions.</summary>
public class TurnServerTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPAddress Relay6 = IPAddress.Parse("2001:db8::10");
    private static readonly IPEndPoint Client = new(IPAddress.Parse("198.51.100.7"), 40000);
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.20"), 51820);
    private static readonly Guid Nonce = Guid.Parse("5af48497-63e6-7544-25c0-b5e606c6caf2");

    private sealed class Session
    {
        public Session(TurnServer server, TimeSpan? usernameBase = null)
        {
            Server = server;
            Server.AddNonce(Nonce);
            Username = ValidUsername("abcdefghij", usernameBase ?? Start);
            Key = RelayTestKit.Key(server, Username);
        }

        public TurnServer Server { get; }

        public string Username { get; set; }

        public byte[] Key { get; set; }

        public byte[] Request(StunMethod method, Attributes attributes, string? nonce = null, bool sign = true, string? username = null) =>
            Message(method, StunClass.Request, TransactionId.NewRandom(), attributes, username ?? Username, nonce ?? Nonce.ToString(), sign ? Key : null);

        public List<TurnServerCommand> Send(byte[] request, IPEndPoint? from = null, TimeSpan? now = null)
        {
            Assert.Null(Server.HandleClientInput(request, from ?? Client, now ?? Start, Wall(now ?? Start)));
            return Drain(Server);
        }

        public TurnServerCommand SendOne(byte[] request, IPEndPoint? from = null, TimeSpan? now = null)
        {
            var commands = Send(request, from, now);
            Assert.Single(commands);
            return commands[0];
        }

        public List<TurnServerCommand> Allocate(Attributes? extra = null, IPEndPoint? from = null) =>
            Send(Request(StunMethod.Allocate, (ref StunMessageBuilder b) =>
            {
                b.AddRequestedTransport();
                extra?.Invoke(ref b);
            }), from);

        public TurnServerCommand ChannelBind(ushort channel, IPEndPoint peer, TimeSpan? now = null) =>
            SendOne(Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
            {
                b.AddChannelNumber(channel);
                b.AddXorPeerAddress(peer);
            }), now: now);
    }

    /// <summary>A CreatePermission needs a XOR-PEER-ADDRESS (400 before authentication otherwise).</summary>
    private static void WithPeer(ref StunMessageBuilder b) => b.AddXorPeerAddress(Peer);

    private static TurnServer Feed(TurnServer server, byte[] request)
    {
        Assert.Null(server.HandleClientInput(request, Client, Start, Wall(Start)));
        return server;
    }

    private static void AssertError(TurnServerCommand command, int code, byte[]? signedWith)
    {
        var (cls, error, _) = Inspect(command);
        Assert.Equal(StunClass.ErrorResponse, cls);
        Assert.Equal(code, error);
        if (signedWith is null)
        {
            Assert.False(HasIntegrity(command));
        }
        else
        {
            Assert.True(IsSignedWith(command, signedWith));
        }
    }

    private static void AssertSuccess(TurnServerCommand command, byte[] key)
    {
        Assert.Equal(StunClass.SuccessResponse, Inspect(command).Class);
        Assert.True(IsSignedWith(command, key));
    }

    [Fact]
    public void Requested_and_additional_family_together_is_400()
    {
        var s = new Session(ZeroServer(Relay4, Relay6));
        var commands = s.Allocate((ref StunMessageBuilder b) =>
        {
            b.AddRequestedAddressFamily(StunAddressFamily.IPv4);
            b.AddAdditionalAddressFamily(StunAddressFamily.IPv6);
        });
        AssertError(Assert.Single(commands), 400, s.Key);
    }

    [Fact]
    public void Additional_family_ipv4_is_400() =>
        AssertError(Assert.Single(new Session(ZeroServer(Relay4, Relay6)).Allocate((ref StunMessageBuilder b) => b.AddAdditionalAddressFamily(StunAddressFamily.IPv4))), 400, RelayTestKit.Key(ZeroServer(Relay4), ValidUsername("abcdefghij", Start)));

    [Fact]
    public void Ipv6_requested_on_ipv4_only_relay_is_440()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertError(Assert.Single(s.Allocate((ref StunMessageBuilder b) => b.AddRequestedAddressFamily(StunAddressFamily.IPv6))), 440, s.Key);
    }

    [Fact]
    public void Ipv4_or_default_on_ipv6_only_relay_is_440()
    {
        var s = new Session(ZeroServer(null, Relay6));
        AssertError(Assert.Single(s.Allocate()), 440, s.Key);
        AssertError(Assert.Single(s.Allocate((ref StunMessageBuilder b) => b.AddRequestedAddressFamily(StunAddressFamily.IPv4))), 440, s.Key);
    }

    [Fact]
    public void Additional_ipv6_on_dual_relay_allocates_both_families_on_one_port()
    {
        var s = new Session(ZeroServer(Relay4, Relay6));
        var commands = s.Allocate((ref StunMessageBuilder b) => b.AddAdditionalAddressFamily(StunAddressFamily.IPv6));
        Assert.Equal(3, commands.Count);
        AssertCreate(commands[0], 49152, AddressFamily.InterNetwork);
        AssertCreate(commands[1], 49152, AddressFamily.InterNetworkV6);
        Assert.True(StunMessage.TryParse(commands[2].Payload, out var response, out _));
        Assert.True(response.TryGetXorRelayedAddress(AddressFamily.InterNetwork, out var v4));
        Assert.True(response.TryGetXorRelayedAddress(AddressFamily.InterNetworkV6, out var v6));
        Assert.Equal(new IPEndPoint(Relay4, 49152), v4);
        Assert.Equal(new IPEndPoint(Relay6, 49152), v6);

        // Refresh 0 frees both sockets, IPv4 first.
        var refresh = s.Send(s.Request(StunMethod.Refresh, (ref StunMessageBuilder b) => b.AddLifetime(0)));
        AssertFree(refresh[0], 49152, AddressFamily.InterNetwork);
        AssertFree(refresh[1], 49152, AddressFamily.InterNetworkV6);
        AssertSuccess(refresh[2], s.Key);
    }

    [Fact]
    public void Additional_ipv6_on_ipv4_only_relay_is_partially_fulfilled()
    {
        var s = new Session(ZeroServer(Relay4));
        var commands = s.Allocate((ref StunMessageBuilder b) => b.AddAdditionalAddressFamily(StunAddressFamily.IPv6));
        Assert.Equal(2, commands.Count);
        AssertCreate(commands[0], 49152, AddressFamily.InterNetwork);
        AssertSuccess(commands[1], s.Key);
    }

    [Fact]
    public void Requested_lifetime_is_capped_at_3600_seconds()
    {
        var s = new Session(ZeroServer(Relay4));
        var commands = s.Allocate((ref StunMessageBuilder b) => b.AddLifetime(10_000_000));
        Assert.True(StunMessage.TryParse(commands[1].Payload, out var response, out _));
        Assert.True(response.TryGetLifetime(out uint lifetime));
        Assert.Equal(3600u, lifetime);
        Assert.Equal(Start + TimeSpan.FromSeconds(3600), s.Server.PollTimeout());
    }

    [Fact]
    public void Refresh_without_lifetime_resets_to_600_seconds()
    {
        var s = new Session(ZeroServer(Relay4));
        s.Allocate((ref StunMessageBuilder b) => b.AddLifetime(3600));
        var now = Start + TimeSpan.FromSeconds(10);
        AssertSuccess(s.SendOne(s.Request(StunMethod.Refresh, (ref StunMessageBuilder _) => { }), now: now), s.Key);
        Assert.Equal(now + TimeSpan.FromSeconds(600), s.Server.PollTimeout());
    }

    [Fact]
    public void Allocate_retransmission_is_437_allocation_mismatch()
    {
        var s = new Session(ZeroServer(Relay4));
        var request = s.Request(StunMethod.Allocate, (ref StunMessageBuilder b) => b.AddRequestedTransport());
        Assert.Equal(2, s.Send(request).Count);
        AssertError(s.SendOne(request), 437, s.Key);
    }

    [Fact]
    public void Refresh_and_channel_bind_without_allocation_are_437()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertError(s.SendOne(s.Request(StunMethod.Refresh, (ref StunMessageBuilder _) => { })), 437, s.Key);
        AssertError(s.ChannelBind(0x4000, Peer), 437, s.Key);
    }

    [Fact]
    public void Exhausted_port_range_is_508()
    {
        var s = new Session(ZeroServer(Relay4, lowest: 50000, highest: 50000));
        Assert.Equal(2, s.Allocate().Count);
        AssertError(Assert.Single(s.Allocate(from: new IPEndPoint(Client.Address, 40001))), 508, s.Key);

        var empty = new Session(ZeroServer(Relay4, lowest: 50001, highest: 50000));
        AssertError(Assert.Single(empty.Allocate()), 508, empty.Key);
    }

    [Fact]
    public void Non_udp_transport_is_400_after_authentication()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertError(s.SendOne(s.Request(StunMethod.Allocate, (ref StunMessageBuilder b) => b.AddRequestedTransport(6))), 400, s.Key);
        // Without MESSAGE-INTEGRITY the same request gets 401 first (signed: it carries a USERNAME).
        AssertError(s.SendOne(s.Request(StunMethod.Allocate, (ref StunMessageBuilder b) => b.AddRequestedTransport(6), sign: false)), 401, s.Key);
    }

    [Fact]
    public void Parse_stage_failures_are_unsigned_400()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertError(s.SendOne(s.Request(StunMethod.Allocate, (ref StunMessageBuilder _) => { })), 400, null);
        AssertError(s.SendOne(s.Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Peer))), 400, null);
        AssertError(s.SendOne(s.Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) => b.AddChannelNumber(0x4000))), 400, null);
        AssertError(s.SendOne(s.Request((StunMethod)0x00A, (ref StunMessageBuilder _) => { })), 400, null);
        // CHANNEL-NUMBER 0x8000 fails attribute validation: 400 before authentication.
        var broken = TestHex.Bytes("00090008 2112a442 000000000000000000000001 000c0004 80000000");
        AssertError(s.SendOne(broken), 400, null);
    }

    [Fact]
    public void Indications_responses_and_broken_headers_are_dropped()
    {
        var s = new Session(ZeroServer(Relay4));
        Assert.Empty(s.Send(Message(StunMethod.Binding, StunClass.Indication, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { })));
        Assert.Empty(s.Send(Message(StunMethod.Binding, StunClass.SuccessResponse, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { })));
        var binding = Message(StunMethod.Binding, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { });
        Assert.Empty(s.Send([.. binding, 0, 0, 0, 0]));
        Assert.Empty(s.Send(binding[..19]));
        Assert.Empty(s.Send([0x80, 1, 2, 3]));
        Assert.Empty(s.Send([]));
        Assert.Single(s.Send(binding)); // and the server still works afterwards: decoding is stateless
    }

    [Fact]
    public void Missing_credentials_give_401_with_realm_and_fresh_nonce()
    {
        var s = new Session(ZeroServer(Relay4));
        var noMi = s.SendOne(Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }));
        AssertError(noMi, 401, null);
        Assert.Equal("00000000-0000-0000-0000-000000000000", Inspect(noMi).Nonce);
        // USERNAME present but no MESSAGE-INTEGRITY: 401, signed with that username's key.
        AssertError(s.SendOne(s.Request(StunMethod.Refresh, (ref StunMessageBuilder _) => { }, sign: false)), 401, s.Key);
        // NONCE that is not a UUID: 401 (not 438).
        AssertError(s.SendOne(s.Request(StunMethod.Refresh, (ref StunMessageBuilder _) => { }, nonce: "not-a-uuid")), 401, s.Key);
    }

    [Fact]
    public void Unknown_nonce_is_438_and_nonce_has_100_uses()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: Guid.NewGuid().ToString())), 438, s.Key);
        for (int i = 0; i < 100; i++)
        {
            AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer)), s.Key);
        }

        var stale = s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer));
        AssertError(stale, 438, s.Key);
        Assert.NotNull(Inspect(stale).Nonce);
        AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer)), 438, s.Key);
    }

    [Fact]
    public void Nonce_use_is_consumed_before_the_integrity_check()
    {
        var s = new Session(ZeroServer(Relay4));
        var correct = s.Key;
        s.Key = new byte[16]; // wrong MESSAGE-INTEGRITY: 401 each time, but every attempt uses the nonce
        for (int i = 0; i < NonceStore.UsesPerNonce; i++)
        {
            AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer)), 401, correct);
        }

        s.Key = correct;
        AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer)), 438, correct);
    }

    [Fact]
    public void Nonce_table_is_capped_where_upstream_grows_with_every_unauthenticated_request()
    {
        var server = new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4 });
        string? first = null, last = null;
        for (int i = 0; i < NonceStore.DefaultCapacity + 1000; i++)
        {
            var challenge = Single(Feed(server, Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { })));
            last = Inspect(challenge).Nonce;
            first ??= last;
        }

        Assert.Equal(NonceStore.DefaultCapacity, server.NonceCount);
        var s = new Session(server);
        AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: first)), 438, s.Key);
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: last)), s.Key);
        Assert.Equal(NonceStore.DefaultCapacity, server.NonceCount);
    }

    [Fact]
    public void Nonce_accepts_other_uuid_spellings()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: Nonce.ToString("N").ToUpperInvariant())), s.Key);
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: "urn:uuid:" + Nonce)), s.Key);
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: Nonce.ToString("B"))), s.Key);
    }

    [Fact]
    public void Expired_username_and_wrong_secret_are_401_and_bad_username_gets_no_response()
    {
        var server = ZeroServer(Relay4);
        var s = new Session(server);
        // Valid until 1000 s after Start; at Start + 999 s fine, at Start + 1001 s expired.
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer), now: Start + TimeSpan.FromSeconds(999)), s.Key);
        AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer), now: Start + TimeSpan.FromSeconds(1001)), 401, s.Key);

        var other = new TurnServer(new TurnServerOptions { PublicIPv4 = Relay4, AuthSecret = "another secret" });
        s.Key = RelayTestKit.Key(other, s.Username);
        AssertError(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer)), 401, RelayTestKit.Key(server, s.Username));

        // "foobar" has no ':' — the error cannot be signed, so nothing is sent; same for two colons or a non-numeric expiry.
        foreach (string bad in new[] { "foobar", "1:2:3", "abc:salt" })
        {
            Assert.Empty(s.Send(s.Request(StunMethod.CreatePermission, WithPeer, username: bad)));
        }
    }

    [Fact]
    public void Username_is_canonicalised_before_key_derivation()
    {
        var s = new Session(ZeroServer(Relay4));
        string canonical = s.Username;
        s.Username = "0" + canonical;
        s.Key = StunCredentials.LongTermKey(canonical, "firezone", FirezoneCredentials.ComputePassword(s.Server.AuthSecret, ulong.Parse(canonical.Split(':')[0]), "abcdefghij"));
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer)), s.Key);
    }

    [Fact]
    public void Peer_family_mismatch_is_443()
    {
        var s = new Session(ZeroServer(Relay4, Relay6));
        s.Allocate();
        AssertError(s.ChannelBind(0x4000, new IPEndPoint(IPAddress.Parse("2001:db8::20"), 1)), 443, s.Key);
    }

    [Fact]
    public void Channel_conflicts_are_400_also_during_cooldown_and_rebinding_same_pair_revives()
    {
        var s = new Session(ZeroServer(Relay4));
        s.Allocate((ref StunMessageBuilder b) => b.AddLifetime(3600));
        var peer2 = new IPEndPoint(Peer.Address, Peer.Port + 1);
        AssertSuccess(s.ChannelBind(0x4000, Peer), s.Key);
        AssertError(s.ChannelBind(0x4001, Peer), 400, s.Key);
        AssertError(s.ChannelBind(0x4000, peer2), 400, s.Key);

        var expired = Start + TimeSpan.FromSeconds(601);
        s.Server.HandleTimeout(expired);
        Assert.Equal(0, s.Server.BoundChannelCount);
        Assert.Null(s.Server.HandleClientInput(ChannelData.Encode(0x4000, [1]), Client, expired, Wall(expired)));
        Assert.Null(s.Server.HandlePeerTraffic([1], Peer, 49152, expired));
        AssertError(s.ChannelBind(0x4001, Peer, expired), 400, s.Key);
        AssertError(s.ChannelBind(0x4000, peer2, expired), 400, s.Key);
        AssertSuccess(s.ChannelBind(0x4000, Peer, expired), s.Key);
        Assert.Equal(1, s.Server.BoundChannelCount);
        Assert.NotNull(s.Server.HandleClientInput(ChannelData.Encode(0x4000, [1]), Client, expired, Wall(expired)));
    }

    [Fact]
    public void Channel_number_0x4FFF_accepted_and_0x8000_rejected_at_the_edges()
    {
        var s = new Session(ZeroServer(Relay4));
        s.Allocate();
        AssertSuccess(s.ChannelBind(0x4FFF, Peer), s.Key);
        AssertSuccess(s.ChannelBind(0x5000, new IPEndPoint(Peer.Address, 1)), s.Key); // RFC 5766 range, on purpose
        AssertSuccess(s.ChannelBind(0x7FFF, new IPEndPoint(Peer.Address, 2)), s.Key);
        Assert.NotNull(s.Server.HandleClientInput(ChannelData.Encode(0x4FFF, [9]), Client, Start, Wall(Start)));
        Assert.NotNull(s.Server.HandleClientInput(ChannelData.Encode(0x5000, [9]), Client, Start, Wall(Start)));
        Assert.NotNull(s.Server.HandleClientInput(ChannelData.Encode(0x7FFF, [9]), Client, Start, Wall(Start)));
        Assert.Null(s.Server.HandleClientInput([0x80, 0x00, 0x00, 0x00], Client, Start, Wall(Start)));
    }

    [Fact]
    public void Unknown_peers_and_unbound_channels_are_dropped_silently()
    {
        var s = new Session(ZeroServer(Relay4));
        s.Allocate();
        s.ChannelBind(0x4000, Peer);
        Assert.Null(s.Server.HandleClientInput(ChannelData.Encode(0x4001, [1]), Client, Start, Wall(Start)));
        Assert.Null(s.Server.HandlePeerTraffic([1], new IPEndPoint(Peer.Address, Peer.Port + 1), 49152, Start));
        Assert.Null(s.Server.HandlePeerTraffic([1], Peer, 49153, Start));
        Assert.Null(s.Server.HandleClientInput(ChannelData.Encode(0x4000, [1]), new IPEndPoint(Client.Address, 1), Start, Wall(Start)));
        Assert.Empty(Drain(s.Server));
    }

    [Fact]
    public void Create_permission_without_allocation_succeeds_as_upstream()
    {
        var s = new Session(ZeroServer(Relay4));
        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Peer))), s.Key);
    }

    [Fact]
    public void Extension_send_and_data_indications_flow_through_real_permissions()
    {
        var s = new Session(ZeroServer(Relay4));
        s.Allocate();
        var send = Message(StunMethod.Send, StunClass.Indication, TransactionId.NewRandom(), (ref StunMessageBuilder b) =>
        {
            b.AddXorPeerAddress(Peer);
            b.AddData("ping"u8);
        });
        Assert.Null(s.Server.HandleClientInput(send, Client, Start, Wall(Start))); // no permission yet: dropped
        Assert.Null(s.Server.HandlePeerTraffic("pong"u8, Peer, 49152, Start));
        Assert.Empty(Drain(s.Server));

        AssertSuccess(s.SendOne(s.Request(StunMethod.CreatePermission, (ref StunMessageBuilder b) => b.AddXorPeerAddress(new IPEndPoint(Peer.Address, 1)))), s.Key);
        var toPeer = s.Server.HandleClientInput(send, Client, Start, Wall(Start));
        Assert.NotNull(toPeer);
        Assert.Equal(Peer, toPeer.Value.Peer);
        Assert.Equal("ping", System.Text.Encoding.ASCII.GetString(send, toPeer.Value.PayloadOffset, toPeer.Value.PayloadLength));

        // Any port of the permitted IP: delivered as a Data indication (no channel for it).
        Assert.Null(s.Server.HandlePeerTraffic("pong"u8, Peer, 49152, Start));
        var data = Single(s.Server);
        Assert.Equal(Client, data.Destination);
        Assert.True(StunMessage.TryParse(data.Payload, out var indication, out _));
        Assert.Equal(StunClass.Indication, indication.Class);
        Assert.Equal(StunMethod.Data, indication.Method);
        Assert.True(indication.TryGetXorPeerAddress(out var from));
        Assert.Equal(Peer, from);
        Assert.True(indication.TryGetData(out var payload));
        Assert.Equal("pong"u8.ToArray(), payload.ToArray());

        // Permissions last 300 s.
        var later = Start + TimeSpan.FromSeconds(301);
        Assert.Null(s.Server.HandleClientInput(send, Client, later, Wall(later)));
        Assert.Null(s.Server.HandlePeerTraffic("pong"u8, Peer, 49152, later));
        Assert.Empty(Drain(s.Server));
    }

    [Fact]
    public void Failed_allocation_socket_bind_fails_the_allocation_cleanly()
    {
        var s = new Session(ZeroServer(Relay4));
        Assert.Null(s.Server.HandleClientInput(s.Request(StunMethod.Allocate, (ref StunMessageBuilder b) => b.AddRequestedTransport()), Client, Start, Wall(Start)));
        Assert.True(s.Server.TryPollCommand(out var create));
        AssertCreate(create, 49152, AddressFamily.InterNetwork);
        s.Server.HandleAllocationFailed(create.Port, create.Family, portInUse: false, Start); // not a taken port: no retry
        // The socket that failed was never opened, so there is nothing to free: only the 508.
        var rest = Assert.Single(Drain(s.Server));
        AssertError(rest, 508, s.Key);
        Assert.Equal(("allocate", 508), (rest.MessageType, rest.ErrorCode));
        Assert.Equal(0, s.Server.AllocationCount);
        Assert.Null(s.Server.PollTimeout());
        // The client can allocate again.
        Assert.Equal(2, s.Allocate().Count);
    }

    [Fact]
    public void Deadline_is_none_without_allocations_and_data_never_extends_lifetimes()
    {
        var s = new Session(ZeroServer(Relay4));
        Assert.Null(s.Server.PollTimeout());
        s.Allocate((ref StunMessageBuilder b) => b.AddLifetime(100));
        s.ChannelBind(0x4000, Peer);
        Assert.Equal(Start + TimeSpan.FromSeconds(100), s.Server.PollTimeout());
        Assert.NotNull(s.Server.HandleClientInput(ChannelData.Encode(0x4000, [1]), Client, Start + TimeSpan.FromSeconds(99), Wall(Start + TimeSpan.FromSeconds(99))));
        s.Server.HandleTimeout(Start + TimeSpan.FromSeconds(100));
        AssertFree(Single(s.Server), 49152, AddressFamily.InterNetwork);
        Assert.Equal(0, s.Server.BoundChannelCount);
        Assert.Null(s.Server.PollTimeout());
    }

    [Fact]
    public void Binding_ignores_integrity_and_does_not_consume_nonces()
    {
        var s = new Session(ZeroServer(Relay4));
        var response = s.SendOne(s.Request(StunMethod.Binding, (ref StunMessageBuilder _) => { }));
        Assert.Equal(StunClass.SuccessResponse, Inspect(response).Class);
        Assert.False(HasIntegrity(response));
    }

    [Fact]
    public void Every_response_carries_its_message_type_and_error_code_for_the_host_metrics()
    {
        var s = new Session(ZeroServer(Relay4));
        var allocate = s.Allocate();
        Assert.Equal((null, 0), (allocate[0].MessageType, allocate[0].ErrorCode)); // CreateAllocation
        Assert.Equal(("allocate", 0), (allocate[1].MessageType, allocate[1].ErrorCode));
        Assert.Equal(("allocate", 437), Pair(Assert.Single(s.Allocate())));
        Assert.Equal(("channelbind", 0), Pair(s.ChannelBind(0x4000, Peer)));
        Assert.Equal(("createpermission", 0), Pair(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer))));
        Assert.Equal(("refresh", 0), Pair(s.SendOne(s.Request(StunMethod.Refresh, (ref StunMessageBuilder _) => { }))));
        Assert.Equal(("binding", 0), Pair(s.SendOne(Message(StunMethod.Binding, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }))));
        Assert.Equal(("refresh", 401), Pair(s.SendOne(Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }))));
        Assert.Equal(("createpermission", 438), Pair(s.SendOne(s.Request(StunMethod.CreatePermission, WithPeer, nonce: Guid.NewGuid().ToString()))));
        Assert.Equal(("createpermission", 400), Pair(s.SendOne(s.Request(StunMethod.CreatePermission, (ref StunMessageBuilder _) => { }))));
        // Methods upstream does not count have no message type, but still their error code.
        Assert.Equal(((string?)null, 400), Pair(s.SendOne(s.Request((StunMethod)0x00A, (ref StunMessageBuilder _) => { }))));

        static (string?, int) Pair(TurnServerCommand command)
        {
            Assert.Equal(TurnServerCommandKind.SendMessage, command.Kind);
            Assert.Equal(Inspect(command).Error ?? 0, command.ErrorCode);
            return (command.MessageType, command.ErrorCode);
        }
    }
}
