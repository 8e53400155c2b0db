using System.Net;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// One authenticated TURN client of a <see cref="TurnServer"/> in unit tests: valid credentials for a month of simulated
/// time and its own test-hook nonce (renewed before every request, so nonce accounting stays out of the way).
/// </summary>
internal sealed class RelayTestClient
{
    public RelayTestClient(TurnServer server, IPEndPoint endPoint, string salt = "clientsalt")
    {
        Server = server;
        EndPoint = endPoint;
        Username = ValidUsername(salt, Start + TimeSpan.FromDays(30));
        Key = RelayTestKit.Key(server, Username);
    }

    public TurnServer Server { get; }

    public IPEndPoint EndPoint { get; }

    public string Username { get; }

    public byte[] Key { get; }

    public Guid Nonce { get; } = Guid.NewGuid();

    /// <summary>A signed request with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY after <paramref name="attributes"/>.</summary>
    public byte[] Request(StunMethod method, Attributes attributes, TransactionId? id = null)
    {
        Server.AddNonce(Nonce);
        return Message(method, StunClass.Request, id ?? TransactionId.NewRandom(), attributes, Username, Nonce.ToString(), Key);
    }

    /// <summary>Feeds a datagram (which must not be relayed) and drains the commands.</summary>
    public List<TurnServerCommand> Send(byte[] datagram, TimeSpan now)
    {
        Assert.Null(Server.HandleClientInput(datagram, EndPoint, now, Wall(now)));
        return Drain(Server);
    }

    public TurnServerCommand SendOne(byte[] datagram, TimeSpan now) => Assert.Single(Send(datagram, now));

    /// <summary>Allocates (IPv4 by default) and returns the allocation port from the success.</summary>
    public int Allocate(TimeSpan now, uint? lifetime = null, Attributes? extra = null)
    {
        var commands = Send(Request(StunMethod.Allocate, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            if (lifetime is { } l)
            {
                b.AddLifetime(l);
            }

            extra?.Invoke(ref b);
        }), now);
        var success = commands[^1];
        AssertSuccess(success);
        return RelayedPort(success);
    }

    public TurnServerCommand CreatePermission(TimeSpan now, params IPEndPoint[] peers) =>
        SendOne(Request(StunMethod.CreatePermission, (ref StunMessageBuilder b) =>
        {
            foreach (var peer in peers)
            {
                b.AddXorPeerAddress(peer);
            }
        }), now);

    public TurnServerCommand ChannelBind(TimeSpan now, ushort channel, IPEndPoint peer) =>
        SendOne(Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
        {
            b.AddChannelNumber(channel);
            b.AddXorPeerAddress(peer);
        }), now);

    public List<TurnServerCommand> Refresh(TimeSpan now, uint? lifetime) =>
        Send(Request(StunMethod.Refresh, (ref StunMessageBuilder b) =>
        {
            if (lifetime is { } l)
            {
                b.AddLifetime(l);
            }
        }), now);

    public static byte[] SendIndication(IPEndPoint peer, ReadOnlySpan<byte> data)
    {
        Span<byte> buffer = stackalloc byte[2048];
        var builder = new StunMessageBuilder(buffer, StunMethod.Send, StunClass.Indication, TransactionId.NewRandom());
        builder.AddXorPeerAddress(peer);
        builder.AddData(data);
        return builder.ToArray();
    }

    public void AssertSuccess(TurnServerCommand command)
    {
        var (cls, error, _) = Inspect(command);
        Assert.True(cls == StunClass.SuccessResponse, $"expected a success, got {error}");
        Assert.True(IsSignedWith(command, Key));
    }

    public void AssertError(TurnServerCommand command, int code, bool signed = true)
    {
        var (cls, error, _) = Inspect(command);
        Assert.Equal(StunClass.ErrorResponse, cls);
        Assert.Equal(code, error);
        Assert.Equal(code, command.ErrorCode);
        Assert.Equal(signed, HasIntegrity(command));
        if (signed)
        {
            Assert.True(IsSignedWith(command, Key));
        }
    }

    public static int RelayedPort(TurnServerCommand command)
    {
        Assert.True(StunMessage.TryParse(command.Payload, out var message, out _));
        Assert.True(message.TryGetXorRelayedAddress(out var relayed));
        return relayed.Port;
    }
}
