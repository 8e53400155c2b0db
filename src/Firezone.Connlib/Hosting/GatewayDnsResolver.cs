using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// The gateway's resolution of DNS-resource names (hosts-and-tun.md §7.2): the system resolver (getaddrinfo) asked
/// for IPv4 and IPv6 separately, IPv6 results first, each lookup bounded by <see cref="Timeout"/> (10 s), at most
/// <see cref="MaxConcurrent"/> (1000) lookups in flight — a further request fails at once instead of queueing, so a
/// client cannot make the gateway pile up work.
/// </summary>
public sealed class GatewayDnsResolver
{
    /// <summary>Upstream's per-lookup timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Upstream's cap of concurrent lookups.</summary>
    public const int DefaultMaxConcurrent = 1000;

    private readonly Func<string, AddressFamily, CancellationToken, Task<IPAddress[]>> _lookup;
    private int _inFlight;

    /// <summary>
    /// Uses <paramref name="lookup"/> (one address family per call; null: the system resolver,
    /// <see cref="System.Net.Dns.GetHostAddressesAsync(string, AddressFamily, CancellationToken)"/>).
    /// </summary>
    public GatewayDnsResolver(Func<string, AddressFamily, CancellationToken, Task<IPAddress[]>>? lookup = null, TimeSpan? timeout = null, int maxConcurrent = DefaultMaxConcurrent)
    {
        lookup ??= System.Net.Dns.GetHostAddressesAsync;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrent, 1);
        _lookup = lookup;
        Timeout = timeout ?? DefaultTimeout;
        MaxConcurrent = maxConcurrent;
    }

    /// <summary>The bound of one lookup (both families together).</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The most lookups in flight.</summary>
    public int MaxConcurrent { get; }

    /// <summary>Lookups in flight now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// The addresses of <paramref name="name"/>: IPv6 first, then IPv4, duplicates removed. A family that fails or has no
    /// address contributes nothing; both failing (or the timeout) is an error.
    /// </summary>
    /// <exception cref="GatewayDnsException">Too many lookups in flight, the timeout passed, or no address was found.</exception>
    public async Task<IReadOnlyList<IPAddress>> ResolveAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Interlocked.Increment(ref _inFlight) > MaxConcurrent)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new GatewayDnsException($"Too many concurrent DNS lookups (at most {MaxConcurrent}); dropping the one for {name}");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            var v6 = Family(name, AddressFamily.InterNetworkV6, timeout.Token);
            var v4 = Family(name, AddressFamily.InterNetwork, timeout.Token);
            var results = await Task.WhenAll(v6, v4).WaitAsync(timeout.Token).ConfigureAwait(false);
            var addresses = results[0].Concat(results[1]).Distinct().ToList();
            return addresses.Count > 0 ? addresses : throw new GatewayDnsException($"No addresses found for {name}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GatewayDnsException($"DNS lookup of {name} timed out after {Timeout.TotalSeconds:0.#} s");
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task<IPAddress[]> Family(string name, AddressFamily family, CancellationToken cancellationToken)
    {
        try
        {
            return (await _lookup(name, family, cancellationToken).ConfigureAwait(false)).Where(a => a.AddressFamily == family).ToArray();
        }
        catch (SocketException)
        {
            return [];
        }
    }
}

/// <summary>A DNS-resource name could not be resolved.</summary>
public sealed class GatewayDnsException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public GatewayDnsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception without a message.</summary>
    public GatewayDnsException()
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public GatewayDnsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
