using System.Diagnostics.Metrics;
using Firezone.Connlib.Io;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// A session's instruments on the meter <see cref="ClientMeterName"/> or <see cref="GatewayMeterName"/>: all
/// observable, over the tunnel's <see cref="TunnelCounters"/>, so the data path makes no metric call.
/// <c>connlib.connections</c> (up-down), <c>connlib.handshakes</c>, <c>connlib.packets</c> and
/// <c>connlib.bytes</c> (tag <c>direction</c>: <c>tun_read</c>, <c>tun_written</c>, <c>network_sent</c>,
/// <c>network_received</c>), <c>connlib.drops</c> (tag <c>reason</c>), <c>connlib.dns_queries</c>,
/// <c>connlib.send_would_block</c>.
/// </summary>
internal sealed class SessionMetrics : IDisposable
{
    /// <summary>The client's meter.</summary>
    public const string ClientMeterName = "Firezone.Connlib.Client";

    /// <summary>The gateway's meter.</summary>
    public const string GatewayMeterName = "Firezone.Connlib.Gateway";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public SessionMetrics(string meterName, IMeterFactory? factory, TunnelCounters counters)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(meterName)) ?? new Meter(meterName);
        _meter.CreateObservableUpDownCounter("connlib.connections", () => Volatile.Read(ref counters.Connections), description: "Connections to peers now");
        _meter.CreateObservableCounter("connlib.handshakes", () => Volatile.Read(ref counters.ConnectionsEstablished), description: "Connections established");
        _meter.CreateObservableCounter("connlib.packets", () => new[]
        {
            Measure(counters.TunPacketsRead, "tun_read"),
            Measure(counters.TunPacketsWritten, "tun_written"),
            Measure(counters.DatagramsSent, "network_sent"),
            Measure(counters.DatagramsReceived, "network_received"),
        }, description: "IP packets (TUN) and datagrams (network)");
        _meter.CreateObservableCounter("connlib.bytes", () => new[]
        {
            Measure(counters.TunBytesRead, "tun_read"),
            Measure(counters.TunBytesWritten, "tun_written"),
            Measure(counters.DatagramBytesSent, "network_sent"),
            Measure(counters.DatagramBytesReceived, "network_received"),
        }, unit: "By", description: "Bytes of IP packets (TUN) and datagrams (network)");
        _meter.CreateObservableCounter("connlib.drops", () => Enum.GetValues<TunnelDropReason>()
            .Select(r => new Measurement<long>(counters.Drops(r), new KeyValuePair<string, object?>("reason", ReasonName(r)))), description: "Packets and datagrams dropped, by reason");
        _meter.CreateObservableCounter("connlib.dns_queries", () => Volatile.Read(ref counters.DnsQueries), description: "Recursive DNS queries (client) or name resolutions (gateway)");
        _meter.CreateObservableCounter("connlib.send_would_block", () => Volatile.Read(ref counters.SendWouldBlock), description: "Sends that found a socket buffer full (datagrams parked)");

        static Measurement<long> Measure(long value, string direction) => new(value, new KeyValuePair<string, object?>("direction", direction));
    }

    /// <summary>The tag value of a drop reason.</summary>
    public static string ReasonName(TunnelDropReason reason) => reason switch
    {
        TunnelDropReason.OversizeDatagram => "oversize_datagram",
        TunnelDropReason.NoLocalAddress => "no_local_address",
        TunnelDropReason.SendFailed => "send_failed",
        TunnelDropReason.NoSocket => "no_socket",
        TunnelDropReason.OversizeTunPacket => "oversize_tun_packet",
        TunnelDropReason.TunQueueFull => "tun_queue_full",
        TunnelDropReason.TunWriteFailed => "tun_write_failed",
        TunnelDropReason.Refused => "refused",
        _ => "too_many_queries",
    };

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
