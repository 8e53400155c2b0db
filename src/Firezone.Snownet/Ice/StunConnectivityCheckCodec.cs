using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Ice;

/// <summary>
/// <see cref="IConnectivityCheckCodec"/> on the STUN codec (<c>Stun/</c>). Decoding follows snownet spec §4.6: only
/// Binding requests/responses, MESSAGE-INTEGRITY required, the length field must match the datagram, unknown
/// attributes ignored. Unlike str0m, a FINGERPRINT that is present must be correct (RFC 8489 §14.7); one that is
/// absent is accepted. A zero-type, zero-length attribute after USERNAME (str0m's padding
/// quirk, spec §11 item 20) is an unknown attribute and therefore tolerated; encoding pads USERNAME per RFC 8489.
/// </summary>
internal sealed class StunConnectivityCheckCodec : IConnectivityCheckCodec
{
    /// <summary>Largest check we build (attributes are small and fixed).</summary>
    private const int MaxCheckSize = 256;

    /// <summary>Shared stateless instance.</summary>
    public static StunConnectivityCheckCodec Instance { get; } = new();

    /// <inheritdoc/>
    public bool IsStun(ReadOnlySpan<byte> datagram) => StunHeader.LooksLikeStun(datagram);

    /// <inheritdoc/>
    public bool TryDecode(ReadOnlySpan<byte> datagram, out ConnectivityCheck check)
    {
        check = default;
        if (!StunMessage.TryParse(datagram, out StunMessage msg) || msg.Method != StunMethod.Binding || !msg.HasMessageIntegrity)
        {
            return false;
        }

        // Stricter than str0m on purpose (RFC 8489 §14.7): a FINGERPRINT that is present must match.
        if (msg.HasFingerprint && !msg.VerifyFingerprint())
        {
            return false;
        }

        check.TransactionId = msg.TransactionId;
        switch (msg.Class)
        {
            case StunClass.Request:
                check.Kind = CheckMessageKind.Request;
                check.Username = msg.Username;
                if (check.Username is null || check.Username.Length > 513)
                {
                    return false;
                }

                if (msg.TryGetPriority(out uint priority))
                {
                    check.Priority = priority;
                }

                if (msg.TryGetIceControlling(out ulong tb))
                {
                    check.Controlling = true;
                    check.TieBreaker = tb;
                }
                else if (msg.TryGetIceControlled(out tb))
                {
                    check.Controlling = false;
                    check.TieBreaker = tb;
                }

                check.UseCandidate = msg.HasUseCandidate;
                return true;
            case StunClass.SuccessResponse:
                check.Kind = CheckMessageKind.Success;
                if (msg.TryGetXorMappedAddress(out var mapped))
                {
                    check.MappedAddress = mapped;
                }

                return true;
            case StunClass.ErrorResponse:
                check.Kind = CheckMessageKind.Error;
                check.ErrorCode = msg.ErrorCode ?? 0;
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc/>
    public bool VerifyIntegrity(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> key)
        => StunMessage.TryParse(datagram, out StunMessage msg) && msg.VerifyMessageIntegrity(key);

    /// <inheritdoc/>
    public byte[] Encode(in ConnectivityCheck check, ReadOnlySpan<byte> key)
    {
        StunClass cls = check.Kind switch
        {
            CheckMessageKind.Request => StunClass.Request,
            CheckMessageKind.Success => StunClass.SuccessResponse,
            _ => StunClass.ErrorResponse,
        };
        Span<byte> buffer = stackalloc byte[MaxCheckSize];
        var b = new StunMessageBuilder(buffer, StunMethod.Binding, cls, check.TransactionId);
        switch (check.Kind)
        {
            case CheckMessageKind.Request:
                b.AddUsername(check.Username);
                if (check.Controlling == true)
                {
                    b.AddIceControlling(check.TieBreaker);
                }
                else if (check.Controlling == false)
                {
                    b.AddIceControlled(check.TieBreaker);
                }

                b.AddPriority(check.Priority);
                if (check.UseCandidate)
                {
                    b.AddUseCandidate();
                }

                break;
            case CheckMessageKind.Success:
                if (check.MappedAddress is { } mapped)
                {
                    b.AddXorMappedAddress(mapped);
                }

                break;
            default:
                b.AddErrorCode(check.ErrorCode);
                break;
        }

        b.AddMessageIntegrity(key);
        b.AddFingerprint();
        return b.ToArray();
    }
}
