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

    private RelayToPeer? HandleStun(ReadOnlySpan<byte> datagram, AddressKey clientKey, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow)
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
                HandleAllocate(message, clientKey, client, now, utcNow);
                break;
            case StunMethod.Refresh:
                HandleRefresh(message, clientKey, client, now, utcNow);
                break;
            case StunMethod.ChannelBind:
                HandleChannelBind(message, clientKey, client, now, utcNow);
                break;
            case StunMethod.CreatePermission:
                HandleCreatePermission(message, clientKey, client, now, utcNow);
                break;
            default:
                SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
                break;
        }

        return null;
    }

    /// <summary>Upstream's <c>message_type</c> label of a method; null for methods upstream does not count.</summary>
    private static string? MessageTypeOf(StunMethod method) => method switch
    {
        StunMethod.Binding => "binding",
        StunMethod.Allocate => "allocate",
        StunMethod.Refresh => "refresh",
        StunMethod.ChannelBind => "channelbind",
        StunMethod.CreatePermission => "createpermission",
        _ => null,
    };

    private void Send(byte[] payload, IPEndPoint client, StunMethod method, int errorCode) =>
        _commands.Enqueue(new QueuedCommand(new TurnServerCommand
        {
            Kind = TurnServerCommandKind.SendMessage,
            Payload = payload,
            Destination = client,
            MessageType = MessageTypeOf(method),
            ErrorCode = errorCode,
        }));

    private void SendUnsignedError(StunMethod method, TransactionId id, IPEndPoint client, int code)
    {
        Span<byte> buffer = stackalloc byte[MaxResponseSize];
        var builder = new StunMessageBuilder(buffer, method, StunClass.ErrorResponse, id);
        builder.AddErrorCode(code);
        LogErrorResponse(_logger, method, client, code);
        Send(builder.ToArray(), client, method, code);
    }

    /// <summary>An error response; 401 and 438 carry REALM and a fresh NONCE issued at <paramref name="nowTicks"/>.</summary>
    private byte[] BuildError(StunMethod method, TransactionId id, int code, in Signing signing, long nowTicks)
    {
        Span<byte> buffer = stackalloc byte[MaxResponseSize];
        var builder = new StunMessageBuilder(buffer, method, StunClass.ErrorResponse, id);
        builder.AddErrorCode(code);
        if (code is StunErrorCode.Unauthorized or StunErrorCode.StaleNonce)
        {
            Span<byte> random = stackalloc byte[16];
            _random(random);
            builder.AddRealm(FirezoneCredentials.Realm);
            builder.AddNonce(_nonces.Issue(random, nowTicks));
        }

        if (signing.Key is { } key)
        {
            builder.AddMessageIntegrity(key);
        }

        return builder.ToArray();
    }

    /// <summary>Error from a method handler: signed iff the request had a USERNAME; nothing at all if that USERNAME is unusable.</summary>
    private void SendError(in StunMessage request, IPEndPoint client, int code, in Signing signing, TimeSpan now)
    {
        if (signing.Unsignable)
        {
            LogUnsignable(_logger, request.Method, client);
            return;
        }

        LogErrorResponse(_logger, request.Method, client, code);
        Send(BuildError(request.Method, request.TransactionId, code, signing, now.Ticks), client, request.Method, code);
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

    /// <summary>
    /// Verification order of relay.md §6: MI, USERNAME, NONCE present and a UUID → nonce use (its lifetime on the
    /// monotonic <paramref name="now"/>) → username, expiry (against the wall clock <paramref name="utcNow"/>, the
    /// server's only use of it), MI.
    /// </summary>
    private AuthResult Authenticate(in StunMessage message, in Signing signing, TimeSpan now, DateTimeOffset utcNow)
    {
        if (!message.HasMessageIntegrity || !signing.HasUsername || message.Nonce is not { } nonceText
            || !NonceStore.TryParse(nonceText, out var nonce))
        {
            return AuthResult.Unauthorized;
        }

        if (_nonces.Use(nonce, now.Ticks) != NonceUse.Ok)
        {
            return AuthResult.StaleNonce;
        }

        if (signing.Key is not { } key
            || !FirezoneCredentials.TryParseUsername(message.Username!, out ulong expiry, out _)
            || expiry < (ulong)Math.Max(0, utcNow.ToUnixTimeSeconds())
            || !message.VerifyMessageIntegrity(key))
        {
            return AuthResult.Unauthorized;
        }

        return AuthResult.Ok;
    }

    /// <summary>Runs authentication and answers 401/438 itself; true when the request may proceed.</summary>
    private bool Authorize(in StunMessage message, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow, out Signing signing)
    {
        signing = SigningFor(message);
        var result = Authenticate(message, signing, now, utcNow);
        if (result == AuthResult.Ok)
        {
            return true;
        }

        SendError(message, client, result == AuthResult.StaleNonce ? StunErrorCode.StaleNonce : StunErrorCode.Unauthorized, signing, now);
        return false;
    }

    private static byte[] BuildSuccess(StunMethod method, TransactionId id, byte[] key, IPEndPoint? relayed4 = null, IPEndPoint? relayed6 = null, IPEndPoint? mapped = null, uint? lifetime = null)
    {
        Span<byte> buffer = stackalloc byte[MaxResponseSize];
        var builder = new StunMessageBuilder(buffer, method, StunClass.SuccessResponse, id);
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

    /// <summary>A signed success with MESSAGE-INTEGRITY only (ChannelBind, CreatePermission).</summary>
    private void SendPlainSuccess(in StunMessage request, IPEndPoint client, in Signing signing) =>
        Send(BuildSuccess(request.Method, request.TransactionId, signing.Key!), client, request.Method, 0);

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

    private void HandleAllocate(in StunMessage message, AddressKey clientKey, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow)
    {
        if (!message.TryGetRequestedTransport(out byte protocol))
        {
            SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
            return;
        }

        if (!Authorize(message, client, now, utcNow, out var signing))
        {
            return;
        }

        if (_allocationsByClient.ContainsKey(clientKey))
        {
            SendError(message, client, StunErrorCode.AllocationMismatch, signing, now);
            return;
        }

        // Busy ports (taken by another process, relay.md §2) are only tried when no other port is free (TryDrawPort).
        if (_allocationsByClient.Count >= PortCount)
        {
            SendError(message, client, StunErrorCode.InsufficientCapacity, signing, now);
            return;
        }

        if (protocol != 17)
        {
            SendError(message, client, StunErrorCode.BadRequest, signing, now);
            return;
        }

        bool hasRaf = message.TryGetRequestedAddressFamily(out var raf);
        bool hasAaf = message.TryGetAdditionalAddressFamily(out var aaf);
        bool want4, want6;
        if (hasRaf && hasAaf)
        {
            SendError(message, client, StunErrorCode.BadRequest, signing, now);
            return;
        }

        if (hasAaf)
        {
            if (aaf == StunAddressFamily.IPv4)
            {
                SendError(message, client, StunErrorCode.BadRequest, signing, now);
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
            SendError(message, client, StunErrorCode.AddressFamilyNotSupported, signing, now);
            return;
        }

        if (!TryDrawPort(out int port))
        {
            SendError(message, client, StunErrorCode.InsufficientCapacity, signing, now);
            return;
        }

        uint lifetime = EffectiveLifetime(message);
        var allocation = new RelayAllocation(clientKey, client, port, want4, want6) { AllocatedAtTicks = now.Ticks };
        _allocationsByClient.Add(clientKey, allocation);
        _allocationsByPort.Add(port, allocation);
        _deadlines.Schedule(allocation, now.Ticks + TimeSpan.FromSeconds(lifetime).Ticks, RankAllocation);
        Volatile.Write(ref _allocationCount, _allocationsByClient.Count);
        QueueCreateCommands(allocation, front: false);

        // The success is built when polled, so that it names the port the allocation finally got (see HandleAllocationFailed).
        var pending = new PendingAllocateResponse(allocation, message.TransactionId, signing.Key!, lifetime);
        allocation.Pending = pending;
        LogAllocationCreated(_logger, client, port, want4, want6, lifetime);
        _commands.Enqueue(new QueuedCommand(
            new TurnServerCommand { Kind = TurnServerCommandKind.SendMessage, Destination = client, MessageType = MessageTypeOf(StunMethod.Allocate) },
            allocation,
            allocation.Generation,
            pending));
    }

    private void HandleRefresh(in StunMessage message, AddressKey clientKey, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow)
    {
        if (!Authorize(message, client, now, utcNow, out var signing))
        {
            return;
        }

        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation))
        {
            SendError(message, client, StunErrorCode.AllocationMismatch, signing, now);
            return;
        }

        uint lifetime = EffectiveLifetime(message);
        if (lifetime == 0)
        {
            DeleteAllocation(allocation, freeSockets: true);
        }
        else
        {
            // Replaces, never extends, the previous expiry; O(log n), and a Refresh flood never grows the heap.
            _deadlines.Schedule(allocation, now.Ticks + TimeSpan.FromSeconds(lifetime).Ticks, RankAllocation);
        }

        Send(BuildSuccess(message.Method, message.TransactionId, signing.Key!, lifetime: lifetime), client, StunMethod.Refresh, 0);
    }
}
