using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>STUN request handling of the relay (relay.md §4–§6).</summary>
public sealed partial class TurnServer
{
    private enum AuthResult
    {
        Ok,
        Unauthorized,
        StaleNonce,
    }

    /// <summary>How an error or success response for one request is signed.</summary>
    private readonly struct Signing
    {
        public Signing(bool hasUsername, byte[]? key)
        {
            HasUsername = hasUsername;
            Key = key;
        }

        public bool HasUsername { get; }

        /// <summary>The key derived from the request's USERNAME; null when absent or unparseable.</summary>
        public byte[]? Key { get; }

        /// <summary>A USERNAME was present but cannot produce a key: send nothing at all.</summary>
        public bool Unsignable => HasUsername && Key is null;
    }

    private RelayToPeer? HandleStun(ReadOnlySpan<byte> datagram, AddressKey clientKey, IPEndPoint client, DateTimeOffset now)
    {
        if (!StunHeader.TryRead(datagram, out var header) || header.Length + StunHeader.Size != datagram.Length)
        {
            return null; // header problems, truncation or trailing bytes: dropped silently
        }

        if (!StunMessage.TryParse(datagram, out var message, out _))
        {
            if (header.Class == StunClass.Request)
            {
                SendUnsignedError(header.Method, header.TransactionId, client, StunErrorCode.BadRequest);
            }

            return null;
        }

        if (message.Class == StunClass.Indication && message.Method == StunMethod.Send)
        {
            return HandleSendIndication(message, clientKey, now);
        }

        if (message.Class != StunClass.Request)
        {
            return null;
        }

        switch (message.Method)
        {
            case StunMethod.Binding:
                HandleBinding(message, client);
                break;
            case StunMethod.Allocate:
                HandleAllocate(message, clientKey, client, now);
                break;
            case StunMethod.Refresh:
                HandleRefresh(message, clientKey, client, now);
                break;
            case StunMethod.ChannelBind:
                HandleChannelBind(message, clientKey, client, now);
                break;
            case StunMethod.CreatePermission:
                HandleCreatePermission(message, clientKey, client, now);
                break;
            default:
                SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
                break;
        }

        return null;
    }

    private static string? MetricName(StunMethod method) => method switch
    {
        StunMethod.Binding => "binding",
        StunMethod.Allocate => "allocate",
        StunMethod.Refresh => "refresh",
        StunMethod.ChannelBind => "channelbind",
        StunMethod.CreatePermission => "createpermission",
        _ => null,
    };

    private void Send(byte[] payload, IPEndPoint client, StunMethod method, int errorCode, int pendingAllocationPort = 0)
    {
        _commands.Enqueue(new TurnServerCommand
        {
            Kind = TurnServerCommandKind.SendMessage,
            Payload = payload,
            Destination = client,
            PendingAllocationPort = pendingAllocationPort,
        });
        if (MetricName(method) is { } name)
        {
            TurnServerMetrics.CountResponse(name, errorCode);
        }
    }

    private void SendUnsignedError(StunMethod method, TransactionId id, IPEndPoint client, int code)
    {
        Span<byte> buffer = stackalloc byte[MaxResponseSize];
        var builder = new StunMessageBuilder(buffer, method, StunClass.ErrorResponse, id);
        builder.AddErrorCode(code);
        LogErrorResponse(_logger, method, client, code);
        Send(builder.ToArray(), client, method, code);
    }

    private byte[] BuildError(StunMethod method, TransactionId id, int code, in Signing signing)
    {
        Span<byte> buffer = stackalloc byte[MaxResponseSize];
        var builder = new StunMessageBuilder(buffer, method, StunClass.ErrorResponse, id);
        builder.AddErrorCode(code);
        if (code is StunErrorCode.Unauthorized or StunErrorCode.StaleNonce)
        {
            Span<byte> random = stackalloc byte[16];
            _random(random);
            builder.AddRealm(FirezoneCredentials.Realm);
            builder.AddNonce(_nonces.Issue(random));
        }

        if (signing.Key is { } key)
        {
            builder.AddMessageIntegrity(key);
        }

        return builder.ToArray();
    }

    /// <summary>Error from a method handler: signed iff the request had a USERNAME; nothing at all if that USERNAME is unusable.</summary>
    private void SendError(StunMethod method, TransactionId id, IPEndPoint client, int code, in Signing signing)
    {
        if (signing.Unsignable)
        {
            LogUnsignable(_logger, method, client);
            return;
        }

        LogErrorResponse(_logger, method, client, code);
        Send(BuildError(method, id, code, signing), client, method, code);
    }

    private Signing SigningFor(in StunMessage message)
    {
        string? username = message.Username;
        if (username is null)
        {
            return new Signing(false, null);
        }

        return new Signing(true, FirezoneCredentials.TryDeriveKey(AuthSecret, username, out _));
    }

    /// <summary>Verification order of relay.md §6: MI, USERNAME, NONCE present and a UUID → nonce use → username, expiry, MI.</summary>
    private AuthResult Authenticate(in StunMessage message, in Signing signing, DateTimeOffset now)
    {
        if (!message.HasMessageIntegrity || !signing.HasUsername || message.Nonce is not { } nonceText
            || !NonceStore.TryParse(nonceText, out var nonce))
        {
            return AuthResult.Unauthorized;
        }

        if (_nonces.Use(nonce) != NonceUse.Ok)
        {
            return AuthResult.StaleNonce;
        }

        if (signing.Key is not { } key
            || !FirezoneCredentials.TryParseUsername(message.Username!, out ulong expiry, out _)
            || expiry < (ulong)Math.Max(0, now.ToUnixTimeSeconds())
            || !message.VerifyMessageIntegrity(key))
        {
            return AuthResult.Unauthorized;
        }

        return AuthResult.Ok;
    }

    /// <summary>Runs authentication and answers 401/438 itself; true when the request may proceed.</summary>
    private bool Authorize(in StunMessage message, IPEndPoint client, DateTimeOffset now, out Signing signing)
    {
        signing = SigningFor(message);
        var result = Authenticate(message, signing, now);
        if (result == AuthResult.Ok)
        {
            return true;
        }

        SendError(message.Method, message.TransactionId, client, result == AuthResult.StaleNonce ? StunErrorCode.StaleNonce : StunErrorCode.Unauthorized, signing);
        return false;
    }

    private byte[] BuildSuccess(in StunMessage request, byte[] key, IPEndPoint? relayed4, IPEndPoint? relayed6, IPEndPoint? mapped, uint? lifetime)
    {
        Span<byte> buffer = stackalloc byte[MaxResponseSize];
        var builder = new StunMessageBuilder(buffer, request.Method, StunClass.SuccessResponse, request.TransactionId);
        if (relayed4 is not null)
        {
            builder.AddXorRelayedAddress(relayed4);
        }

        if (relayed6 is not null)
        {
            builder.AddXorRelayedAddress(relayed6);
        }

        if (mapped is not null)
        {
            builder.AddXorMappedAddress(mapped);
        }

        if (lifetime is { } seconds)
        {
            builder.AddLifetime(seconds);
        }

        builder.AddMessageIntegrity(key);
        return builder.ToArray();
    }

    private void HandleBinding(in StunMessage message, IPEndPoint client)
    {
        Span<byte> buffer = stackalloc byte[64];
        var builder = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, message.TransactionId);
        builder.AddXorMappedAddress(client);
        Send(builder.ToArray(), client, StunMethod.Binding, 0);
    }

    private static uint EffectiveLifetime(in StunMessage message) =>
        message.TryGetLifetime(out uint requested)
            ? Math.Min(requested, (uint)MaxAllocationLifetime.TotalSeconds)
            : (uint)DefaultAllocationLifetime.TotalSeconds;

    private void HandleAllocate(in StunMessage message, AddressKey clientKey, IPEndPoint client, DateTimeOffset now)
    {
        if (!message.TryGetRequestedTransport(out byte protocol))
        {
            SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
            return;
        }

        if (!Authorize(message, client, now, out var signing))
        {
            return;
        }

        if (_allocationsByClient.ContainsKey(clientKey))
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.AllocationMismatch, signing);
            return;
        }

        if (_allocationsByClient.Count >= PortCount)
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.InsufficientCapacity, signing);
            return;
        }

        if (protocol != 17)
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest, signing);
            return;
        }

        bool hasRaf = message.TryGetRequestedAddressFamily(out var raf);
        bool hasAaf = message.TryGetAdditionalAddressFamily(out var aaf);
        bool want4, want6;
        if (hasRaf && hasAaf)
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest, signing);
            return;
        }

        if (hasAaf)
        {
            if (aaf == StunAddressFamily.IPv4)
            {
                SendError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest, signing);
                return;
            }

            want4 = PublicIPv4 is not null;
            want6 = PublicIPv6 is not null;
        }
        else if (hasRaf && raf == StunAddressFamily.IPv6)
        {
            want4 = false;
            want6 = PublicIPv6 is not null;
        }
        else
        {
            want4 = PublicIPv4 is not null;
            want6 = false;
        }

        if (!want4 && !want6)
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.AddressFamilyNotSupported, signing);
            return;
        }

        int port = DrawPort();
        uint lifetime = EffectiveLifetime(message);
        var allocation = new RelayAllocation(clientKey, client, port, want4, want6, now + TimeSpan.FromSeconds(lifetime));
        _allocationsByClient.Add(clientKey, allocation);
        _allocationsByPort.Add(port, allocation);
        _deadlineDirty = true;
        TurnServerMetrics.Allocations.Add(1);
        if (want4)
        {
            _commands.Enqueue(new TurnServerCommand { Kind = TurnServerCommandKind.CreateAllocation, Port = port, Family = AddressFamily.InterNetwork });
        }

        if (want6)
        {
            _commands.Enqueue(new TurnServerCommand { Kind = TurnServerCommandKind.CreateAllocation, Port = port, Family = AddressFamily.InterNetworkV6 });
        }

        var key = signing.Key!;
        byte[] success = BuildSuccess(
            message,
            key,
            want4 ? new IPEndPoint(PublicIPv4!, port) : null,
            want6 ? new IPEndPoint(PublicIPv6!, port) : null,
            client,
            lifetime);
        _pendingAllocationFailures[port] = (BuildError(message.Method, message.TransactionId, StunErrorCode.InsufficientCapacity, signing), client);
        LogAllocationCreated(_logger, client, port, want4, want6, lifetime);
        Send(success, client, StunMethod.Allocate, 0, port);
    }

    private int DrawPort()
    {
        int count = PortCount;
        Span<byte> random = stackalloc byte[4];
        int port = LowestPort;
        for (int attempt = 0; attempt < 64; attempt++)
        {
            _random(random);
            port = LowestPort + (int)(BitConverter.ToUInt32(random) % (uint)count);
            if (!_allocationsByPort.ContainsKey(port))
            {
                return port;
            }
        }

        // Unlike upstream (which redraws forever), fall back to a scan from the last draw; capacity was checked before.
        for (int i = 1; i <= count; i++)
        {
            int candidate = LowestPort + ((port - LowestPort + i) % count);
            if (!_allocationsByPort.ContainsKey(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No free port although capacity was checked.");
    }

    private void HandleRefresh(in StunMessage message, AddressKey clientKey, IPEndPoint client, DateTimeOffset now)
    {
        if (!Authorize(message, client, now, out var signing))
        {
            return;
        }

        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation))
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.AllocationMismatch, signing);
            return;
        }

        uint lifetime = EffectiveLifetime(message);
        if (lifetime == 0)
        {
            DeleteAllocation(allocation);
        }
        else
        {
            allocation.Expiry = now + TimeSpan.FromSeconds(lifetime);
            _deadlineDirty = true;
        }

        Send(BuildSuccess(message, signing.Key!, null, null, null, lifetime), client, StunMethod.Refresh, 0);
    }

    private void HandleChannelBind(in StunMessage message, AddressKey clientKey, IPEndPoint client, DateTimeOffset now)
    {
        if (!message.TryGetChannelNumber(out ushort number) || !message.TryGetXorPeerAddress(out var peer))
        {
            SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
            return;
        }

        if (!Authorize(message, client, now, out var signing))
        {
            return;
        }

        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation))
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.AllocationMismatch, signing);
            return;
        }

        var peerKey = AddressKey.From(peer);
        if (!allocation.Serves(peerKey.IsIPv6))
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.PeerAddressFamilyMismatch, signing);
            return;
        }

        if (allocation.ChannelsByPeer.TryGetValue(peerKey, out ushort existingNumber) && existingNumber != number)
        {
            SendError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest, signing);
            return;
        }

        if (allocation.ChannelsByNumber.TryGetValue(number, out var channel))
        {
            if (channel.PeerKey != peerKey)
            {
                SendError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest, signing);
                return;
            }

            channel.Expiry = now + ChannelLifetime;
            channel.Bound = true;
        }
        else
        {
            channel = new RelayChannel(number, peer, peerKey, allocation, now + ChannelLifetime);
            allocation.ChannelsByNumber.Add(number, channel);
            allocation.ChannelsByPeer.Add(peerKey, number);
        }

        _boundChannels[(allocation.Port, peerKey)] = channel;
        _deadlineDirty = true;
        Send(BuildSuccess(message, signing.Key!, null, null, null, null), client, StunMethod.ChannelBind, 0);
    }

    private void HandleCreatePermission(in StunMessage message, AddressKey clientKey, IPEndPoint client, DateTimeOffset now)
    {
        if (!Authorize(message, client, now, out var signing))
        {
            return;
        }

        // Upstream: an unconditional no-op success. Here: also install RFC 8656 permissions when there is an allocation.
        if (_allocationsByClient.TryGetValue(clientKey, out var allocation))
        {
            foreach (var attribute in message.Attributes)
            {
                if (attribute.Type == StunAttributeType.XorPeerAddress
                    && StunAddressCodec.TryRead(attribute.Value, message.Bytes[..StunHeader.Size], out var peer))
                {
                    var key = AddressKey.From(peer).IpOnly;
                    if (allocation.Serves(key.IsIPv6))
                    {
                        allocation.Permissions[key] = now + PermissionLifetime;
                    }
                }
            }
        }

        Send(BuildSuccess(message, signing.Key!, null, null, null, null), client, StunMethod.CreatePermission, 0);
    }

    private RelayToPeer? HandleSendIndication(in StunMessage message, AddressKey clientKey, DateTimeOffset now)
    {
        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation)
            || !message.TryGetXorPeerAddress(out var peer)
            || !message.TryGetAttribute(StunAttributeType.Data, out var data))
        {
            return null;
        }

        var peerKey = AddressKey.From(peer);
        if (!allocation.Serves(peerKey.IsIPv6)
            || !allocation.Permissions.TryGetValue(peerKey.IpOnly, out var expiry)
            || expiry <= now)
        {
            return null;
        }

        CountRelayed(data.Value.Length);
        return new RelayToPeer(allocation.Port, peer, peer.Serialize(), data.Offset + 4, data.Value.Length);
    }
}
