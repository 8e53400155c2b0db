namespace Firezone.Connlib.Tcp;

/// <summary>A socket handle of a <see cref="TcpSocketSet"/> (valid until <see cref="TcpSocketSet.Release"/>).</summary>
internal readonly record struct TcpSocketHandle(int Id)
{
    /// <inheritdoc/>
    public override string ToString() => $"tcp#{Id}";
}

/// <summary>What happened to a socket.</summary>
internal enum TcpEventKind
{
    /// <summary>An active open completed (ESTABLISHED).</summary>
    Connected,
    /// <summary>A listener accepted a connection (ESTABLISHED); the handle is new.</summary>
    Accepted,
    /// <summary>Data (or the end of the peer's stream) can be read.</summary>
    Readable,
    /// <summary>Send-buffer space was freed after a short write.</summary>
    Writable,
    /// <summary>Both directions finished cleanly (our FIN and the peer's FIN acknowledged).</summary>
    Closed,
    /// <summary>The peer reset the connection (or refused the SYN).</summary>
    Reset,
    /// <summary>SYN retries, data retries or the idle timeout ran out (we sent RST where a peer may listen).</summary>
    TimedOut,
}

/// <summary>One event of a <see cref="TcpSocketSet"/>.</summary>
internal readonly record struct TcpEvent(TcpEventKind Kind, TcpSocketHandle Handle, TcpFourTuple Tuple);

/// <summary>Outcome of a socket operation (never an exception for a state the peer can cause).</summary>
internal enum TcpResult
{
    /// <summary>Done (possibly 0 bytes).</summary>
    Ok,
    /// <summary>The handle is unknown or released.</summary>
    InvalidHandle,
    /// <summary>The peer finished its stream and every byte was read.</summary>
    EndOfStream,
    /// <summary>We already closed our sending side.</summary>
    SendClosed,
    /// <summary>The connection was reset or timed out, or is closed.</summary>
    ConnectionClosed,
}

/// <summary>What <see cref="TcpSocketSet.HandleInput"/> did with a packet.</summary>
internal enum TcpInputResult
{
    /// <summary>Not an IP packet carrying a well-formed TCP segment with a valid checksum (dropped).</summary>
    Malformed,
    /// <summary>Processed by a connection or a listener.</summary>
    Handled,
    /// <summary>No socket for it: answered with RST (or dropped if it was one, or the RST queue is full).</summary>
    NoSocket,
}
