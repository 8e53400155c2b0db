using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>Outcome of checking a response's MESSAGE-INTEGRITY.</summary>
internal enum IntegrityCheck : byte
{
    /// <summary>No MESSAGE-INTEGRITY attribute.</summary>
    Absent,

    /// <summary>Present and verified with our key.</summary>
    Valid,

    /// <summary>Present but wrong (or we have no key any more).</summary>
    Invalid,
}

/// <summary>The parts of a TURN/STUN response an <see cref="Allocation"/> acts on, copied out of the datagram.</summary>
internal sealed class TurnResponse
{
    /// <summary>Transaction id.</summary>
    public TransactionId TransactionId { get; init; }

    /// <summary>Method.</summary>
    public StunMethod Method { get; init; }

    /// <summary>ERROR-CODE number for error responses; null for success responses.</summary>
    public int? ErrorCode { get; init; }

    /// <summary>MESSAGE-INTEGRITY verdict.</summary>
    public IntegrityCheck Integrity { get; init; }

    /// <summary>NONCE.</summary>
    public string? Nonce { get; init; }

    /// <summary>REALM.</summary>
    public string? Realm { get; init; }

    /// <summary>XOR-MAPPED-ADDRESS.</summary>
    public IPEndPoint? XorMappedAddress { get; init; }

    /// <summary>First IPv4 XOR-RELAYED-ADDRESS.</summary>
    public IPEndPoint? RelayedV4 { get; init; }

    /// <summary>First IPv6 XOR-RELAYED-ADDRESS.</summary>
    public IPEndPoint? RelayedV6 { get; init; }

    /// <summary>LIFETIME.</summary>
    public TimeSpan? Lifetime { get; init; }
}

/// <summary>
/// The only place where <see cref="Allocation"/> touches bytes: it builds its requests (attribute order of snownet
/// spec §6.3) and reads responses and ChannelData with the codecs in <c>Stun/</c> and <see cref="ChannelData"/>.
/// </summary>
internal static class AllocationWire
{
    private const int MaxRequestLength = 1500;

    /// <summary>The STUN method a request kind is sent with.</summary>
    public static StunMethod MethodOf(TurnRequestKind kind) => kind switch
    {
        TurnRequestKind.Binding => StunMethod.Binding,
        TurnRequestKind.Allocate => StunMethod.Allocate,
        TurnRequestKind.Refresh => StunMethod.Refresh,
        TurnRequestKind.ChannelBind => StunMethod.ChannelBind,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Binding request: SOFTWARE only (no credentials, no FINGERPRINT).</summary>
    public static byte[] EncodeBinding(TransactionId id, string software)
    {
        Span<byte> buffer = stackalloc byte[MaxRequestLength];
        var builder = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.Request, id);
        builder.AddSoftware(software);
        return builder.ToArray();
    }

    /// <summary>
    /// An authenticated request: its own attributes, SOFTWARE, USERNAME, REALM, NONCE, MESSAGE-INTEGRITY; while no NONCE
    /// is known only its own attributes and SOFTWARE (the server's 401 challenge then supplies REALM and NONCE).
    /// </summary>
    public static byte[] EncodeAuthenticated(TurnRequest request, TransactionId id, string software, AllocationCredentials credentials)
    {
        Span<byte> buffer = stackalloc byte[MaxRequestLength];
        var builder = new StunMessageBuilder(buffer, MethodOf(request.Kind), StunClass.Request, id);
        switch (request.Kind)
        {
            case TurnRequestKind.Allocate:
                builder.AddRequestedTransport(AllocationConstants.RequestedTransportUdp);
                builder.AddAdditionalAddressFamily(StunAddressFamily.IPv6);
                builder.AddSoftware(software);
                break;
            case TurnRequestKind.Refresh:
                // Deliberate departure from upstream, which repeats REQUESTED-TRANSPORT and ADDITIONAL-ADDRESS-FAMILY
                // here: RFC 8656 §7.1 defines neither for Refresh and coturn rejects them with 420. The Firezone relay
                // ignores them, and a Refresh always covers both families.
                builder.AddSoftware(software);
                if (request.Delete)
                {
                    builder.AddLifetime(0);
                }

                break;
            case TurnRequestKind.ChannelBind:
                builder.AddXorPeerAddress(request.Peer ?? throw new ArgumentException("ChannelBind needs a peer", nameof(request)));
                builder.AddChannelNumber(request.Channel);
                builder.AddSoftware(software);
                break;
            default:
                throw new ArgumentException("Binding requests are not authenticated", nameof(request));
        }

        if (credentials.Nonce is not { } nonce)
        {
            // RFC 8489 §9.2.3.1: before the server handed out a nonce the request carries no credentials. Deliberate
            // departure from upstream, which signs it without NONCE: coturn answers that with an unsigned 400, while
            // both coturn and the Firezone relay answer a credential-less request with a 401 challenge.
            return builder.ToArray();
        }

        builder.AddUsername(credentials.Username);
        builder.AddRealm(credentials.Realm);
        builder.AddNonce(nonce);
        builder.AddMessageIntegrity(credentials.Key);
        return builder.ToArray();
    }

    /// <summary>The transaction id of a datagram with a valid STUN header (cheap check before any HMAC is computed).</summary>
    public static bool TryPeekTransactionId(ReadOnlySpan<byte> datagram, out TransactionId id)
    {
        if (!StunHeader.TryRead(datagram, out var header))
        {
            id = default;
            return false;
        }

        id = header.TransactionId;
        return true;
    }

    /// <summary>
    /// Reads a success or error response. False for anything else (not STUN, malformed, requests, indications).
    /// MESSAGE-INTEGRITY is checked with <paramref name="key"/> when present.
    /// </summary>
    public static bool TryReadResponse(ReadOnlySpan<byte> datagram, byte[]? key, out TurnResponse response)
    {
        response = null!;
        if (!StunMessage.TryParse(datagram, out var message))
        {
            return false;
        }

        if (message.Class is not (StunClass.SuccessResponse or StunClass.ErrorResponse))
        {
            return false;
        }

        int? errorCode = null;
        if (message.Class == StunClass.ErrorResponse)
        {
            // An error response without ERROR-CODE is malformed (RFC 8489 §14.8); treat it as a generic failure.
            errorCode = message.ErrorCode ?? StunErrorCode.BadRequest;
        }

        var integrity = !message.HasMessageIntegrity
            ? IntegrityCheck.Absent
            : key is not null && message.VerifyMessageIntegrity(key) ? IntegrityCheck.Valid : IntegrityCheck.Invalid;

        response = new TurnResponse
        {
            TransactionId = message.TransactionId,
            Method = message.Method,
            ErrorCode = errorCode,
            Integrity = integrity,
            Nonce = message.Nonce,
            Realm = message.Realm,
            XorMappedAddress = message.TryGetXorMappedAddress(out var mapped) ? mapped : null,
            RelayedV4 = message.TryGetXorRelayedAddress(AddressFamily.InterNetwork, out var v4) ? v4 : null,
            RelayedV6 = message.TryGetXorRelayedAddress(AddressFamily.InterNetworkV6, out var v6) ? v6 : null,
            Lifetime = message.TryGetLifetime(out var seconds) ? TimeSpan.FromSeconds(seconds) : null,
        };
        return true;
    }

    /// <summary>Reads a ChannelData frame; <paramref name="payload"/> is cut to the declared length.</summary>
    public static bool TryReadChannelData(ReadOnlySpan<byte> datagram, out ushort channel, out Range payload)
    {
        if (!ChannelData.TryParse(datagram, out var frame))
        {
            channel = 0;
            payload = default;
            return false;
        }

        channel = frame.Channel;
        payload = ChannelData.HeaderLength..(ChannelData.HeaderLength + frame.Payload.Length);
        return true;
    }

    /// <summary>Header + payload as a new array (no padding over UDP).</summary>
    public static byte[] EncodeChannelData(ushort channel, ReadOnlySpan<byte> payload) => ChannelData.Encode(channel, payload);

    /// <summary>Writes the 4-byte ChannelData header at the start of <paramref name="packet"/>.</summary>
    public static void WriteChannelDataHeader(Span<byte> packet, ushort channel, int payloadLength) =>
        ChannelData.WriteHeader(packet, channel, payloadLength);
}
