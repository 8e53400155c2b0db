namespace Firezone.PhoenixChannel.Protocol;

/// <summary>What the sans-IO core asks its driver to do with sockets. Attempt ids tell stale results apart.</summary>
internal abstract record DriverCommand(long Attempt)
{
    /// <summary>Start a WebSocket connection attempt to <paramref name="Url"/>; report back with the same attempt id.</summary>
    public sealed record OpenSocket(Uri Url, long Attempt) : DriverCommand(Attempt);

    /// <summary>Drop the socket of this attempt without a close handshake.</summary>
    public sealed record DropSocket(long Attempt) : DriverCommand(Attempt);

    /// <summary>Close the socket of this attempt with a close handshake, then report <c>OnClosed</c>.</summary>
    public sealed record CloseSocket(long Attempt) : DriverCommand(Attempt);
}
