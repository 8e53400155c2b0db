using System.Net;
using Firezone.Connlib.Model;
using Firezone.Connlib.P2pControl;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Gateway;

/// <summary>The packet paths (tunnel spec §5.4, §6).</summary>
public sealed partial class GatewayState
{
    /// <summary>The MTU a client is told when NAT46 would make its IPv4 packet larger than 1280 bytes.</summary>
    public const int Nat46Mtu = IpConstants.MaxPacketSize - 20;

    /// <summary>
    /// A datagram received from <paramref name="from"/> on <paramref name="local"/> (its concrete destination IP and the
    /// socket's port). TURN, ICE and WireGuard control traffic and p2p control packets are consumed
    /// (<see cref="NetworkInputStatus.Nothing"/>: call <see cref="HandleTimeout"/>); a client's packet that its grants
    /// allow comes back as <see cref="NetworkInputStatus.Packet"/>, DNS-resource NAT applied, for the TUN device, in
    /// <paramref name="buffer"/> (at least <see cref="Node.BufferSize"/> bytes). Refused packets are error values; a
    /// refused destination is also answered with ICMP "administratively prohibited" (IPv4 3/13, IPv6 1/1), at most
    /// <see cref="IcmpAnswerBudget.Burst"/> at once and 10 per second per client, queued for <see cref="PollTransmit"/>.
    /// Packets from a source other than the client's tunnel address are never answered.
    /// </summary>
    public NetworkInputResult HandleNetworkInput(ReadOnlySpan<byte> datagram, IPEndPoint from, IPEndPoint local, Span<byte> buffer, TimeSpan now)
    {
        if (buffer.Length < Node.BufferSize)
        {
            return NetworkInputResult.Fail(GatewayPacketError.BufferTooSmall);
        }

        var r = _node.Decapsulate(datagram, from, local, buffer, now);
        if (r.Status == DecapsulateStatus.Consumed)
        {
            return NetworkInputResult.Nothing;
        }

        if (r.Status == DecapsulateStatus.Error)
        {
            return NetworkInputResult.Fail(GatewayPacketError.Node, node: r.Error);
        }

        var client = new ClientId(r.Connection.Value);
        if (!_peers.TryGet(client, out var peer))
        {
            return NetworkInputResult.Fail(GatewayPacketError.UnknownClient, client);
        }

        int offset = r.Offset, length = r.Length;
        if (IpPacket.TryParse(buffer.Slice(offset, length), out var packet) != IpParseError.None)
        {
            return NetworkInputResult.Fail(GatewayPacketError.InvalidPacket, client);
        }

        if (DnsResourceNatMessages.TryGetEvent(packet, out byte eventType, out var body))
        {
            HandleControlEvent(peer, eventType, body, now);
            return NetworkInputResult.Nothing with { Client = client };
        }

        if (!peer.IsSourceAllowed(packet))
        {
            LogSourceNotAllowed(_logger, client, packet.Version);
            return NetworkInputResult.Fail(GatewayPacketError.SourceNotAllowed, client);
        }

        if (!peer.IsDestinationAllowed(packet))
        {
            Answer(peer, packet.Bytes, tooBig: false, now);
            return NetworkInputResult.Fail(GatewayPacketError.DestinationNotAllowed, client);
        }

        if (Nat46WouldExceedMtu(peer, packet))
        {
            Answer(peer, packet.Bytes, tooBig: true, now);
            return NetworkInputResult.Fail(GatewayPacketError.PacketTooBig, client);
        }

        var error = peer.TranslateOutbound(buffer, ref offset, ref length, now);
        if (error != GatewayPacketError.None)
        {
            return NetworkInputResult.Fail(error, client);
        }

        return new NetworkInputResult(NetworkInputStatus.Packet, client, offset, length, GatewayPacketError.None, PacketError.None);
    }

    /// <summary>
    /// A packet read from the TUN device (a resource's reply): it must be addressed to a client's tunnel address
    /// (100.64.0.0/11, fd00:2021:1111::/107) owned by a client; replies from the real IP of a NAT session get their proxy
    /// IP and original port back (NAT46/64 when the families differ; then the translated packet is built in the state's
    /// own buffer, else <paramref name="packet"/> is rewritten in place). The encrypted datagram is written into
    /// <paramref name="buffer"/> (at least <see cref="Node.BufferSize"/> bytes).
    /// </summary>
    public TunInputResult HandleTunInput(Span<byte> packet, Span<byte> buffer, TimeSpan now)
    {
        if (buffer.Length < Node.BufferSize)
        {
            return TunInputResult.Fail(GatewayPacketError.BufferTooSmall);
        }

        if (IpPacket.TryParse(packet, out var parsed) != IpParseError.None)
        {
            return TunInputResult.Fail(GatewayPacketError.InvalidPacket);
        }

        var destination = parsed.DestinationBytes;
        if (!TunnelAddressRanges.IsClient(destination))
        {
            return TunInputResult.Fail(GatewayPacketError.NotForAClient);
        }

        if (!_peers.TryGetByAddress(destination, out var peer))
        {
            return TunInputResult.Fail(GatewayPacketError.UnknownClient);
        }

        var error = peer.TranslateInbound(parsed.Bytes, _scratch, now, out bool inScratch, out int length);
        if (error != GatewayPacketError.None)
        {
            return TunInputResult.Fail(error, peer.Id);
        }

        ReadOnlySpan<byte> output = inScratch ? _scratch.AsSpan(0, length) : parsed.Bytes[..length];
        var e = _node.Encapsulate(ToConnection(peer.Id), output, buffer, now);
        return e.Status switch
        {
            EncapsulateStatus.Send => new TunInputResult(TunInputStatus.Send, peer.Id, e.Source, e.Destination, e.Offset, e.Length, GatewayPacketError.None, PacketError.None),
            EncapsulateStatus.Nothing => new TunInputResult(TunInputStatus.Nothing, peer.Id, null, null, 0, 0, GatewayPacketError.None, PacketError.None),
            _ => TunInputResult.Fail(GatewayPacketError.Node, peer.Id, e.Error),
        };
    }

    /// <summary>
    /// A p2p control event from a client (tunnel spec §6): <c>AssignedIps</c> for a resource the client may use becomes
    /// a <see cref="ResolveDns"/> event (at most <see cref="MaxPendingResolvesPerClient"/> waiting per client); for any
    /// other resource the client is told <c>DomainStatus Inactive</c> at once; undecodable bodies and unknown event
    /// types are ignored.
    /// </summary>
    private void HandleControlEvent(ClientOnGateway peer, byte eventType, ReadOnlySpan<byte> body, TimeSpan now)
    {
        if (eventType != DnsResourceNatMessages.AssignedIpsEvent)
        {
            LogUnknownControlEvent(_logger, peer.Id, eventType);
            return;
        }

        if (!DnsResourceNatMessages.TryDecodeAssignedIps(body, out var assigned) || !DomainNameRules.TryNormalize(assigned.Domain, out _))
        {
            LogUndecodableAssignedIps(_logger, peer.Id);
            return;
        }

        if (!peer.HasResource(assigned.Resource))
        {
            LogAssignedIpsNotAllowed(_logger, peer.Id, assigned.Resource);
            SendDomainStatus(peer.Id, assigned.Resource, assigned.Domain, NatStatus.Inactive, now);
            return;
        }

        if (peer.PendingResolves >= MaxPendingResolvesPerClient)
        {
            LogTooManyResolves(_logger, peer.Id);
            return;
        }

        peer.PendingResolves++;
        _events.Enqueue(new ResolveDns(assigned.Domain, peer.Id, assigned.Resource, assigned.ProxyIps));
    }

    private void SendDomainStatus(ClientId client, ResourceId resource, string domain, NatStatus status, TimeSpan now)
    {
        int n = DnsResourceNatMessages.WriteDomainStatusPacket(_scratch, resource, domain, status);
        if (n > 0)
        {
            EncryptAndQueue(client, _scratch.AsSpan(0, n), now);
        }
    }

    /// <summary>True when the packet goes to a proxy IP translated to the other family and would outgrow 1280 bytes as IPv6.</summary>
    private static bool Nat46WouldExceedMtu(ClientOnGateway peer, IpPacket packet) =>
        packet.IsIpv4 && packet.Length - packet.HeaderLength + IpConstants.Ipv6HeaderLength > IpConstants.MaxPacketSize
        && peer.TryGetActiveTranslation(IpKey.From(packet.DestinationBytes), out var state) && state.ResolvedIp.IsV6;

    /// <summary>An ICMP error for a refused client packet, within the client's <see cref="IcmpAnswerBudget"/>.</summary>
    private void Answer(ClientOnGateway peer, ReadOnlySpan<byte> offending, bool tooBig, TimeSpan now)
    {
        int n = tooBig
            ? IcmpErrorBuilder.PacketTooBig(offending, _scratch, Nat46Mtu)
            : IcmpErrorBuilder.AdministrativelyProhibited(offending, _scratch);
        if (n == 0)
        {
            return; // ICMP errors, later fragments, multicast… are never answered
        }

        if (!peer.TryTakeIcmpAnswer(now))
        {
            LogAnswerLimited(_logger, peer.Id);
            return;
        }

        EncryptAndQueue(peer.Id, _scratch.AsSpan(0, n), now);
    }

    /// <summary>Encrypts a packet of the gateway's own to a client straight into a pooled transmit slot.</summary>
    private void EncryptAndQueue(ClientId client, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        var slot = _transmits.Reserve();
        if (slot.IsEmpty)
        {
            return;
        }

        var e = _node.Encapsulate(ToConnection(client), packet, slot, now);
        if (e.Status == EncapsulateStatus.Send)
        {
            _transmits.Commit(e.Source, e.Destination!, e.Offset, e.Length);
        }
        else if (e.Status == EncapsulateStatus.Error)
        {
            LogOwnPacketFailed(_logger, client, e.Error);
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Client {Client}: IPv{Version} packet from a source other than its tunnel address")]
    private static partial void LogSourceNotAllowed(ILogger logger, ClientId client, int version);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Client {Client}: unknown p2p control event {EventType}")]
    private static partial void LogUnknownControlEvent(ILogger logger, ClientId client, byte eventType);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Client {Client}: undecodable AssignedIps event")]
    private static partial void LogUndecodableAssignedIps(ILogger logger, ClientId client);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Client {Client}: AssignedIps for resource {Resource}, which it may not use")]
    private static partial void LogAssignedIpsNotAllowed(ILogger logger, ClientId client, ResourceId resource);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Client {Client}: too many pending DNS resolutions; AssignedIps dropped")]
    private static partial void LogTooManyResolves(ILogger logger, ClientId client);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Client {Client}: ICMP answer suppressed by the rate limit")]
    private static partial void LogAnswerLimited(ILogger logger, ClientId client);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client}: could not encrypt a packet of the gateway's own: {Error}")]
    private static partial void LogOwnPacketFailed(ILogger logger, ClientId client, PacketError error);
}
