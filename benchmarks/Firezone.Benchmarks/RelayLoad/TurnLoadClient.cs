using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.Benchmarks.RelayLoad;

/// <summary>A minimal blocking TURN client for the load generator: Allocate (401 dance) and ChannelBind, then raw ChannelData.</summary>
internal sealed class TurnLoadClient : IDisposable
{
    private readonly Socket _socket;
    private readonly bool _ownsSocket;
    private readonly byte[] _buffer = new byte[2048];
    private byte[]? _key;
    private string? _realm;
    private string? _nonce;

    public TurnLoadClient(IPEndPoint server)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket.Connect(server);
        _socket.ReceiveTimeout = 1000;
        _socket.SendBufferSize = 1 << 20;
        _ownsSocket = true;
    }

    /// <summary>A client on an existing bound socket (not disposed with the client).</summary>
    public TurnLoadClient(IPEndPoint server, Socket socket)
    {
        _socket = socket;
        _socket.Connect(server);
    }

    public Socket Socket => _socket;

    public IPEndPoint? Relayed { get; private set; }

    private bool Transact(StunMethod method, Action<byte[]>? attributes, Func<StunMessage, bool> onSuccess, string username, string password, int attempts = 5)
    {
        Span<byte> request = stackalloc byte[512];
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            var id = TransactionId.NewRandom();
            var builder = new StunMessageBuilder(request, method, StunClass.Request, id);
            switch (method)
            {
                case StunMethod.Allocate:
                    builder.AddRequestedTransport();
                    builder.AddLifetime(3600);
                    break;
                case StunMethod.ChannelBind:
                    builder.AddChannelNumber(PendingChannel);
                    builder.AddXorPeerAddress(PendingPeer!);
                    break;
            }

            if (_nonce is not null)
            {
                builder.AddUsername(username);
                builder.AddRealm(_realm!);
                builder.AddNonce(_nonce);
                builder.AddMessageIntegrity(_key!);
            }

            _socket.Send(builder.Message);
            while (true)
            {
                int n;
                try
                {
                    n = _socket.Receive(_buffer);
                }
                catch (SocketException)
                {
                    break; // timeout: retransmit
                }

                if (!StunMessage.TryParse(_buffer.AsSpan(0, n), out var response) || response.TransactionId != id)
                {
                    continue;
                }

                if (response.Class == StunClass.SuccessResponse)
                {
                    return onSuccess(response);
                }

                if (response.ErrorCode is 401 or 438 && response.Nonce is { } nonce && response.Realm is { } realm)
                {
                    _nonce = nonce;
                    _realm = realm;
                    _key = StunCredentials.LongTermKey(username, realm, password);
                    break; // retry authenticated
                }

                throw new InvalidOperationException($"{method} failed with {response.ErrorCode}");
            }
        }

        return false;
    }

    private ushort PendingChannel { get; set; }

    private IPEndPoint? PendingPeer { get; set; }

    public bool Allocate(string username, string password) =>
        Transact(StunMethod.Allocate, null, response =>
        {
            if (response.TryGetXorRelayedAddress(out var relayed))
            {
                Relayed = relayed;
                return true;
            }

            return false;
        }, username, password);

    public bool ChannelBind(ushort channel, IPEndPoint peer, string username, string password)
    {
        PendingChannel = channel;
        PendingPeer = peer;
        return Transact(StunMethod.ChannelBind, null, _ => true, username, password);
    }

    public void Dispose()
    {
        if (_ownsSocket)
        {
            _socket.Dispose();
        }
    }
}
