using Firezone.Tun.Tests.Linux;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>
/// A "portal" on the loopback of a test's network namespace that answers every request (the WebSocket upgrade
/// included) with <c>401 Unauthorized</c>, so a host's session ends with an authentication error.
/// </summary>
internal sealed class RefusingPortal : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();

    public RefusingPortal(NetNamespace ns)
    {
        // The socket is created by a thread inside the namespace, so it listens on the namespace's loopback.
        _listener = ns.Run(() =>
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return l;
        });
        _ = ServeAsync();
    }

    public string ApiUrl => $"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Requests => Volatile.Read(ref _requests);

    private int _requests;

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var buffer = new byte[8192];
                    int read = 0;
                    while (read < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        int n = await stream.ReadAsync(buffer.AsMemory(read), _stop.Token);
                        if (n == 0)
                        {
                            break;
                        }

                        read += n;
                    }

                    Interlocked.Increment(ref _requests);
                    await stream.WriteAsync("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
                {
                }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
