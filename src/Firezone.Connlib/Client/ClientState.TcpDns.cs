using Firezone.Tun.Packets;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>DNS over TCP to the sentinels (tunnel spec §4.7, TCP paragraphs). INTERIM: the user-space TCP lands separately.</summary>
public sealed partial class ClientState
{
    private void HandleTcpDnsSegment(IpPacket ip, TimeSpan now)
    {
        _ = now;
        LogTcpDnsUnavailable(_logger, ip.Length);
    }

    private void QueueTcpDnsResponse(DnsQuery query, ReadOnlySpan<byte> response)
    {
        _ = response;
        LogTcpDnsUnavailable(_logger, query.Message.Length);
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "TCP DNS segment ({Length} bytes) dropped: no TCP DNS server yet")]
    private static partial void LogTcpDnsUnavailable(ILogger logger, int length);
}
