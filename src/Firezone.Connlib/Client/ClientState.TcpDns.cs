using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Dns.Tcp;
using Firezone.Connlib.Tcp;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>
/// DNS over TCP (tunnel spec §4.3, §4.7 TCP paragraphs, §4.8): a user-space TCP DNS server on every mapped
/// sentinel:53 (10 concurrent clients each) and a TCP DNS client towards the mapped servers through the tunnel,
/// sourced from the tunnel IPs. Both are advanced in <see cref="HandleTimeout"/> until neither produces work.
/// </summary>
public sealed partial class ClientState
{
    private DnsOverTcpServer _tcpServer = null!;
    private DnsOverTcpClient _tcpClient = null!;
    private readonly Dictionary<(TcpEndpoint Server, ushort Id), (DnsTcpQueryHandle Handle, byte[] Query)> _tcpForwarded = [];
    private readonly byte[] _tcpScratch = new byte[2048];
    private TimeSpan _lastNow;

    /// <summary>Queries forwarded through the tunnel over TCP and not answered yet, at most (the TCP client's own cap).</summary>
    private const int MaxTcpForwarded = DnsOverTcpClient.MaxInFlight;

    private void CreateTcpDns(ReadOnlySpan<byte> seed, ILoggerFactory loggerFactory)
    {
        // A DRBG of its own, derived from the seed: the node's stream stays what it was.
        Span<byte> key = stackalloc byte[32];
        System.Security.Cryptography.HMACSHA256.HashData(seed, "firezone connlib tcp dns"u8, key);
        var random = new SeededRandom(key).Fill;
        _tcpServer = new DnsOverTcpServer(random, logger: loggerFactory.CreateLogger("Firezone.Connlib.Dns.Tcp.Server"));
        _tcpClient = new DnsOverTcpClient(random, logger: loggerFactory.CreateLogger("Firezone.Connlib.Dns.Tcp.Client"));
    }

    /// <summary>§4.3: after a new TUN configuration the server listens on every sentinel:53 and the client talks to the mapped servers from the tunnel IPs.</summary>
    private void ReconfigureTcpDns(TunConfig config)
    {
        _tcpServer.SetListenEndpoints(config.DnsBySentinel.Keys.Select(s => TcpEndpoint.From(s, DnsRanges.DnsPort)));
        _tcpClient.Configure(config.IPv4, config.IPv6, config.DnsBySentinel.Values.Select(TcpEndpoint.From), _lastNow);
        FailForwardedTcpQueries();
    }

    private void HandleTcpDnsSegment(IpPacket ip, TimeSpan now)
    {
        _lastNow = now;
        _tcpServer.HandleInput(ip.Bytes, now); // processed further on the next HandleTimeout (§4.7)
    }

    /// <summary>§4.6 step 2: TCP from a configured resolver socket to our tunnel IP belongs to the TCP DNS client.</summary>
    private bool TryClaimTcpDns(Span<byte> packet, TimeSpan now)
    {
        if (!_tcpClient.Claims(packet))
        {
            return false;
        }

        _tcpClient.HandleInput(packet, now);
        return true;
    }

    /// <summary>A host-resolved answer to a TCP query goes back on its connection.</summary>
    private void QueueTcpDnsResponse(DnsQuery query, ReadOnlySpan<byte> response)
    {
        if (query.TcpHandle is DnsTcpQueryHandle handle && !_tcpServer.SendResponse(handle, response))
        {
            LogTcpAnswerLost(_logger, query.Client);
        }

        AdvanceTcpDns(_lastNow);
    }

    /// <summary>§4.8: a reset fails every TCP query in flight (SERVFAIL to the application) and makes the client pick new ports.</summary>
    private void ResetTcpDns(TimeSpan now)
    {
        _tcpClient.Reset(now);
        AdvanceTcpDns(now);
    }

    private TimeSpan? TcpDnsPollTimeout()
    {
        var server = _tcpServer.PollTimeout();
        var client = _tcpClient.PollTimeout();
        return server is { } s && client is { } c ? (s < c ? s : c) : server ?? client;
    }

    /// <summary>Advances server and client together until neither produces work (§4.7).</summary>
    private void AdvanceTcpDns(TimeSpan now)
    {
        _lastNow = now;
        for (int round = 0; round < 64; round++)
        {
            _tcpServer.HandleTimeout(now);
            _tcpClient.HandleTimeout(now);
            bool progress = false;
            while (_tcpServer.TryPollQuery(out var query))
            {
                progress = true;
                ResolveTcpQuery(query, now);
            }

            while (_tcpClient.TryPollResult(out var result))
            {
                progress = true;
                CompleteForwardedTcpQuery(result);
            }

            int n;
            while ((n = _tcpClient.PollTransmit(_tcpScratch)) > 0)
            {
                progress = true;
                EncapsulateTcpDnsSegment(_tcpScratch.AsSpan(0, n), now);
            }

            while ((n = _tcpServer.PollTransmit(_tcpScratch)) > 0)
            {
                progress = true;
                _packets.Enqueue(_tcpScratch.AsSpan(0, n).ToArray());
            }

            if (!progress)
            {
                return;
            }
        }
    }

    private void ResolveTcpQuery(DnsTcpQuery query, TimeSpan now)
    {
        var resolution = _dns.Resolver.Handle(query.Message, _dnsResponse);
        switch (resolution.Kind)
        {
            case DnsResolutionKind.LocalAnswer:
                _tcpServer.SendResponse(query.Handle, _dnsResponse.AsSpan(0, resolution.ResponseLength));
                return;
            case DnsResolutionKind.Drop:
                return; // not even a DNS header: nothing to answer
        }

        Span<byte> sentinelBytes = stackalloc byte[16];
        int length = query.Local.WriteAddress(sentinelBytes);
        if (!_dns.TryGetServer(sentinelBytes[..length], out var server))
        {
            ServFail(query.Handle, query.Message);
            return;
        }

        if (!ShouldForwardThroughTunnel(server.Address))
        {
            _dns.EnqueueRecursive(new DnsQuery(server, query.Message, DnsTransport.Tcp,
                new IPEndPoint(query.Local.ToIPAddress(), query.Local.Port), new IPEndPoint(query.Remote.ToIPAddress(), query.Remote.Port), query.Handle));
            return;
        }

        var upstream = TcpEndpoint.From(server);
        var key = (upstream, resolution.QueryId);
        if (_tcpForwarded.Count >= MaxTcpForwarded || _tcpForwarded.ContainsKey(key)
            || _tcpClient.SendQuery(upstream, query.Message, now) != DnsTcpSendError.None)
        {
            ServFail(query.Handle, query.Message);
            return;
        }

        _tcpForwarded[key] = (query.Handle, query.Message);
    }

    private void CompleteForwardedTcpQuery(DnsTcpResult result)
    {
        if (!_tcpForwarded.Remove((result.Server, result.QueryId), out var pending))
        {
            return;
        }

        if (result.Response is { } response)
        {
            _tcpServer.SendResponse(pending.Handle, response);
        }
        else
        {
            ServFail(pending.Handle, pending.Query);
        }
    }

    /// <summary>A reconfiguration failed the client's queries: their applications get SERVFAIL.</summary>
    private void FailForwardedTcpQueries()
    {
        while (_tcpClient.TryPollResult(out var result))
        {
            CompleteForwardedTcpQuery(result);
        }
    }

    private void ServFail(DnsTcpQueryHandle handle, ReadOnlySpan<byte> query)
    {
        int n = DnsMessages.WriteServFail(query, _dnsResponse);
        if (n > 0)
        {
            _tcpServer.SendResponse(handle, _dnsResponse.AsSpan(0, n));
        }
    }

    /// <summary>The TCP DNS client's segments go out like any application packet (§4.4 step 2 onwards); a resource without a gateway drops them (TCP retransmits).</summary>
    private void EncapsulateTcpDnsSegment(Span<byte> packet, TimeSpan now)
    {
        var result = RouteOutbound(packet, _transmitScratch, now);
        if (result.Status == EncapsulateStatus.Send)
        {
            _transmits.Enqueue(new Transmit(result.Source, result.Destination!, _transmitScratch.AsSpan(result.Offset, result.Length).ToArray()));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "TCP DNS answer for {Client} dropped: its connection is gone")]
    private static partial void LogTcpAnswerLost(ILogger logger, IPEndPoint client);
}
