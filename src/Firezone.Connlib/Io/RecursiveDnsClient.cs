using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Client;

namespace Firezone.Connlib.Io;

/// <summary>A finished recursive DNS query: the response bytes, or the failure.</summary>
internal readonly record struct DnsQueryResult(DnsQuery Query, byte[]? Response, DnsQueryFailure Failure);

/// <summary>
/// The client's recursive DNS through the host's own sockets (hosts-and-tun spec §4.2 "one-shot"; tunnel spec §1):
/// UDP on a fresh socket bound to the unspecified address of the server's family, one datagram back (1500-byte
/// buffer; a datagram from another sender than the server is an error); TCP on a new connection with 2-byte
/// big-endian length framing both ways. Each query times out after <see cref="Timeout"/>; at most
/// <see cref="MaxInFlight"/> run at once (more fail at once, counted). Results are queued for the tunnel loop, which
/// is woken to take them (<see cref="TryTakeResult"/>).
/// </summary>
internal sealed class RecursiveDnsClient : IDisposable
{
    private readonly uint? _socketMark;
    /// <summary>Per-query timeout (upstream: 5 s).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Most queries in flight (upstream: 1000).</summary>
    public const int MaxInFlight = 1000;

    private readonly ConcurrentQueue<DnsQueryResult> _results = new();
    private readonly Action _wakeLoop;
    private readonly TunnelCounters _counters;
    private readonly CancellationTokenSource _stop = new();
    private int _inFlight;

    public RecursiveDnsClient(Action wakeLoop, TunnelCounters counters, uint? socketMark = null)
    {
        _socketMark = socketMark;
        _wakeLoop = wakeLoop;
        _counters = counters;
    }

    /// <summary>Queries running now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Starts <paramref name="query"/>; false (a failure queued at once) when <see cref="MaxInFlight"/> run already.</summary>
    public bool Start(DnsQuery query)
    {
        _counters.DnsQueries++;
        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            _counters.Drop(TunnelDropReason.TooManyQueries);
            Complete(new DnsQueryResult(query, null, DnsQueryFailure.Failed));
            return false;
        }

        _ = RunAsync(query);
        return true;
    }

    /// <summary>The next finished query, for the loop.</summary>
    public bool TryTakeResult(out DnsQueryResult result) => _results.TryDequeue(out result);

    /// <summary>True when a result waits.</summary>
    public bool HasResults => !_results.IsEmpty;

    private async Task RunAsync(DnsQuery query)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(Timeout);
        DnsQueryResult result;
        try
        {
            var response = query.Transport == DnsTransport.Udp
                ? await QueryUdpAsync(query.Server, query.Message, timeout.Token, _socketMark).ConfigureAwait(false)
                : await QueryTcpAsync(query.Server, query.Message, timeout.Token, _socketMark).ConfigureAwait(false);
            result = new DnsQueryResult(query, response, default);
        }
        catch (OperationCanceledException)
        {
            result = new DnsQueryResult(query, null, DnsQueryFailure.Timeout);
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            result = new DnsQueryResult(query, null, DnsQueryFailure.Failed);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }

        if (!_stop.IsCancellationRequested)
        {
            Complete(result);
        }
    }

    private void Complete(DnsQueryResult result)
    {
        _results.Enqueue(result);
        _wakeLoop();
    }

    /// <summary>One UDP exchange: a fresh socket, one datagram out, the first datagram back from the server.</summary>
    internal static async Task<byte[]> QueryUdpAsync(IPEndPoint server, ReadOnlyMemory<byte> message, CancellationToken cancellationToken, uint? socketMark = null)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        SocketMark.Apply(socket, socketMark);
        socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        await socket.SendToAsync(message, SocketFlags.None, server, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[1500];
        var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), cancellationToken).ConfigureAwait(false);
        if (!server.Equals(received.RemoteEndPoint))
        {
            throw new InvalidDataException($"DNS answer from {received.RemoteEndPoint}, not {server}");
        }

        return buffer[..received.ReceivedBytes];
    }

    /// <summary>One TCP exchange on a new connection: a 2-byte big-endian length before the query and the answer.</summary>
    internal static async Task<byte[]> QueryTcpAsync(IPEndPoint server, ReadOnlyMemory<byte> message, CancellationToken cancellationToken, uint? socketMark = null)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SocketMark.Apply(socket, socketMark);
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        var framed = new byte[2 + message.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed.AsMemory(2));
        await socket.SendAsync(framed, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var header = new byte[2];
        await ReceiveExactlyAsync(socket, header, cancellationToken).ConfigureAwait(false);
        var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(header)];
        await ReceiveExactlyAsync(socket, response, cancellationToken).ConfigureAwait(false);
        return response;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("The DNS server closed the connection early.");
            }

            buffer = buffer[n..];
        }
    }

    /// <summary>Cancels what is in flight (their results are dropped).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
