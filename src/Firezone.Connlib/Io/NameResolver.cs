using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Io;

/// <summary>A finished name resolution: the request's state and the addresses (empty on failure or timeout).</summary>
internal readonly record struct ResolvedName(object State, IReadOnlyList<IPAddress> Addresses);

/// <summary>
/// The gateway's name resolution for DNS resources (phoenix-and-portal spec §8.1: A and AAAA, a timeout, failures →
/// an empty list; at most <see cref="MaxInFlight"/> in flight, more are dropped). The resolver is a delegate
/// (<c>getaddrinfo</c>-style by default: <see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/>) so tests
/// can inject their own. Results are queued for the tunnel loop, which is woken to take them.
/// </summary>
internal sealed class NameResolver : IDisposable
{
    /// <summary>Most resolutions in flight (upstream: 1000).</summary>
    public const int MaxInFlight = 1000;

    private readonly Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>> _resolve;
    private readonly TimeSpan _timeout;
    private readonly Action _wakeLoop;
    private readonly TunnelCounters _counters;
    private readonly ConcurrentQueue<ResolvedName> _results = new();
    private readonly CancellationTokenSource _stop = new();
    private int _inFlight;

    public NameResolver(Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>>? resolve, TimeSpan timeout, Action wakeLoop, TunnelCounters counters)
    {
        _resolve = resolve ?? SystemResolveAsync;
        _timeout = timeout;
        _wakeLoop = wakeLoop;
        _counters = counters;
    }

    /// <summary>The system resolver: A and AAAA records of <paramref name="name"/> (IPv4 and IPv6 only).</summary>
    public static async Task<IReadOnlyList<IPAddress>> SystemResolveAsync(string name, CancellationToken cancellationToken)
    {
        var addresses = await System.Net.Dns.GetHostAddressesAsync(name, cancellationToken).ConfigureAwait(false);
        return addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6).ToArray();
    }

    /// <summary>Starts resolving <paramref name="name"/>; false (nothing will come back) when too many are in flight.</summary>
    public bool Start(string name, object state)
    {
        _counters.DnsQueries++;
        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            _counters.Drop(TunnelDropReason.TooManyQueries);
            return false;
        }

        _ = RunAsync(name, state);
        return true;
    }

    /// <summary>The next finished resolution, for the loop.</summary>
    public bool TryTakeResult(out ResolvedName result) => _results.TryDequeue(out result);

    private async Task RunAsync(string name, object state)
    {
        IReadOnlyList<IPAddress> addresses;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_timeout);
            addresses = await _resolve(name, timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ArgumentException)
        {
            addresses = [];
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }

        if (!_stop.IsCancellationRequested)
        {
            _results.Enqueue(new ResolvedName(state, addresses));
            _wakeLoop();
        }
    }

    /// <summary>Cancels what is in flight.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
