using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>DNS interception, local answers, forwarding and recursive queries (tunnel spec §4.4 step 1, §4.6 step 5, §4.7).</summary>
public sealed partial class ClientState
{
    /// <summary>The largest IP packet the tunnel builds (<c>PACKET_SIZE</c>, the effective MTU).</summary>
    private const int MaxIpPacket = 1280;

    private readonly byte[] _dnsResponse = new byte[DnsMessages.MaxUdpResponseLength + 64];

    /// <summary>The next DNS query the host must resolve itself (tunnel spec §4.7: not ours to answer, not for the tunnel), or null.</summary>
    public DnsQuery? PollDnsQuery() => _dns.PollRecursive();

    /// <summary>
    /// The upstream server's answer to a query from <see cref="PollDnsQuery"/>: for UDP it goes to the application
    /// from the sentinel's port 53 (a packet for <see cref="PollPacket"/>), cut to header and question with TC set when
    /// it does not fit in one 1280-byte IP packet. An answer that is not even a DNS header is dropped.
    /// </summary>
    public void HandleDnsResponse(DnsQuery query, ReadOnlySpan<byte> response)
    {
        ArgumentNullException.ThrowIfNull(query);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (response.Length < DnsHeader.Length)
        {
            ClientDnsLog.DnsResponseDropped(_logger, query.Client, "shorter than a DNS header");
            return;
        }

        if (query.Transport == DnsTransport.Udp)
        {
            QueueUdpDnsResponse(query.Sentinel, query.Client, response);
        }
        else
        {
            QueueTcpDnsResponse(query, response);
        }
    }

    /// <summary>
    /// A query from <see cref="PollDnsQuery"/> failed (§4.7): a UDP timeout sends nothing back (the application
    /// retries); any other failure, and every TCP failure, answers SERVFAIL.
    /// </summary>
    public void HandleDnsFailure(DnsQuery query, DnsQueryFailure failure)
    {
        ArgumentNullException.ThrowIfNull(query);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (query.Transport == DnsTransport.Udp && failure == DnsQueryFailure.Timeout)
        {
            return;
        }

        int length = DnsMessages.WriteServFail(query.Message.Span, _dnsResponse);
        if (length == 0)
        {
            return;
        }

        if (query.Transport == DnsTransport.Udp)
        {
            QueueUdpDnsResponse(query.Sentinel, query.Client, _dnsResponse.AsSpan(0, length));
        }
        else
        {
            QueueTcpDnsResponse(query, _dnsResponse.AsSpan(0, length));
        }
    }

    /// <summary>
    /// §4.4 step 1 for a packet to a mapped sentinel. Returns true when the packet was consumed (answered, queued for
    /// the host, or dropped); false when it was rewritten to the upstream server and continues on the normal outbound
    /// path (a query forwarded through the tunnel).
    /// </summary>
    private bool InterceptDns(ref IpPacket ip, IPEndPoint server, TimeSpan now, out ClientDropReason reason)
    {
        if (ip.TryGetTcp(out var tcp) && tcp.DestinationPort == DnsRanges.DnsPort)
        {
            reason = ClientDropReason.Consumed;
            HandleTcpDnsSegment(ip, now);
            return true;
        }

        if (!ip.TryGetUdp(out var udp) || udp.DestinationPort != DnsRanges.DnsPort)
        {
            if (_logger.IsEnabled(LogLevel.Trace))
            {
                ClientDnsLog.BadDnsPacket(_logger, ip.Destination.ToString(), "not UDP to port 53"); // guarded: the address string allocates
            }
            reason = ClientDropReason.BadDnsQuery;
            return true;
        }

        var query = udp.Payload;
        var resolution = _dns.Resolver.Handle(query, _dnsResponse);
        switch (resolution.Kind)
        {
            case DnsResolutionKind.LocalAnswer:
                QueueUdpDnsResponse(
                    new IPEndPoint(ip.Destination, DnsRanges.DnsPort),
                    new IPEndPoint(ip.Source, udp.SourcePort),
                    _dnsResponse.AsSpan(0, resolution.ResponseLength));
                reason = ClientDropReason.Consumed;
                return true;
            case DnsResolutionKind.Recurse when ShouldForwardThroughTunnel(server.Address):
                // The destination becomes the server's socket and the response is un-mangled by (server socket, id)
                // for 60 s (§4.6 step 5). Upstream rewrites only the IP and keeps port 53, so with a server on another
                // port the query goes to the wrong port and an answer from there is never un-mangled (keyed by the
                // configured socket): fixed on purpose by rewriting the port too (identical for port-53 servers).
                _dns.RecordMangled(IpKey.Bytes(server.Address, stackalloc byte[16]), (ushort)server.Port, resolution.QueryId, ip.Destination, now);
                ip.SetDestination(server.Address);
                ip.TrySetDestinationPort((ushort)server.Port);
                reason = ClientDropReason.None;
                return false;
            case DnsResolutionKind.Recurse:
                _dns.EnqueueRecursive(new DnsQuery(
                    server, query.ToArray(), DnsTransport.Udp,
                    new IPEndPoint(ip.Destination, DnsRanges.DnsPort), new IPEndPoint(ip.Source, udp.SourcePort), tcpHandle: null));
                reason = ClientDropReason.Consumed;
                return true;
            default:
                if (_logger.IsEnabled(LogLevel.Trace))
                {
                    ClientDnsLog.BadDnsPacket(_logger, ip.Destination.ToString(), "not a DNS message");
                }
                reason = ClientDropReason.BadDnsQuery;
                return true;
        }
    }

    /// <summary>Through the tunnel only with portal-configured servers and a server inside an active CIDR resource or an active internet resource (§11.8).</summary>
    private bool ShouldForwardThroughTunnel(IPAddress server)
    {
        if (_upstreamDns.Count == 0)
        {
            return false;
        }

        return _internetResource is not null || _activeCidr.TryLongestMatchValue(IpKey.Bytes(server, stackalloc byte[16]), out _);
    }

    /// <summary>§4.6 step 5: a UDP response to a tunnel-forwarded query comes back from the sentinel the application asked.</summary>
    private void UnmangleDnsResponse(ref IpPacket ip, TimeSpan now)
    {
        if (_dns.MangledCount == 0 || !ip.TryGetUdp(out var udp) || udp.Payload.Length < DnsHeader.Length)
        {
            return;
        }

        ushort id = BinaryPrimitives.ReadUInt16BigEndian(udp.Payload);
        if (_dns.TryTakeMangled(ip.SourceBytes, udp.SourcePort, id, now, out var sentinel))
        {
            ip.SetSource(sentinel);
            if (udp.SourcePort != DnsRanges.DnsPort)
            {
                ip.TrySetSourcePort(DnsRanges.DnsPort); // the application asked sentinel:53
            }
        }
    }

    /// <summary>
    /// Builds a UDP DNS response packet from <paramref name="from"/> to <paramref name="to"/> for the TUN device. A
    /// response that would make the IP packet exceed 1280 bytes is truncated (TC, header and question only). Upstream
    /// truncates only above 1336 payload bytes and loses answers between the two limits (§11.9): fixed on purpose.
    /// </summary>
    private void QueueUdpDnsResponse(IPEndPoint from, IPEndPoint to, ReadOnlySpan<byte> response)
    {
        if (from.AddressFamily != to.AddressFamily)
        {
            ClientDnsLog.DnsResponseDropped(_logger, to, "address families differ");
            return;
        }

        int headers = (from.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 20 : 40) + UdpDatagram.HeaderLength;
        int maxPayload = MaxIpPacket - headers;
        byte[] rented = ArrayPool<byte>.Shared.Rent(response.Length);
        try
        {
            var payload = rented.AsSpan(0, response.Length);
            response.CopyTo(payload);
            int length = DnsMessages.TruncateForUdp(payload, maxPayload);
            var packet = new byte[headers + length];
            PacketBuilder.Udp(packet, from.Address, to.Address, (ushort)from.Port, (ushort)to.Port, payload[..length]);
            _packets.Enqueue(packet);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
