using System.Net;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>ChannelBind and the channel lifecycle: bound (published in the forwarder) → cooling down → deleted (relay.md §5.4, §7).</summary>
public sealed partial class TurnServer
{
    private void HandleChannelBind(in StunMessage message, AddressKey clientKey, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow)
    {
        if (!message.TryGetChannelNumber(out ushort number) || !message.TryGetXorPeerAddress(out var peer))
        {
            SendUnsignedError(message.Method, message.TransactionId, client, StunErrorCode.BadRequest);
            return;
        }

        if (!Authorize(message, client, now, utcNow, out var signing))
        {
            return;
        }

        if (!_allocationsByClient.TryGetValue(clientKey, out var allocation))
        {
            SendError(message, client, StunErrorCode.AllocationMismatch, signing, now);
            return;
        }

        var peerKey = AddressKey.From(peer);
        if (!allocation.Serves(peerKey.IsIPv6))
        {
            SendError(message, client, StunErrorCode.PeerAddressFamilyMismatch, signing, now);
            return;
        }

        if (allocation.ChannelsByPeer.TryGetValue(peerKey, out ushort existingNumber) && existingNumber != number)
        {
            SendError(message, client, StunErrorCode.BadRequest, signing, now);
            return;
        }

        if (allocation.ChannelsByNumber.TryGetValue(number, out var channel))
        {
            if (channel.PeerKey != peerKey)
            {
                SendError(message, client, StunErrorCode.BadRequest, signing, now);
                return;
            }
        }
        else
        {
            if (_channelCount >= _maxChannels)
            {
                SendError(message, client, StunErrorCode.InsufficientCapacity, signing, now);
                return;
            }

            channel = new RelayChannel(number, peer, peerKey, allocation);
            allocation.ChannelsByNumber.Add(number, channel);
            allocation.ChannelsByPeer.Add(peerKey, number);
            _channelCount++;
        }

        BindChannel(channel, now.Ticks);
        SendPlainSuccess(message, client, signing);
    }

    /// <summary>(Re)binds for 600 s from <paramref name="nowTicks"/>: a new channel, a refresh, or a revival during cooldown.</summary>
    private void BindChannel(RelayChannel channel, long nowTicks)
    {
        channel.ExpiryTicks = nowTicks + ChannelLifetime.Ticks;
        if (!channel.Bound)
        {
            channel.Bound = true;
            Forwarder.Publish(channel.Route);
            Volatile.Write(ref _boundChannelCount, _boundChannelCount + 1);
        }

        _deadlines.Schedule(channel, channel.ExpiryTicks, RankChannelUnbind);
    }

    /// <summary>The binding expired: data stops both ways, number and peer stay reserved for the cooldown.</summary>
    private void UnbindChannel(RelayChannel channel)
    {
        channel.Bound = false;
        Forwarder.Withdraw(channel.Route);
        Volatile.Write(ref _boundChannelCount, _boundChannelCount - 1);
        _deadlines.Schedule(channel, channel.ExpiryTicks + ChannelCooldown.Ticks, RankChannelDelete);
    }

    /// <summary>The cooldown ended: number and peer become free.</summary>
    private void DeleteChannel(RelayChannel channel)
    {
        var allocation = channel.Allocation;
        allocation.ChannelsByNumber.Remove(channel.Number);
        allocation.ChannelsByPeer.Remove(channel.PeerKey);
        _deadlines.Remove(channel);
        _channelCount--;
    }

    /// <summary>All channels of a deleted allocation go at once (no cooldown once the allocation is gone).</summary>
    private void DeleteChannels(RelayAllocation allocation)
    {
        foreach (var channel in allocation.ChannelsByNumber.Values)
        {
            if (channel.Bound)
            {
                channel.Bound = false;
                Forwarder.Withdraw(channel.Route);
                Volatile.Write(ref _boundChannelCount, _boundChannelCount - 1);
            }

            _deadlines.Remove(channel);
            _channelCount--;
        }

        allocation.ChannelsByNumber.Clear();
        allocation.ChannelsByPeer.Clear();
    }

    /// <summary>The allocation moved to another port (before its success left): its channels' routes follow it.</summary>
    private void RepublishRoutes(RelayAllocation allocation, int oldPort)
    {
        foreach (var ip in allocation.Permissions.Keys)
        {
            Forwarder.Unpermit(oldPort, ip);
            Forwarder.Permit(allocation.Port, ip);
        }

        foreach (var channel in allocation.ChannelsByNumber.Values)
        {
            if (channel.Bound)
            {
                Forwarder.Withdraw(channel.Route);
            }

            channel.RebuildRoute();
            if (channel.Bound)
            {
                Forwarder.Publish(channel.Route);
            }
        }
    }
}
