using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Relay;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary><see cref="RelaySession"/> in process over real UDP on loopback, IPv4 and IPv6, both directions.</summary>
public sealed class RelaySessionLoopbackTests
{
    private const string Secret = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    private delegate void Add(ref StunMessageBuilder builder);

    private static StunMessage Authenticated(Socket socket, StunMethod method, Add add, string username, string nonce, byte[] key, byte[] buffer)
    {
        var b = new StunMessageBuilder(buffer, method, StunClass.Request, TransactionId.NewRandom());
        add(ref b);
        b.AddUsername(username);
        b.AddRealm("firezone");
        b.AddNonce(nonce);
        b.AddMessageIntegrity(key);
        var response = Loopback.Exchange(socket, b.ToArray());
        Assert.True(StunMessage.TryParse(response, out var message, out _));
        Assert.True(message.VerifyMessageIntegrity(key));
        return message;
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task Allocate_bind_and_relay_both_ways(AddressFamily family)
    {
        Assert.SkipUnless(Loopback.Has(family), $"no {family} loopback on this machine");
        var loopback = family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        int allocationPort = Loopback.FreeUdpPort(family); // a one-port range: the allocation must land exactly there
        var (lowest, highest) = (allocationPort, allocationPort);

        await using var session = new RelaySession(new RelaySessionOptions
        {
            Server = new TurnServerOptions
            {
                PublicIPv4 = family == AddressFamily.InterNetwork ? loopback : null,
                PublicIPv6 = family == AddressFamily.InterNetworkV6 ? loopback : null,
                ListenPort = 0,
                LowestPort = lowest,
                HighestPort = highest,
                AuthSecret = Secret,
            },
            ListenAddresses = [loopback],
        });
        session.Start();
        var relay = session.ListenEndPoints.Single();

        using var client = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(loopback, 0));
        client.Connect(relay);
        client.ReceiveTimeout = 2000;
        using var peer = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(loopback, 0));
        peer.ReceiveTimeout = 2000;
        var peerAddress = (IPEndPoint)peer.LocalEndPoint!;

        var buffer = new byte[1500];
        var first = new StunMessageBuilder(buffer, StunMethod.Allocate, StunClass.Request, TransactionId.NewRandom());
        first.AddRequestedTransport();
        Assert.True(StunMessage.TryParse(Loopback.Exchange(client, first.ToArray()), out var challenge, out _));
        string nonce = challenge.Nonce!;
        ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600;
        string username = FirezoneCredentials.MakeUsername(expiry, "sessiontst");
        var key = StunCredentials.LongTermKey(username, "firezone", FirezoneCredentials.ComputePassword(Secret, expiry, "sessiontst"));

        var allocated = Authenticated(client, StunMethod.Allocate, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            if (family == AddressFamily.InterNetworkV6)
            {
                b.AddRequestedAddressFamily(StunAddressFamily.IPv6);
            }
        }, username, nonce, key, buffer);
        Assert.Equal(StunClass.SuccessResponse, allocated.Class);
        Assert.True(allocated.TryGetXorRelayedAddress(out var relayed));
        Assert.Equal(new IPEndPoint(loopback, allocationPort), relayed);
        Assert.True(allocated.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(client.LocalEndPoint, mapped);

        var bound = Authenticated(client, StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
        {
            b.AddChannelNumber(0x4001);
            b.AddXorPeerAddress(peerAddress);
        }, username, nonce, key, buffer);
        Assert.Equal(StunClass.SuccessResponse, bound.Class);
        Assert.Equal(1, session.AllocationCount);
        Assert.Equal(1, session.ChannelCount);

        client.Send(ChannelData.Encode(0x4001, "ping"u8));
        EndPoint from = new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        int n = peer.ReceiveFrom(buffer, ref from);
        Assert.Equal("ping", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(relayed, from);

        peer.SendTo("hello"u8.ToArray(), relayed);
        n = client.Receive(buffer);
        Assert.True(ChannelData.TryParse(buffer.AsSpan(0, n), out var frame));
        Assert.Equal(0x4001, frame.Channel);
        Assert.Equal("hello"u8.ToArray(), frame.Payload.ToArray());
        Assert.Equal(4 + 5, n); // no padding over UDP
        Assert.Equal(9, session.RelayedBytes);

        var deleted = Authenticated(client, StunMethod.Refresh, (ref StunMessageBuilder b) => b.AddLifetime(0), username, nonce, key, buffer);
        Assert.True(deleted.TryGetLifetime(out uint lifetime) && lifetime == 0);
        Assert.Equal(0, session.AllocationCount);
    }
}
