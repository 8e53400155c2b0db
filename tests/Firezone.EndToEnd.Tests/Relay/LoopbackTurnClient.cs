using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>A blocking TURN client over one loopback socket for relay-session tests (Firezone credentials).</summary>
internal sealed class LoopbackTurnClient : IDisposable
{
    private readonly string _username;
    private readonly byte[] _key;
    private readonly byte[] _buffer = new byte[65536];
    private string? _nonce;

    /// <summary>A client whose username expires <paramref name="usernameValidity"/> (default 600 s) after the real wall clock's now.</summary>
    public LoopbackTurnClient(IPEndPoint relay, string secret, string salt = "looptest01", TimeSpan? usernameValidity = null)
    {
        Socket = new Socket(relay.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (relay.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Socket.DualMode = false;
        }

        Socket.Bind(new IPEndPoint(relay.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        Socket.Connect(relay);
        Socket.ReceiveTimeout = 3000;
        ulong expiry = (ulong)(DateTimeOffset.UtcNow + (usernameValidity ?? TimeSpan.FromSeconds(600))).ToUnixTimeSeconds();
        _username = FirezoneCredentials.MakeUsername(expiry, salt);
        _key = StunCredentials.LongTermKey(_username, "firezone", FirezoneCredentials.ComputePassword(secret, expiry, salt));
    }

    public Socket Socket { get; }

    public delegate void Attributes(ref StunMessageBuilder builder);

    /// <summary>Sends a signed request (fetching a nonce first) and returns the response's bytes.</summary>
    public byte[] Request(StunMethod method, Attributes add)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var b = new StunMessageBuilder(_buffer, method, StunClass.Request, TransactionId.NewRandom());
            add(ref b);
            if (_nonce is not null)
            {
                b.AddUsername(_username);
                b.AddRealm("firezone");
                b.AddNonce(_nonce);
                b.AddMessageIntegrity(_key);
            }

            var response = Loopback.Exchange(Socket, b.ToArray());
            Assert.True(StunMessage.TryParse(response, out var message, out _));
            if (message.ErrorCode is StunErrorCode.Unauthorized or StunErrorCode.StaleNonce && message.Nonce is { } nonce)
            {
                if (_nonce is not null && message.ErrorCode == StunErrorCode.Unauthorized)
                {
                    return response;
                }

                _nonce = nonce;
                continue;
            }

            return response;
        }

        throw new InvalidOperationException("no usable nonce");
    }

    /// <summary>Allocates; returns the relayed addresses (empty on error) and the error code (0: success).</summary>
    public (List<IPEndPoint> Relayed, int Error) Allocate(StunAddressFamily? requested = null, bool additionalIPv6 = false)
    {
        var response = Request(StunMethod.Allocate, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            if (requested is { } family)
            {
                b.AddRequestedAddressFamily(family);
            }

            if (additionalIPv6)
            {
                b.AddAdditionalAddressFamily(StunAddressFamily.IPv6);
            }
        });
        Assert.True(StunMessage.TryParse(response, out var message, out _));
        var relayed = new List<IPEndPoint>();
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            if (message.TryGetXorRelayedAddress(family, out var address))
            {
                relayed.Add(address);
            }
        }

        return (relayed, message.ErrorCode ?? 0);
    }

    public int ChannelBind(ushort channel, IPEndPoint peer)
    {
        var response = Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
        {
            b.AddChannelNumber(channel);
            b.AddXorPeerAddress(peer);
        });
        Assert.True(StunMessage.TryParse(response, out var message, out _));
        return message.ErrorCode ?? 0;
    }

    public int CreatePermission(IPEndPoint peer)
    {
        var response = Request(StunMethod.CreatePermission, (ref StunMessageBuilder b) => b.AddXorPeerAddress(peer));
        Assert.True(StunMessage.TryParse(response, out var message, out _));
        return message.ErrorCode ?? 0;
    }

    public void Dispose() => Socket.Dispose();
}
