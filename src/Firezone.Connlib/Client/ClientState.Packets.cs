using System.Net;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>The packet paths: TUN → gateway (tunnel spec §4.4) and gateway → TUN (§4.6).</summary>
public sealed partial class ClientState
{
    private static readonly byte[] IgmpV3Bytes = IgmpV3.GetAddressBytes();
    private static readonly byte[] AllRoutersV6Bytes = AllRoutersV6.GetAddressBytes();

    /// <summary>
    /// An IP packet read from the TUN device (§4.4): DNS queries to a sentinel are answered or forwarded; other packets
    /// are routed to their resource's gateway and encrypted into <paramref name="buffer"/> (at least
    /// <see cref="Node.BufferSize"/> bytes). A packet for a resource without a connected gateway is dropped and may
    /// send a <see cref="ConnectionIntent"/>; the first packet to a new DNS-resource address is dropped with a
    /// <see cref="RequestAccess"/> (§11.1, §11.3). When the result is not <see cref="EncapsulateStatus.Send"/>, call
    /// <see cref="HandleTimeout"/> and drain. <paramref name="packet"/> may be rewritten in place.
    /// </summary>
    public EncapsulateResult HandleTunInput(Span<byte> packet, Span<byte> buffer, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IpPacket.TryParse(packet, out var ip) != IpParseError.None)
        {
            return Dropped(ClientDropReason.Malformed);
        }

        _lastNow = now;
        if (_dns.TryGetServer(ip.DestinationBytes, out var dnsServer) && InterceptDns(ref ip, dnsServer, now, out var dnsReason))
        {
            return Dropped(dnsReason);
        }

        return RouteOutbound(ip, buffer, now);
    }

    /// <summary>§4.4 steps 2–6 for a parsed packet: multicast, resource lookup, peer, DNS-resource access, encryption.</summary>
    private EncapsulateResult RouteOutbound(IpPacket ip, Span<byte> buffer, TimeSpan now)
    {
        var destination = ip.DestinationBytes;
        if (destination.SequenceEqual(IgmpV3Bytes) || destination.SequenceEqual(AllRoutersV6Bytes))
        {
            return Dropped(ClientDropReason.Multicast);
        }

        if (!TryFindResource(destination, out var resource))
        {
            return Dropped(ClientDropReason.NoResource);
        }

        if (!_resourcesGateways.TryGetValue(resource, out var gateway) || !_peers.TryGetValue(gateway, out var peer))
        {
            OnNotConnectedResource(resource, destination, now);
            return Dropped(ClientDropReason.NotConnected);
        }

        if (_resources.TryGetValue(resource, out var description) && description is DnsResource
            && !peer.AllowedIps.TryGetExact(destination, destination.Length * 8, out _))
        {
            RequestAccessFor(peer, resource, destination);
            return Dropped(ClientDropReason.AccessRequested);
        }

        return _node.Encapsulate(Connection(gateway), ip.Bytes, buffer, now);
    }

    /// <summary>An IP packet connlib produced itself (the TCP DNS client's segments) on the outbound path.</summary>
    private EncapsulateResult RouteOutbound(Span<byte> packet, Span<byte> buffer, TimeSpan now) =>
        IpPacket.TryParse(packet, out var ip) == IpParseError.None ? RouteOutbound(ip, buffer, now) : Dropped(ClientDropReason.Malformed);

    /// <summary>
    /// A datagram received on one of the host's UDP sockets (§4.6); <paramref name="local"/> is its concrete destination
    /// (IP_PKTINFO) and port. Returns a decrypted IP packet for the TUN device in <paramref name="buffer"/>, or why there
    /// is none — then call <see cref="HandleTimeout"/> and drain.
    /// </summary>
    public ClientPacketResult HandleNetworkInput(ReadOnlySpan<byte> datagram, IPEndPoint from, IPEndPoint local, Span<byte> buffer, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = now;
        var result = _node.Decapsulate(datagram, from, local, buffer, now);
        if (result.Status != DecapsulateStatus.Packet)
        {
            return ClientPacketResult.Dropped(ClientDropReason.NotAPacket);
        }

        var bytes = buffer.Slice(result.Offset, result.Length);
        if (IpPacket.TryParse(bytes, out var ip) != IpParseError.None)
        {
            return ClientPacketResult.Dropped(ClientDropReason.Malformed);
        }

        if (ip.Protocol == IpConstants.ProtocolTcp && TryClaimTcpDns(bytes, now))
        {
            return ClientPacketResult.Dropped(ClientDropReason.Consumed);
        }

        var gateway = Gateway(result.Connection);
        if (!_peers.TryGetValue(gateway, out var peer))
        {
            LogNoPeer(_logger, gateway);
            return ClientPacketResult.Dropped(ClientDropReason.UnknownGateway);
        }

        if (!peer.AllowedIps.TryLongestMatchValue(ip.SourceBytes, out _))
        {
            return ClientPacketResult.Dropped(ClientDropReason.SourceNotAllowed);
        }

        UnmangleDnsResponse(ref ip, now);

        return new ClientPacketResult(ClientPacketStatus.Packet, result.Offset, ip.Length, ClientDropReason.None);
    }

    /// <summary>Lookup precedence (§4.4 step 3, §11.4): DNS proxy IP (enabled resources only), longest CIDR, internet.</summary>
    private bool TryFindResource(ReadOnlySpan<byte> destination, out ResourceId resource)
    {
        if (_dns.TryGetProxyResource(destination, out resource) && !_disabled.Contains(resource) && _resources.ContainsKey(resource))
        {
            return true;
        }

        if (_activeCidr.TryLongestMatchValue(destination, out resource))
        {
            return true;
        }

        if (_internetResource is { } internet)
        {
            resource = internet;
            return true;
        }

        resource = default;
        return false;
    }

    /// <summary>All 8 proxy IPs of the destination's name become allowed at once, before the gateway confirms (§11.3).</summary>
    private void RequestAccessFor(GatewayOnClient peer, ResourceId resource, ReadOnlySpan<byte> destination)
    {
        var domain = _dns.ResolveRequestFor(destination);
        if (domain is not null)
        {
            foreach (var proxy in domain.ProxyIps)
            {
                peer.Allow(HostNetwork(proxy), resource);
            }
        }

        Emit(new RequestAccess(resource, peer.Id, domain));
    }

    private static EncapsulateResult Dropped(ClientDropReason reason)
    {
        _ = reason; // counted by the caller from the event stream; nothing logged per packet
        return new EncapsulateResult(EncapsulateStatus.Nothing, null, null, 0, 0, PacketError.None);
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Packet from gateway {Gateway} without peer state dropped")]
    private static partial void LogNoPeer(ILogger logger, GatewayId gateway);
}
