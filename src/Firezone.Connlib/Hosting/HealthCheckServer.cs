using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// A minimal HTTP/1.1 health endpoint: <c>GET /healthz</c> answers 200 when the supplied predicate is true and 400
/// otherwise; other paths get 404. One short request per connection.
/// </summary>
public sealed class HealthCheckServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<bool> _isHealthy;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates a server on <paramref name="endPoint"/> (not started).</summary>
    public HealthCheckServer(IPEndPoint endPoint, Func<bool> isHealthy)
    {
        _listener = new TcpListener(endPoint);
        _isHealthy = isHealthy;
    }

    /// <summary>The bound endpoint (after <see cref="Start"/>).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Binds and starts accepting.</summary>
    public void Start()
    {
        _listener.Start();
        _loop = AcceptLoopAsync(_stop.Token);
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(client, cancellationToken);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                var stream = client.GetStream();
                var buffer = new byte[2048];
                int read = 0;
                while (read < buffer.Length)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                    if (buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8) >= 0)
                    {
                        break;
                    }
                }

                string request = Encoding.ASCII.GetString(buffer, 0, read);
                string firstLine = request.Split("\r\n", 2)[0];
                string[] parts = firstLine.Split(' ');
                int status = parts.Length >= 2 && parts[0] == "GET" && parts[1] == "/healthz"
                    ? (_isHealthy() ? 200 : 400)
                    : 404;
                string reason = status switch { 200 => "OK", 400 => "Bad Request", _ => "Not Found" };
                byte[] response = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(response, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A broken health-check connection is not our problem.
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
