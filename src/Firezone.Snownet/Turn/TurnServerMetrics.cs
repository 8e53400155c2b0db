using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Firezone.Snownet.Turn;

/// <summary>The relay's metrics (System.Diagnostics.Metrics meter <c>relay</c>, instrument names as upstream).</summary>
internal static class TurnServerMetrics
{
    /// <summary>Meter name.</summary>
    public const string MeterName = "relay";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Active allocations.</summary>
    public static readonly UpDownCounter<long> Allocations = Meter.CreateUpDownCounter<long>("allocations_total", description: "Number of active allocations");

    /// <summary>Responses sent, by message type and class (and error code).</summary>
    public static readonly Counter<long> Responses = Meter.CreateCounter<long>("responses_total", description: "Number of STUN/TURN responses sent");

    /// <summary>Payload bytes relayed in both directions.</summary>
    public static readonly Counter<long> DataRelayed = Meter.CreateCounter<long>("data_relayed_bytes", unit: "b", description: "Payload bytes relayed");

    /// <summary>Counts a response.</summary>
    public static void CountResponse(string messageType, int errorCode)
    {
        if (!Responses.Enabled)
        {
            return;
        }

        var tags = new TagList { { "message_type", messageType }, { "response_class", errorCode == 0 ? "success" : "error" } };
        if (errorCode != 0)
        {
            tags.Add("error_code", errorCode);
        }

        Responses.Add(1, tags);
    }
}
