namespace Firezone.Connlib.Tcp;

/// <summary>
/// Settings of a <see cref="TcpSocketSet"/>. Defaults are chosen for DNS over TCP inside the tunnel (1280-byte MTU) and
/// are the figures the README's TCP section states.
/// </summary>
internal sealed record TcpOptions
{
    /// <summary>Send buffer per connection (bytes not yet acknowledged plus bytes not yet sent): 66 KiB, so one
    /// maximal DNS message (65535 + 2 bytes of framing) always fits into an empty buffer.</summary>
    public int SendBufferSize { get; init; } = 66 * 1024;

    /// <summary>Receive buffer per connection: 65535 bytes at most (no window scaling, so the advertised window is
    /// the free space of this buffer, capped at 65535).</summary>
    public int ReceiveBufferSize { get; init; } = 65535;

    /// <summary>Out-of-order ranges kept per connection (RFC 9293 §3.10.7.4 allows dropping; the peer retransmits).</summary>
    public int MaxReassemblyRanges { get; init; } = 8;

    /// <summary>RFC 6298 initial RTO: 1 s.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Lower RTO bound: 200 ms (like Linux; RFC 6298 §2.4 recommends 1 s, which is far above tunnel RTTs).</summary>
    public TimeSpan MinRto { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper RTO bound: 60 s (RFC 6298 §2.5 allows a maximum of at least 60 s).</summary>
    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>SYN retransmissions of an active open before it times out: 5 (1+2+4+8+16+32 s ≈ 63 s with defaults).</summary>
    public int SynRetries { get; init; } = 5;

    /// <summary>SYN-ACK retransmissions of a passive open before the half-open connection is dropped: 3 (≈ 15 s).</summary>
    public int SynAckRetries { get; init; } = 3;

    /// <summary>Consecutive data/FIN retransmission timeouts before the connection times out: 8.</summary>
    public int DataRetries { get; init; } = 8;

    /// <summary>TIME-WAIT: 2 s, far below RFC 9293's 2·MSL (4 min); safe enough here because ISNs and ephemeral
    /// ports are random and the peers sit inside one tunnel.</summary>
    public TimeSpan TimeWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A connection that receives no acceptable segment for this long is aborted (RST, TimedOut): 120 s.
    /// Null disables the idle timeout (there are no keep-alives).</summary>
    public TimeSpan? IdleTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Connections in the 4-tuple table (every state, TIME-WAIT included) at most: 256. A SYN beyond it is
    /// answered with RST.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>RSTs for segments that match no socket, queued at most (more are dropped): 32.</summary>
    public int MaxPendingResets { get; init; } = 32;

    /// <summary>First and last ephemeral port of active opens without a port: 49152–65535.</summary>
    public ushort EphemeralPortFirst { get; init; } = 49152;

    /// <summary>Last ephemeral port.</summary>
    public ushort EphemeralPortLast { get; init; } = 65535;

    internal void Validate()
    {
        if (ReceiveBufferSize is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(ReceiveBufferSize));
        if (SendBufferSize < 1) throw new ArgumentOutOfRangeException(nameof(SendBufferSize));
        if (MaxReassemblyRanges < 1) throw new ArgumentOutOfRangeException(nameof(MaxReassemblyRanges));
        if (MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnections));
        if (EphemeralPortFirst == 0 || EphemeralPortLast < EphemeralPortFirst) throw new ArgumentOutOfRangeException(nameof(EphemeralPortFirst));
    }
}
