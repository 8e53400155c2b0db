namespace Firezone.Snownet.Ice;

/// <summary>Agent-level connectivity state (snownet spec §4.6).</summary>
internal enum IceConnectionState
{
    /// <summary>Checks are running (or not started yet) and no pair is selected.</summary>
    Checking,

    /// <summary>A pair is nominated and selected for data.</summary>
    Connected,

    /// <summary>Remote candidates exist but no pair is selected and none can still succeed. Fatal for snownet.</summary>
    Disconnected,
}
