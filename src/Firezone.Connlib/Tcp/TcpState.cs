namespace Firezone.Connlib.Tcp;

/// <summary>The connection states of RFC 9293 §3.3.2 (LISTEN is a listener of the socket set, not a connection).</summary>
internal enum TcpState
{
    /// <summary>No connection (reset, timed out, or finished).</summary>
    Closed,
    /// <summary>Active open: our SYN is out.</summary>
    SynSent,
    /// <summary>Passive open (or simultaneous open): the peer's SYN arrived, our SYN-ACK is out.</summary>
    SynReceived,
    /// <summary>Data flows both ways.</summary>
    Established,
    /// <summary>We closed; our FIN is not yet acknowledged.</summary>
    FinWait1,
    /// <summary>Our FIN is acknowledged; waiting for the peer's FIN.</summary>
    FinWait2,
    /// <summary>The peer closed; we may still send.</summary>
    CloseWait,
    /// <summary>Both closed at once; our FIN is not yet acknowledged.</summary>
    Closing,
    /// <summary>The peer closed, then we did; waiting for the ACK of our FIN.</summary>
    LastAck,
    /// <summary>Both FINs acknowledged; lingering to answer a retransmitted FIN.</summary>
    TimeWait,
}
