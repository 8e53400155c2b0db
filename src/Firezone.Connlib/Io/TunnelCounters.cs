namespace Firezone.Connlib.Io;

/// <summary>Why a tunnel's IO driver dropped a packet or datagram (the <c>reason</c> tag of the drop metric).</summary>
internal enum TunnelDropReason
{
    /// <summary>A received datagram longer than 1336 bytes (tunnel spec §1: <c>MAX_DATAGRAM_PAYLOAD</c>).</summary>
    OversizeDatagram,

    /// <summary>A received datagram without its destination address (no pktinfo control message).</summary>
    NoLocalAddress,

    /// <summary>A datagram the kernel refused to send (no route, message too long, socket closed).</summary>
    SendFailed,

    /// <summary>A datagram for a family without a socket.</summary>
    NoSocket,

    /// <summary>A packet read from the TUN device longer than 1280 bytes.</summary>
    OversizeTunPacket,

    /// <summary>The queue towards the TUN device was full (1000 packets).</summary>
    TunQueueFull,

    /// <summary>The TUN device refused a write (its own queue full).</summary>
    TunWriteFailed,

    /// <summary>The tunnel state refused a packet (no resource, not connected, filtered, not decryptable...).</summary>
    Refused,

    /// <summary>More than 1000 recursive DNS queries or name resolutions in flight.</summary>
    TooManyQueries,
}

/// <summary>
/// The counters of one tunnel: written by its event-loop thread (and the TUN threads for their own fields) with plain
/// stores, read by the metrics callbacks from any thread (64-bit reads are atomic on 64-bit platforms; a reader may
/// see values a few packets old). So the data path makes no metric call.
/// </summary>
internal sealed class TunnelCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<TunnelDropReason>().Length];

    /// <summary>IP packets read from the TUN device.</summary>
    public long TunPacketsRead;

    /// <summary>Bytes of IP packets read from the TUN device.</summary>
    public long TunBytesRead;

    /// <summary>IP packets written to the TUN device.</summary>
    public long TunPacketsWritten;

    /// <summary>Bytes of IP packets written to the TUN device.</summary>
    public long TunBytesWritten;

    /// <summary>Datagrams sent on the UDP sockets.</summary>
    public long DatagramsSent;

    /// <summary>Bytes of datagrams sent.</summary>
    public long DatagramBytesSent;

    /// <summary>Datagrams received on the UDP sockets (GRO segments counted one by one).</summary>
    public long DatagramsReceived;

    /// <summary>Bytes of datagrams received.</summary>
    public long DatagramBytesReceived;

    /// <summary>Times a send found the socket buffer full (the datagrams were parked and sent later).</summary>
    public long SendWouldBlock;

    /// <summary>Recursive DNS queries handed to the host resolver (client) or names resolved (gateway).</summary>
    public long DnsQueries;

    /// <summary>Connections established (Snownet handshakes completed).</summary>
    public long ConnectionsEstablished;

    /// <summary>Connections that failed or closed.</summary>
    public long ConnectionsClosed;

    /// <summary>Current connections (client: gateways; gateway: clients).</summary>
    public long Connections;

    /// <summary>Counts one drop.</summary>
    public void Drop(TunnelDropReason reason) => _drops[(int)reason]++;

    /// <summary>Counts one drop from another thread than the loop's (the TUN threads).</summary>
    public void DropConcurrent(TunnelDropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    /// <summary>Drops so far for <paramref name="reason"/>.</summary>
    public long Drops(TunnelDropReason reason) => Volatile.Read(ref _drops[(int)reason]);
}
