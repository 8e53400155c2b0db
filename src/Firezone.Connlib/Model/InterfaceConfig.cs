using System.Net;

namespace Firezone.Connlib.Model;

/// <summary>
/// The tunnel interface the portal assigns (<c>init</c>, <c>config_changed</c>): the client's or gateway's tunnel
/// addresses and the upstream DNS servers the portal configured (may be empty).
/// </summary>
/// <param name="IPv4">The IPv4 tunnel address (in 100.64.0.0/11).</param>
/// <param name="IPv6">The IPv6 tunnel address (in fd00:2021:1111::/107).</param>
/// <param name="UpstreamDns">Upstream DNS servers (ip:port), in the portal's order.</param>
public sealed record InterfaceConfig(IPAddress IPv4, IPAddress IPv6, IReadOnlyList<IPEndPoint> UpstreamDns)
{
    /// <inheritdoc/>
    public bool Equals(InterfaceConfig? other) =>
        other is not null && IPv4.Equals(other.IPv4) && IPv6.Equals(other.IPv6) && UpstreamDns.SequenceEqual(other.UpstreamDns);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(IPv4, IPv6, UpstreamDns.Count);
}

/// <summary>
/// How a client tells a gateway (through the portal) which proxy IPs it handed out for a name of a DNS resource.
/// </summary>
/// <param name="Name">The domain, without the trailing dot.</param>
/// <param name="ProxyIps">The proxy IPs (4 IPv4 and 4 IPv6).</param>
public sealed record ResolveRequest(string Name, IReadOnlyList<IPAddress> ProxyIps)
{
    /// <inheritdoc/>
    public bool Equals(ResolveRequest? other) => other is not null && Name == other.Name && ProxyIps.SequenceEqual(other.ProxyIps);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, ProxyIps.Count);
}
