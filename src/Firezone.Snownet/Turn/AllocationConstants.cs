namespace Firezone.Snownet.Turn;

/// <summary>
/// The TURN client's constants (snownet spec §9). Times are the relay defaults the client is built around.
/// </summary>
internal static class AllocationConstants
{
    /// <summary>Wait before the first retransmission of a TURN request (<c>REQUEST_TIMEOUT</c>).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Growth factor of the retransmission interval (no jitter).</summary>
    public const double BackoffMultiplier = 1.5;

    /// <summary>Largest retransmission interval.</summary>
    public static readonly TimeSpan BackoffMaxInterval = TimeSpan.FromSeconds(60);

    /// <summary>A further interval is granted only while elapsed-since-first-send + interval stays within this.</summary>
    public static readonly TimeSpan BackoffMaxElapsed = TimeSpan.FromSeconds(10);

    /// <summary>Channel lifetime on the relay (RFC 8656 §12, <c>CHANNEL_LIFETIME</c>).</summary>
    public static readonly TimeSpan ChannelLifetime = TimeSpan.FromMinutes(10);

    /// <summary>A channel that received data is re-bound once it is this old.</summary>
    public static readonly TimeSpan ChannelRefreshThreshold = TimeSpan.FromMinutes(5);

    /// <summary>Cool-down after a channel expired before its number or peer may be bound differently.</summary>
    public static readonly TimeSpan ChannelRebindTimeout = TimeSpan.FromMinutes(5);

    /// <summary>First channel number handed out (RFC 8656 range 0x4000–0x4FFF).</summary>
    public const ushort FirstChannel = 0x4000;

    /// <summary>Last channel number handed out.</summary>
    public const ushort LastChannel = 0x4FFF;

    /// <summary>Number of peers that wait for a channel while no allocation exists yet.</summary>
    public const int BufferedChannelBindings = 100;

    /// <summary>REQUESTED-TRANSPORT protocol number: UDP.</summary>
    public const byte RequestedTransportUdp = 17;

    /// <summary>Longest USERNAME a relay accepts (bytes, exclusive bound).</summary>
    public const int MaxUsernameBytes = 513;

    /// <summary>Longest REALM a relay accepts (characters, exclusive bound).</summary>
    public const int MaxRealmChars = 128;
}
