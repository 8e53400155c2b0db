using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Websocket.Client;

namespace Firezone.PhoenixChannel.Transport;

/// <summary>
/// Opens WebSockets with the <c>Websocket.Client</c> package, its own reconnection switched off (the channel owns
/// reconnects). A <see cref="ClientWebSocket"/> factory sets the User-Agent, collects the upgrade's HTTP status
/// (to tell a fatal 4xx from other failures) and connects through a callback that resolves the portal host anew on
/// every attempt, falling back to the last addresses that worked when resolution fails (upstream resolves once).
/// </summary>
internal sealed partial class WebsocketClientTransport : IWebSocketTransport, IDisposable
{
    private readonly string _userAgent;
    private readonly TimeSpan _connectTimeout;
    private readonly ILogger _logger;
    private readonly HttpMessageInvoker _invoker;
    private readonly Lock _lock = new();
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private IPAddress[] _lastGoodAddresses = [];
    private readonly Action<Socket>? _configureSocket;

    public WebsocketClientTransport(string userAgent, TimeSpan connectTimeout, ILogger logger,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null, Action<Socket>? configureSocket = null)
    {
        _configureSocket = configureSocket;
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
        _userAgent = userAgent;
        _connectTimeout = connectTimeout;
        _logger = logger;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = ConnectTcpAsync,
            AllowAutoRedirect = false,
            UseProxy = false,
        });
    }

    public async Task<IWebSocketConnection> ConnectAsync(Uri url, IConnectionSink sink, CancellationToken cancellationToken)
    {
        int? status = null;
        var client = new WebsocketClient(url, null, async (uri, token) =>
        {
            var ws = new ClientWebSocket();
            ws.Options.SetRequestHeader("User-Agent", _userAgent);
            ws.Options.CollectHttpResponseDetails = true;
            try
            {
                await ws.ConnectAsync(uri, _invoker, token).ConfigureAwait(false);
            }
            catch
            {
                if (ws.HttpStatusCode != 0) status = (int)ws.HttpStatusCode;
                ws.Dispose();
                throw;
            }
            return ws;
        })
        {
            IsReconnectionEnabled = false,
            ReconnectTimeout = null,
            ErrorReconnectTimeout = null,
            LostReconnectTimeout = null,
            IsTextMessageConversionEnabled = true,
            Name = "firezone-portal",
        };

        var messages = client.MessageReceived.Subscribe(new Observer<ResponseMessage>(m =>
            sink.OnText(m.Text ?? (m.Binary is { } b ? Encoding.UTF8.GetString(b) : ""))));
        var disconnects = client.DisconnectionHappened.Subscribe(new Observer<DisconnectionInfo>(info =>
        {
            if (info.Type is not (DisconnectionType.ByUser or DisconnectionType.Exit))
            {
                sink.OnClosed(Describe(info));
            }
        }));

        try
        {
            using var registration = cancellationToken.Register(client.Dispose);
            await client.StartOrFail().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            messages.Dispose();
            disconnects.Dispose();
            client.Dispose();
            var inner = Innermost(e);
            throw status is { } s and not 101
                ? new TransportConnectException($"portal answered the upgrade with HTTP {s}", s, e)
                : new TransportConnectException($"cannot connect to the portal: {inner.Message}", null, e);
        }

        return new Connection(client, messages, disconnects);
    }

    public void Dispose() => _invoker.Dispose();

    private async ValueTask<Stream> ConnectTcpAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var port = context.DnsEndPoint.Port;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await _resolve(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                addresses = [];
                LogResolveFailed(host, e.Message);
            }
            if (addresses.Length == 0)
            {
                lock (_lock) addresses = _lastGoodAddresses;
                if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
                LogUsingLastGood(host, addresses.Length);
            }
        }

        // One overall timeout for the TCP phase, as upstream (not per address).
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connectTimeout);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                _configureSocket?.Invoke(socket);
                await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token).ConfigureAwait(false);
                if (literal is null)
                {
                    lock (_lock) _lastGoodAddresses = [address, .. addresses.Where(a => !a.Equals(address))];
                }
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new TimeoutException($"TCP connect to {host}:{port} timed out after {_connectTimeout.TotalSeconds:F0} s");
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostUnreachable);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    private static string Describe(DisconnectionInfo info) => info.Type switch
    {
        DisconnectionType.ByServer => $"portal closed the WebSocket ({info.CloseStatus} {info.CloseStatusDescription})".TrimEnd(),
        DisconnectionType.Lost => "connection to the portal lost",
        DisconnectionType.NoMessageReceived => "no message received",
        _ => info.Exception is { } e ? $"WebSocket error: {Innermost(e).Message}" : $"WebSocket {info.Type}",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot resolve {Host}: {Error}")]
    private partial void LogResolveFailed(string host, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Using the last {Count} addresses of {Host} that worked")]
    private partial void LogUsingLastGood(string host, int count);

    private sealed class Connection(WebsocketClient client, IDisposable messages, IDisposable disconnects) : IWebSocketConnection
    {
        public Task SendAsync(string text, CancellationToken cancellationToken) =>
            client.IsRunning ? client.SendInstant(text) : Task.FromException(new WebSocketException("the socket is closed"));

        public async Task CloseAsync(CancellationToken cancellationToken)
        {
            disconnects.Dispose(); // A close we asked for is not a failure.
            await client.Stop(WebSocketCloseStatus.NormalClosure, "closing").WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        public void Dispose()
        {
            messages.Dispose();
            disconnects.Dispose();
            client.Dispose();
        }
    }

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnCompleted() { }
        public void OnError(Exception error) { }
        public void OnNext(T value) => onNext(value);
    }
}
