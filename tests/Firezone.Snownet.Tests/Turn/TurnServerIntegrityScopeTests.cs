using System.Net;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Tests.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// An on-path attacker replays a correctly signed request with an attribute appended after MESSAGE-INTEGRITY (the
/// length field fixed up, the MI still verifies because it covers only what precedes it). Upstream honours such
/// attributes (relay.md §4, §13 item 10); we deliberately ignore them (RFC 8489 §14.5), so the replay has no effect
/// beyond what the client signed.
/// </summary>
public class TurnServerIntegrityScopeTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("198.51.100.7"), 40000);
    private static readonly IPEndPoint Signed = new(IPAddress.Parse("192.0.2.20"), 51820);
    private static readonly IPEndPoint Forged = new(IPAddress.Parse("192.0.2.66"), 6666);

    /// <summary>The wire bytes of one attribute, encoded for <paramref name="request"/>'s transaction (XOR addresses depend on it).</summary>
    private static StunIntegrityScopeTests.Attr Attribute(byte[] request, Attributes add)
    {
        Assert.True(StunMessage.TryParse(request, out var message, out _));
        var bytes = Message(StunMethod.Binding, StunClass.Request, message.TransactionId, add);
        Assert.True(StunMessage.TryParse(bytes, out var one, out _));
        foreach (var a in one.Attributes)
        {
            return new StunIntegrityScopeTests.Attr(a.Type, a.Value.ToArray());
        }

        throw new InvalidOperationException("no attribute");
    }

    private static byte[] Replay(byte[] signed, Attributes appended) =>
        StunIntegrityScopeTests.Append(signed, [Attribute(signed, appended)]);

    [Fact]
    public void Attributes_after_message_integrity_are_ignored()
    {
        // The relay.md §4 quirk we fix on purpose: a replayed, signed CreatePermission with a XOR-PEER-ADDRESS appended
        // after its MESSAGE-INTEGRITY must not permit that peer.
        var server = ZeroServer(Relay4);
        var client = new RelayTestClient(server, ClientAddress);
        int port = client.Allocate(Start);
        var signed = client.Request(StunMethod.CreatePermission, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Signed));
        var replay = Replay(signed, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Forged));
        Assert.True(StunMessage.TryParse(replay, out var parsed, out _));
        Assert.True(parsed.VerifyMessageIntegrity(client.Key)); // the replay is still correctly signed

        client.AssertSuccess(client.SendOne(replay, Start));
        Assert.Equal(1, server.PermissionCount);
        Assert.Null(server.HandleClientInput(RelayTestClient.SendIndication(Forged, "x"u8), ClientAddress, Start, Wall(Start)));
        Assert.Null(server.HandlePeerTraffic("x"u8, Forged, port, Start));
        Assert.Empty(Drain(server));
        Assert.NotNull(server.HandleClientInput(RelayTestClient.SendIndication(Signed, "x"u8), ClientAddress, Start, Wall(Start)));
    }

    [Fact]
    public void Create_permission_whose_only_peer_follows_the_integrity_is_400_like_one_without_a_peer()
    {
        var server = ZeroServer(Relay4);
        var client = new RelayTestClient(server, ClientAddress);
        client.Allocate(Start);
        var signed = client.Request(StunMethod.CreatePermission, (ref StunMessageBuilder _) => { });
        client.AssertError(client.SendOne(Replay(signed, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Forged)), Start), 400, signed: false);
        Assert.Equal(0, server.PermissionCount);
    }

    [Fact]
    public void Allocate_lifetime_appended_after_message_integrity_is_ignored()
    {
        var server = ZeroServer(Relay4);
        var client = new RelayTestClient(server, ClientAddress);
        var signed = client.Request(StunMethod.Allocate, (ref StunMessageBuilder b) => b.AddRequestedTransport());
        var commands = client.Send(Replay(signed, (ref StunMessageBuilder b) => b.AddLifetime(3600)), Start);
        Assert.True(StunMessage.TryParse(commands[^1].Payload, out var success, out _));
        Assert.True(success.TryGetLifetime(out uint lifetime));
        Assert.Equal(600u, lifetime); // the default, not the forged 3600
        Assert.Equal(Start + TimeSpan.FromSeconds(600), server.PollTimeout());
    }

    [Fact]
    public void Allocate_requested_transport_appended_after_message_integrity_does_not_count()
    {
        var server = ZeroServer(Relay4);
        var client = new RelayTestClient(server, ClientAddress);
        var signed = client.Request(StunMethod.Allocate, (ref StunMessageBuilder b) => b.AddLifetime(100));
        client.AssertError(client.SendOne(Replay(signed, (ref StunMessageBuilder b) => b.AddRequestedTransport()), Start), 400, signed: false);
        Assert.Equal(0, server.AllocationCount);
    }

    [Fact]
    public void Channel_bind_peer_appended_after_message_integrity_does_not_count()
    {
        var server = ZeroServer(Relay4);
        var client = new RelayTestClient(server, ClientAddress);
        client.Allocate(Start);
        var signed = client.Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) => b.AddChannelNumber(0x4000));
        client.AssertError(client.SendOne(Replay(signed, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Forged)), Start), 400, signed: false);
        Assert.Equal(0, server.BoundChannelCount);

        // A signed ChannelBind replayed with a second CHANNEL-NUMBER or XOR-PEER-ADDRESS binds only what was signed.
        var full = client.Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
        {
            b.AddChannelNumber(0x4001);
            b.AddXorPeerAddress(Signed);
        });
        client.AssertSuccess(client.SendOne(Replay(full, (ref StunMessageBuilder b) => b.AddXorPeerAddress(Forged)), Start));
        Assert.Equal(1, server.BoundChannelCount);
        Assert.Equal(Signed, server.HandleClientInput(ChannelData.Encode(0x4001, [1]), ClientAddress, Start, Wall(Start))!.Value.Peer);
    }

    [Fact]
    public void Refresh_lifetime_zero_appended_after_message_integrity_does_not_delete_the_allocation()
    {
        var server = ZeroServer(Relay4);
        var client = new RelayTestClient(server, ClientAddress);
        client.Allocate(Start, 3600);
        var signed = client.Request(StunMethod.Refresh, (ref StunMessageBuilder _) => { });
        var response = client.SendOne(Replay(signed, (ref StunMessageBuilder b) => b.AddLifetime(0)), Start);
        client.AssertSuccess(response);
        Assert.Equal(1, server.AllocationCount);
        Assert.Equal(Start + TimeSpan.FromSeconds(600), server.PollTimeout());
    }
}
