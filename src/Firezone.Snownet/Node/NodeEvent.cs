namespace Firezone.Snownet;

/// <summary>Something a <see cref="Node"/> reports to its owner; drained with <see cref="Node.PollEvent"/>.</summary>
public abstract record NodeEvent
{
    private protected NodeEvent()
    {
    }

    /// <summary>The connection the event is about.</summary>
    public abstract ConnectionId Connection { get; }
}

/// <summary>Signal this local candidate (SDP <c>candidate:</c> string) to the peer of <see cref="Connection"/>.</summary>
/// <param name="Connection">The connection.</param>
/// <param name="Candidate">The candidate in SDP form.</param>
public sealed record NewIceCandidate(ConnectionId Connection, string Candidate) : NodeEvent
{
    /// <inheritdoc/>
    public override ConnectionId Connection { get; } = Connection;
}

/// <summary>Signal that this local candidate no longer works.</summary>
/// <param name="Connection">The connection.</param>
/// <param name="Candidate">The candidate in SDP form.</param>
public sealed record InvalidateIceCandidate(ConnectionId Connection, string Candidate) : NodeEvent
{
    /// <inheritdoc/>
    public override ConnectionId Connection { get; } = Connection;
}

/// <summary>The WireGuard session of the connection came up for the first time.</summary>
/// <param name="Connection">The connection.</param>
public sealed record ConnectionEstablished(ConnectionId Connection) : NodeEvent
{
    /// <inheritdoc/>
    public override ConnectionId Connection { get; } = Connection;
}

/// <summary>The connection failed and was removed with all its state.</summary>
/// <param name="Connection">The connection.</param>
public sealed record ConnectionFailed(ConnectionId Connection) : NodeEvent
{
    /// <inheritdoc/>
    public override ConnectionId Connection { get; } = Connection;
}

/// <summary>The connection was removed by <see cref="Node.Reset"/>.</summary>
/// <param name="Connection">The connection.</param>
public sealed record ConnectionClosed(ConnectionId Connection) : NodeEvent
{
    /// <inheritdoc/>
    public override ConnectionId Connection { get; } = Connection;
}
