namespace Firezone.PhoenixChannel.Backoff;

/// <summary>
/// The reconnect policy of a channel: an exponential backoff whose clock starts at the <b>first error</b> of a
/// failure streak (not at construction or at the last successful connection) and which gives up only when
/// <see cref="MaxElapsedTime"/> has passed since that error. <c>null</c> means "retry forever".
/// </summary>
/// <remarks>
/// The defaults match Firezone's (initial 0.5 s, multiplier 1.5, randomisation 0.5, max interval 60 s).
/// Use the presets (<see cref="Relay"/>, <see cref="Gateway"/>, <see cref="HeadlessClient"/>, <see cref="Apple"/>,
/// <see cref="Android"/>) or build your own with a <c>with</c> expression.
/// </remarks>
public sealed record ReconnectPolicy
{
    /// <summary>The nominal first delay (500 ms).</summary>
    public TimeSpan InitialInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The factor applied to the nominal delay after every retry (1.5).</summary>
    public double Multiplier { get; init; } = 1.5;

    /// <summary>Each delay is drawn uniformly from <c>[cur·(1−r), cur·(1+r)]</c> with this r (0.5).</summary>
    public double RandomizationFactor { get; init; } = 0.5;

    /// <summary>The largest nominal delay (60 s).</summary>
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a failure streak may last, counted from its first error, before the channel gives up with
    /// <see cref="PhoenixChannelErrorKind.MaxRetriesReached"/>; <c>null</c> retries forever.
    /// </summary>
    public TimeSpan? MaxElapsedTime { get; init; }

    /// <summary>The relay's policy: gives up after 15 minutes of continuous failure.</summary>
    public static ReconnectPolicy Relay { get; } = new() { MaxElapsedTime = TimeSpan.FromMinutes(15) };

    /// <summary>The gateway's policy: never gives up.</summary>
    public static ReconnectPolicy Gateway { get; } = new();

    /// <summary>The headless client's default policy: never gives up (see <see cref="WithMaxPartitionTime"/>).</summary>
    public static ReconnectPolicy HeadlessClient { get; } = new();

    /// <summary>Apple clients (macOS, iOS): give up after one day.</summary>
    public static ReconnectPolicy Apple { get; } = new() { MaxElapsedTime = TimeSpan.FromDays(1) };

    /// <summary>Android clients and the GUI clients' IPC service: give up after 30 days.</summary>
    public static ReconnectPolicy Android { get; } = new() { MaxElapsedTime = TimeSpan.FromDays(30) };

    /// <summary>A copy with the headless client's <c>--max-partition-time</c> applied.</summary>
    public ReconnectPolicy WithMaxPartitionTime(TimeSpan? maxPartitionTime) => this with { MaxElapsedTime = maxPartitionTime };

    internal void Validate()
    {
        if (InitialInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(InitialInterval), "must be positive");
        if (Multiplier < 1) throw new ArgumentOutOfRangeException(nameof(Multiplier), "must be at least 1");
        if (RandomizationFactor is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(RandomizationFactor), "must be in [0, 1)");
        if (MaxInterval < InitialInterval) throw new ArgumentOutOfRangeException(nameof(MaxInterval), "must be at least InitialInterval");
        if (MaxElapsedTime is { } m && m < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxElapsedTime), "must not be negative");
    }
}
