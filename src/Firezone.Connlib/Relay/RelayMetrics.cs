using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Firezone.Connlib.Relay;

/// <summary>
/// The relay's instruments on the meter <c>relay</c> (names as upstream: <c>allocations_total</c>,
/// <c>responses_total</c>, <c>data_relayed_bytes</c>; plus <c>packets_relayed_total</c> by direction and
/// <c>packets_dropped_total</c> by reason). The meter comes from the host's <see cref="IMeterFactory"/> (or is the
/// session's own). Per-packet figures are observable instruments over the data path's per-thread counters, so the
/// data path makes no metric call at all; only responses (control plane) are counted as they happen.
/// </summary>
internal sealed class RelayMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "relay";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _responses;

    public RelayMetrics(IMeterFactory? factory, Func<int> allocations, Func<long> relayedBytes, RelayCounters counters)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _meter.CreateObservableUpDownCounter("allocations_total", () => (long)allocations(), description: "Number of active allocations");
        _responses = _meter.CreateCounter<long>("responses_total", description: "Number of STUN/TURN responses sent");
        _meter.CreateObservableCounter("data_relayed_bytes", relayedBytes, unit: "b", description: "Payload bytes relayed");
        _meter.CreateObservableCounter("packets_relayed_total", () => new[]
        {
            new Measurement<long>(counters.ClientToPeerPackets, new KeyValuePair<string, object?>("direction", "client_to_peer")),
            new Measurement<long>(counters.PeerToClientPackets, new KeyValuePair<string, object?>("direction", "peer_to_client")),
        }, description: "Datagrams relayed");
        _meter.CreateObservableCounter("packets_dropped_total", () => Enum.GetValues<RelayDropReason>()
            .Select(r => new Measurement<long>(counters.Drops(r), new KeyValuePair<string, object?>("reason", ReasonName(r)))), description: "Datagrams the data path dropped");
    }

    /// <summary>Tag value of a drop reason.</summary>
    public static string ReasonName(RelayDropReason reason) => reason switch
    {
        RelayDropReason.UnknownChannel => "unknown_channel",
        RelayDropReason.UnknownPeer => "unknown_peer",
        RelayDropReason.NoAllocationSocket => "no_allocation_socket",
        RelayDropReason.SendFailed => "send_failed",
        _ => "control_queue_full",
    };

    /// <summary>Counts one response (upstream's attributes: message_type, response_class, error_code).</summary>
    public void CountResponse(string? messageType, int errorCode)
    {
        if (messageType is null || !_responses.Enabled)
        {
            return;
        }

        var tags = new TagList { { "message_type", messageType }, { "response_class", errorCode == 0 ? "success" : "error" } };
        if (errorCode != 0)
        {
            tags.Add("error_code", errorCode);
        }

        _responses.Add(1, tags);
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
