namespace Firezone.Snownet.WireGuard;

/// <summary>Counters of one tunnel; they only grow. Every dropped datagram is counted under its reason.</summary>
internal sealed class TunnelStats
{
    /// <summary>Datagrams that are not WireGuard messages.</summary>
    public long DroppedMalformed;
    /// <summary>Handshake messages with an invalid mac1.</summary>
    public long DroppedInvalidMac;
    /// <summary>Handshake messages dropped under load without a source address.</summary>
    public long DroppedUnderLoad;
    /// <summary>Handshake messages refused by the Noise handshake (wrong peer, bad AEAD, replayed timestamp, index).</summary>
    public long DroppedHandshake;
    /// <summary>Transport messages for an unknown receiver index.</summary>
    public long DroppedWrongIndex;
    /// <summary>Transport messages with a replayed or too old counter.</summary>
    public long DroppedReplayed;
    /// <summary>Transport messages failing authentication.</summary>
    public long DroppedDecryptionFailed;
    /// <summary>Transport messages for an expired session.</summary>
    public long DroppedExpiredSession;
    /// <summary>Decrypted packets that are not valid IP.</summary>
    public long DroppedInvalidTunnelPacket;
    /// <summary>Packets dropped because the pre-session queue was full or the handshake gave up.</summary>
    public long DroppedQueued;
    /// <summary>Cookie replies sent.</summary>
    public long CookieRepliesSent;
    /// <summary>Cookie replies accepted.</summary>
    public long CookieRepliesReceived;
    /// <summary>Initiations sent (including retransmissions).</summary>
    public long InitiationsSent;
    /// <summary>Handshakes completed (as initiator or responder).</summary>
    public long HandshakesCompleted;
    /// <summary>Keepalives sent.</summary>
    public long KeepalivesSent;
    /// <summary>Keepalives received.</summary>
    public long KeepalivesReceived;
    /// <summary>IP packets decrypted.</summary>
    public long PacketsReceived;
    /// <summary>IP packets encrypted.</summary>
    public long PacketsSent;
}
