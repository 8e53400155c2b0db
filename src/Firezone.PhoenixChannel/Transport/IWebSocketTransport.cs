namespace Firezone.PhoenixChannel.Transport;

/// <summary>Receives what an open WebSocket reports. Called from any thread.</summary>
internal interface IConnectionSink
{
    /// <summary>A text frame (binary frames arrive as their UTF-8 text).</summary>
    void OnText(string text);

    /// <summary>The socket broke or the server closed it.</summary>
    void OnClosed(string reason);
}

/// <summary>An open WebSocket.</summary>
internal interface IWebSocketConnection : IDisposable
{
    /// <summary>Writes one text frame; throws when the socket is broken.</summary>
    Task SendAsync(string text, CancellationToken cancellationToken);

    /// <summary>Performs the close handshake.</summary>
    Task CloseAsync(CancellationToken cancellationToken);
}

/// <summary>Opens WebSockets. The channel's only seam to the network, so tests can script it.</summary>
internal interface IWebSocketTransport
{
    /// <summary>Opens a WebSocket to <paramref name="url"/>; throws <see cref="TransportConnectException"/> on failure.</summary>
    Task<IWebSocketConnection> ConnectAsync(Uri url, IConnectionSink sink, CancellationToken cancellationToken);
}

/// <summary>A failed connection attempt, with the upgrade's HTTP status when the server answered one.</summary>
internal sealed class TransportConnectException(string message, int? httpStatus = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The HTTP status of the upgrade response, if any.</summary>
    public int? HttpStatus { get; } = httpStatus;
}
