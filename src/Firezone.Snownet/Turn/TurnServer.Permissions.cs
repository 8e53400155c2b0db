using System.Net;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>
/// RFC 8656 permissions (an extension beyond upstream, whose CreatePermission is a no-op): CreatePermission installs them
/// for 300 s, bounded per allocation and in total; Send indications to and datagrams from permitted peer IPs without a
/// channel travel as Send/Data indications.
/// </summary>
public sealed partial class TurnServer
{
    private void HandleCreatePermission(in StunMessage message, AddressKey clientKey, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow)
    {
        // A structural check as ChannelBind's: before authentication, unsigned (RFC 8656 §9.1 requires a peer address).
        if (!message.Has(StunAttributeType.XorPeerAddress))
        {
            SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
            return;
        }

        if (!Authorize(message, client, now, utcNow, out var signing))
        {
            return;
        }

        // Upstream: an unconditional no-op success, also without an allocation; kept.
        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation))
        {
            SendPlainSuccess(message, client, signing);
            return;
        }

        // All-or-nothing (RFC 8656 §9.2): check every peer and the capacity before installing any.
        int code = CollectPermissionPeers(message, allocation, out int added);
        if (code == 0
            && (allocation.Permissions.Count + added > _maxPermissionsPerAllocation || _permissionCount + added > _maxPermissions))
        {
            code = StunErrorCode.InsufficientCapacity;
        }

        if (code != 0)
        {
            _peerScratch.Clear();
            SendError(message, client, code, signing, now);
            return;
        }

        long expiry = now.Ticks + PermissionLifetime.Ticks;
        foreach (var ip in _peerScratch)
        {
            if (!allocation.Permissions.TryGetValue(ip, out var permission))
            {
                permission = new RelayPermission(allocation, ip);
                allocation.Permissions.Add(ip, permission);
                Forwarder.Permit(allocation.Port, ip);
                _permissionCount++;
            }

            permission.ExpiryTicks = expiry;
            _deadlines.Schedule(permission, expiry, RankPermission);
        }

        _peerScratch.Clear();
        SendPlainSuccess(message, client, signing);
    }

    /// <summary>
    /// Puts the distinct peer IPs of <paramref name="message"/> into the scratch set and counts those without a
    /// permission yet; returns 0, or the error code to answer (443 for a family the allocation does not serve).
    /// </summary>
    private int CollectPermissionPeers(in StunMessage message, RelayAllocation allocation, out int added)
    {
        added = 0;
        _peerScratch.Clear();
        var header = message.Bytes[..StunHeader.Size];
        foreach (var attribute in message.Attributes)
        {
            if (attribute.Type != StunAttributeType.XorPeerAddress)
            {
                continue;
            }

            if (!StunAddressCodec.TryRead(attribute.Value, header, out var peer))
            {
                return StunErrorCode.BadRequest;
            }

            var ip = AddressKey.From(peer).IpOnly;
            if (!allocation.Serves(ip.IsIPv6))
            {
                return StunErrorCode.PeerAddressFamilyMismatch;
            }

            if (_peerScratch.Add(ip) && !allocation.Permissions.ContainsKey(ip))
            {
                added++;
            }
        }

        return 0;
    }

    private void DeletePermission(RelayPermission permission)
    {
        permission.Allocation.Permissions.Remove(permission.PeerIp);
        Forwarder.Unpermit(permission.Allocation.Port, permission.PeerIp);
        _deadlines.Remove(permission);
        _permissionCount--;
    }

    private void DeletePermissions(RelayAllocation allocation)
    {
        foreach (var permission in allocation.Permissions.Values)
        {
            _deadlines.Remove(permission);
            Forwarder.Unpermit(allocation.Port, permission.PeerIp);
        }

        _permissionCount -= allocation.Permissions.Count;
        allocation.Permissions.Clear();
    }

    private bool IsPermitted(RelayAllocation allocation, AddressKey peer, TimeSpan now) =>
        allocation.Permissions.TryGetValue(peer.IpOnly, out var permission) && permission.ExpiryTicks > now.Ticks;

    private RelayToPeer? HandleSendIndication(in StunMessage message, AddressKey clientKey, TimeSpan now)
    {
        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation)
            || !message.TryGetXorPeerAddress(out var peer)
            || !message.TryGetAttribute(StunAttributeType.Data, out var data))
        {
            return null;
        }

        var peerKey = AddressKey.From(peer);
        if (!allocation.Serves(peerKey.IsIPv6) || !IsPermitted(allocation, peerKey, now))
        {
            return null;
        }

        CountRelayed(data.Value.Length);
        return new RelayToPeer(allocation.Port, peer, peer.Serialize(), data.Offset + 4, data.Value.Length);
    }

    /// <summary>A peer with a permission but no bound channel: its datagram goes to the client in a Data indication.</summary>
    private void TryDeliverDataIndication(ReadOnlySpan<byte> datagram, AddressKey peerKey, IPEndPoint? peer, System.Net.SocketAddress? peerAddress, int port, TimeSpan now)
    {
        if (!_allocationsByPort.TryGetValue(port, out var allocation) || datagram.Length > 65_000 || !IsPermitted(allocation, peerKey, now))
        {
            return;
        }

        peer ??= ToEndPoint(peerAddress!);
        var buffer = new byte[datagram.Length + 64];
        var builder = new StunMessageBuilder(buffer, StunMethod.Data, StunClass.Indication, TransactionId.NewRandom(_random));
        builder.AddXorPeerAddress(peer);
        builder.AddData(datagram);
        CountRelayed(datagram.Length);
        _commands.Enqueue(new QueuedCommand(new TurnServerCommand { Kind = TurnServerCommandKind.SendMessage, Payload = builder.ToArray(), Destination = allocation.Client }));
    }
}
