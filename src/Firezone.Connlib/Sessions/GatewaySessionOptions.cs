using System.Net;

namespace Firezone.Connlib.Sessions;

/// <summary>Configuration of a <see cref="GatewaySession"/>.</summary>
public sealed class GatewaySessionOptions : SessionOptions
{
    /// <summary>The gateway's name (null: the host name).</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Resolves a DNS resource's name to its addresses (A and AAAA). Null: the system resolver
    /// (<see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/>). Failures and timeouts count as
    /// no addresses.
    /// </summary>
    public Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>>? ResolveName { get; init; }

    /// <summary>Timeout of one name resolution (upstream: 10 s).</summary>
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The connlib version in the User-Agent (default 1.4.2 as upstream's gateway).</summary>
    public string Version { get; init; } = "1.4.2";
}
