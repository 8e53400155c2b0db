using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>How the TURN client acts on the relay's responses (snownet spec §6.3–§6.8).</summary>
internal sealed partial class Allocation
{
    private void HandleSuccess(InFlightRequest request, TurnResponse response, IPEndPoint local, TimeSpan now)
    {
        switch (request.Request.Kind)
        {
            case TurnRequestKind.Binding:
                if (response.XorMappedAddress is not { } mapped)
                {
                    LogMissingAttribute("XOR-MAPPED-ADDRESS", request.Request.Kind);
                    return;
                }

                var candidate = new AllocationCandidate(AllocationCandidateKind.ServerReflexive, mapped, local);
                if (request.Destination.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    Update(ref _srflxV6, candidate);
                }
                else
                {
                    Update(ref _srflxV4, candidate);
                }

                if (_activeSocket is null)
                {
                    _activeSocket = request.Destination;
                    LogActiveSocket(request.Destination);
                    AuthenticateAndQueue(HasAllocation ? TurnRequest.Refresh : TurnRequest.Allocate, AllocationBackoff.StartAt(now), now);
                }

                return;

            case TurnRequestKind.Allocate:
                if (response.Lifetime is not { } allocateLifetime)
                {
                    LogMissingAttribute("LIFETIME", request.Request.Kind);
                    return;
                }

                if (response.RelayedV4 is null && response.RelayedV6 is null)
                {
                    LogMissingAttribute("XOR-RELAYED-ADDRESS", request.Request.Kind);
                    return;
                }

                UpdateRelayed(ref _relayedV4, response.RelayedV4);
                UpdateRelayed(ref _relayedV6, response.RelayedV6);
                _lifetime = (now, allocateLifetime);
                LogAllocated(response.RelayedV4?.ToString() ?? "no IPv4", response.RelayedV6?.ToString() ?? "no IPv6", allocateLifetime);

                while (_bufferedChannelBindings.First is { } first)
                {
                    _bufferedChannelBindings.RemoveFirst();
                    BindChannel(first.Value, now);
                }

                return;

            case TurnRequestKind.Refresh:
                if (response.Lifetime is not { } refreshLifetime)
                {
                    LogMissingAttribute("LIFETIME", request.Request.Kind);
                    return;
                }

                if (refreshLifetime == TimeSpan.Zero)
                {
                    // Our allocation is gone (we deleted it to resynchronise, or the relay did): start a new one.
                    InvalidateAllocation();
                    AuthenticateAndQueue(TurnRequest.Allocate, AllocationBackoff.StartAt(now), now);
                    return;
                }

                _lifetime = (now, refreshLifetime);
                return;

            case TurnRequestKind.ChannelBind:
                _channels.SetBound(request.Request.Channel, now);
                if (request.Request.Peer is { } bound)
                {
                    ReportChannelBound(bound);
                }

                return;
        }
    }

    private void HandleError(InFlightRequest request, TurnResponse response, int code, TimeSpan now)
    {
        var kind = request.Request.Kind;
        LogErrorResponse(kind, code);

        if (code == StunErrorCode.Unauthorized && request.CarriedNonce)
        {
            // Our credentials are no good: stop using them; the allocation is freed once idle.
            LogAuthenticationFailed();
            _credentials = null;
            InvalidateAllocation();
            return;
        }

        if ((code == StunErrorCode.Unauthorized || code == StunErrorCode.StaleNonce) && kind != TurnRequestKind.Binding)
        {
            if (_credentials is not { } credentials)
            {
                return;
            }

            if (response.Nonce is not { } nonce)
            {
                LogMissingAttribute("NONCE", kind);
                return;
            }

            credentials.Nonce = nonce;
            if (response.Realm is { } realm && realm != credentials.Realm)
            {
                LogWrongRealm(realm, credentials.Realm);
                return;
            }

            AuthenticateAndQueue(request.Request, AllocationBackoff.StartAt(now), now);
            return;
        }

        if (code == StunErrorCode.AllocationMismatch)
        {
            InvalidateAllocation();
            switch (kind)
            {
                case TurnRequestKind.Allocate:
                    // The relay still has an allocation for our address (e.g. our success response got lost): delete
                    // it, the LIFETIME 0 answer then triggers a fresh Allocate.
                    AuthenticateAndQueue(TurnRequest.DeleteAllocation, AllocationBackoff.StartAt(now), now);
                    break;
                case TurnRequestKind.Refresh:
                    AuthenticateAndQueue(TurnRequest.Allocate, AllocationBackoff.StartAt(now), now);
                    break;
                case TurnRequestKind.ChannelBind:
                    AuthenticateAndQueue(TurnRequest.Allocate, AllocationBackoff.StartAt(now), now);
                    if (request.Request.Peer is { } peer && !_bufferedChannelBindings.Contains(peer))
                    {
                        _bufferedChannelBindings.AddLast(peer);
                    }

                    break;
            }

            return;
        }

        if (code == StunErrorCode.UnknownAttribute)
        {
            _explicitFailure = AllocationFreeReason.ProtocolFailure;
            return;
        }

        switch (kind)
        {
            case TurnRequestKind.Allocate:
                _bufferedChannelBindings.Clear();
                break;
            case TurnRequestKind.ChannelBind:
                _channels.Remove(request.Request.Channel);
                break;
        }
    }

    /// <summary>
    /// Signed responses are accepted if their MESSAGE-INTEGRITY verifies with our key. Unsigned ones only if they are
    /// 401/438 challenges (deliberate: standard TURN servers send unsigned challenges; upstream drops them).
    /// </summary>
    private static bool IsAuthentic(TurnResponse response) => response.Integrity switch
    {
        IntegrityCheck.Valid => true,
        IntegrityCheck.Absent => response.ErrorCode is StunErrorCode.Unauthorized or StunErrorCode.StaleNonce,
        _ => false,
    };
}
