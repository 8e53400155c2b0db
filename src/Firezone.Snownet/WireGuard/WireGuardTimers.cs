namespace Firezone.Snownet.WireGuard;

/// <summary>WireGuard protocol constants (whitepaper §6, spec §4.8).</summary>
internal static class WireGuardTimers
{
    /// <summary>The original initiator rekeys a session this old when it sends.</summary>
    public static readonly TimeSpan RekeyAfterTime = TimeSpan.FromSeconds(120);
    /// <summary>Sessions this old are never used again.</summary>
    public static readonly TimeSpan RejectAfterTime = TimeSpan.FromSeconds(180);
    /// <summary>A handshake is given up (and the connection considered expired) after trying this long.</summary>
    public static readonly TimeSpan RekeyAttemptTime = TimeSpan.FromSeconds(90);
    /// <summary>Initiation retransmission interval (plus up to <see cref="MaxJitter"/>).</summary>
    public static readonly TimeSpan RekeyTimeout = TimeSpan.FromSeconds(5);
    /// <summary>Random extra delay added to each initiation retransmission.</summary>
    public static readonly TimeSpan MaxJitter = TimeSpan.FromMilliseconds(333);
    /// <summary>Passive keepalive: sent when data was received but nothing sent for this long.</summary>
    public static readonly TimeSpan KeepaliveTimeout = TimeSpan.FromSeconds(10);
    /// <summary>Lifetime of a cookie received in a cookie reply, and of the cookie secret.</summary>
    public static readonly TimeSpan CookieExpiration = TimeSpan.FromSeconds(120);
    /// <summary>The original initiator rekeys on receive when the session is this old (180 − 10 − 5 s).</summary>
    public static readonly TimeSpan RekeyOnReceiveTime = RejectAfterTime - KeepaliveTimeout - RekeyTimeout;
    /// <summary>Without any session established for this long (3 × REJECT_AFTER_TIME) the connection is expired.</summary>
    public static readonly TimeSpan ExpiryTime = RejectAfterTime * 3;
    /// <summary>Re-handshake when data was sent but nothing heard for this long.</summary>
    public static readonly TimeSpan NewHandshakeTime = KeepaliveTimeout + RekeyTimeout;
    /// <summary>Firezone's persistent keepalive interval.</summary>
    public static readonly TimeSpan FirezonePersistentKeepalive = TimeSpan.FromSeconds(25);

    /// <summary>Rekey after this many messages sent on one session.</summary>
    public const ulong RekeyAfterMessages = 1UL << 60;
    /// <summary>Never send or accept a counter at or above this.</summary>
    public const ulong RejectAfterMessages = ulong.MaxValue - (1UL << 13);
    /// <summary>Packets queued while no session exists.</summary>
    public const int MaxQueuedPackets = 256;
}
