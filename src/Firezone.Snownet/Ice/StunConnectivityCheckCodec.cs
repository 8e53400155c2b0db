using System.Buffers.Binary;
using System.IO.Hashing;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Ice;

/// <summary>
/// <see cref="IConnectivityCheckCodec"/> on the STUN codec (<c>Stun/</c>). Decoding follows snownet spec §4.6: only
/// Binding requests/responses, MESSAGE-INTEGRITY required, the length field must match the datagram, unknown
/// attributes ignored. Unlike str0m, a FINGERPRINT that is present must be correct (RFC 8489 §14.7); one that is
/// absent is accepted. A zero-type, zero-length attribute after USERNAME (str0m's padding
/// quirk, spec §11 item 20) is an unknown attribute and therefore tolerated; encoding pads USERNAME per RFC 8489.
/// Requests are decoded in one pass over the attributes that count (first occurrence wins, as for the accessors of
/// <see cref="StunMessage"/>), without allocating.
/// </summary>
internal sealed class StunConnectivityCheckCodec : IConnectivityCheckCodec
{
    /// <summary>Shared stateless instance.</summary>
    public static StunConnectivityCheckCodec Instance { get; } = new();

    /// <inheritdoc/>
    public bool IsStun(ReadOnlySpan<byte> datagram) => StunHeader.LooksLikeStun(datagram);

    /// <inheritdoc/>
    public bool TryDecode(ReadOnlySpan<byte> datagram, out ConnectivityCheck check)
    {
        check = default;
        if (!StunMessage.TryParse(datagram, out StunMessage msg) || msg.Method != StunMethod.Binding)
        {
            return false;
        }

        int username = -1, usernameLength = 0, integrity = -1, fingerprint = -1;
        bool hasPriority = false, hasControlling = false, hasControlled = false;
        ulong controlling = 0, controlled = 0;
        foreach (StunAttribute a in msg.Attributes)
        {
            switch (a.Type)
            {
                case StunAttributeType.Username when username < 0:
                    username = a.Offset + 4;
                    usernameLength = a.Value.Length;
                    break;
                case StunAttributeType.MessageIntegrity when integrity < 0:
                    integrity = a.Offset;
                    break;
                case StunAttributeType.Fingerprint when fingerprint < 0:
                    fingerprint = a.Offset;
                    break;
                case StunAttributeType.Priority when !hasPriority:
                    hasPriority = true;
                    check.Priority = BinaryPrimitives.ReadUInt32BigEndian(a.Value);
                    break;
                case StunAttributeType.IceControlling when !hasControlling:
                    hasControlling = true;
                    controlling = BinaryPrimitives.ReadUInt64BigEndian(a.Value);
                    break;
                case StunAttributeType.IceControlled when !hasControlled:
                    hasControlled = true;
                    controlled = BinaryPrimitives.ReadUInt64BigEndian(a.Value);
                    break;
                case StunAttributeType.UseCandidate:
                    check.UseCandidate = true;
                    break;
            }
        }

        if (integrity < 0)
        {
            return false;
        }

        // Stricter than str0m on purpose (RFC 8489 §14.7): a FINGERPRINT that is present must be last and match.
        if (fingerprint >= 0 && (fingerprint + 8 != datagram.Length
            || BinaryPrimitives.ReadUInt32BigEndian(datagram[(fingerprint + 4)..]) != (Crc32.HashToUInt32(datagram[..fingerprint]) ^ StunMessage.FingerprintXor)))
        {
            return false;
        }

        check.TransactionId = msg.TransactionId;
        check.IntegrityOffset = integrity;
        switch (msg.Class)
        {
            case StunClass.Request:
                if (username < 0)
                {
                    return false;
                }

                check.Kind = CheckMessageKind.Request;
                check.UsernameRange = username..(username + usernameLength);
                if (hasControlling)
                {
                    check.Controlling = true;
                    check.TieBreaker = controlling;
                }
                else if (hasControlled)
                {
                    check.Controlling = false;
                    check.TieBreaker = controlled;
                }

                return true;
            case StunClass.SuccessResponse:
                check.Kind = CheckMessageKind.Success;
                check.UseCandidate = false;
                check.Priority = 0;
                if (msg.TryGetXorMappedAddress(out var mapped))
                {
                    check.MappedAddress = mapped;
                }

                return true;
            case StunClass.ErrorResponse:
                check.Kind = CheckMessageKind.Error;
                check.UseCandidate = false;
                check.Priority = 0;
                check.ErrorCode = msg.ErrorCode ?? 0;
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc/>
    public bool VerifyIntegrity(ReadOnlySpan<byte> datagram, in ConnectivityCheck check, CheckIntegrityKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Verify(datagram, check.IntegrityOffset);
    }

    /// <inheritdoc/>
    public int Encode(in ConnectivityCheck check, CheckIntegrityKey key, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(key);
        StunClass cls = check.Kind switch
        {
            CheckMessageKind.Request => StunClass.Request,
            CheckMessageKind.Success => StunClass.SuccessResponse,
            _ => StunClass.ErrorResponse,
        };
        var b = new StunMessageBuilder(destination, StunMethod.Binding, cls, check.TransactionId);
        switch (check.Kind)
        {
            case CheckMessageKind.Request:
                b.AddAttribute(StunAttributeType.Username, check.Username.Span);
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

        int start = b.Length;
        Span<byte> integrity = b.AddAttribute(StunAttributeType.MessageIntegrity, StunMessage.MessageIntegrityLength);
        key.Compute(destination[..start], integrity);
        b.AddFingerprint();
        return b.Length;
    }
}
