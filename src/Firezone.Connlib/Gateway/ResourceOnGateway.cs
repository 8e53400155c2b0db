using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// A resource one client may use on this gateway (tunnel spec §5.1): its kind-specific address, its filters and the
/// optional access expiry. Only the filters can change after creation (<see cref="TryUpdate"/>).
/// </summary>
internal abstract class ResourceOnGateway
{
    private protected ResourceOnGateway(ResourceId id, IReadOnlyList<Filter> filters, DateTimeOffset? expiresAt)
    {
        Id = id;
        Filters = filters;
        ExpiresAt = expiresAt;
    }

    /// <summary>The resource's id.</summary>
    public ResourceId Id { get; }

    /// <summary>The filters (empty: everything; the internet resource always has none).</summary>
    public IReadOnlyList<Filter> Filters { get; private set; }

    /// <summary>When access ends (wall clock), or null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>A short kind name for logs.</summary>
    public abstract string Kind { get; }

    /// <summary>The state for a portal resource description.</summary>
    public static ResourceOnGateway Create(GatewayResource resource, DateTimeOffset? expiresAt) => resource switch
    {
        GatewayCidrResource cidr => new CidrOnGateway(cidr.Id, cidr.Address, cidr.Filters, expiresAt),
        GatewayDnsResource dns => new DnsOnGateway(dns.Id, dns.Address, dns.Filters, expiresAt),
        GatewayInternetResource internet => new InternetOnGateway(internet.Id, expiresAt),
        _ => throw new ArgumentException($"Unknown resource type {resource.GetType().Name}", nameof(resource)),
    };

    /// <summary>Still allowed at <paramref name="utcNow"/> (upstream: <c>expires_at &gt; now</c>).</summary>
    public bool IsAllowedAt(DateTimeOffset utcNow) => ExpiresAt is not { } expiry || expiry > utcNow;

    /// <summary>
    /// Takes the new filters of a description of the same kind (addresses never change; the internet resource has
    /// nothing to update); false, with nothing changed, when the kind differs.
    /// </summary>
    public bool TryUpdate(GatewayResource description)
    {
        bool sameKind = (this, description) switch
        {
            (CidrOnGateway, GatewayCidrResource) => true,
            (DnsOnGateway, GatewayDnsResource) => true,
            (InternetOnGateway, GatewayInternetResource) => true,
            _ => false,
        };
        if (sameKind && this is not InternetOnGateway)
        {
            Filters = description.Filters;
        }

        return sameKind;
    }

    /// <summary>
    /// True when one of the resource's addresses contains <paramref name="network"/> (upstream
    /// <c>network_contains_network</c>: same family, covers its base address and is not longer).
    /// </summary>
    public abstract bool Covers(IPNetwork network);

    private protected static bool Contains(IPNetwork outer, IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily
        && outer.PrefixLength <= inner.PrefixLength && outer.Contains(inner.BaseAddress);
}

/// <summary>A CIDR resource of a client.</summary>
internal sealed class CidrOnGateway(ResourceId id, IPNetwork network, IReadOnlyList<Filter> filters, DateTimeOffset? expiresAt)
    : ResourceOnGateway(id, filters, expiresAt)
{
    /// <summary>The network.</summary>
    public IPNetwork Network { get; } = network;

    /// <inheritdoc/>
    public override string Kind => "cidr";

    /// <inheritdoc/>
    public override bool Covers(IPNetwork network) => Contains(Network, network);
}

/// <summary>
/// A DNS resource of a client: its pattern and, per name the client resolved through this gateway, the IPs the name
/// resolved to (each contributes its /32 or /128 to the filter computation).
/// </summary>
internal sealed class DnsOnGateway(ResourceId id, string address, IReadOnlyList<Filter> filters, DateTimeOffset? expiresAt)
    : ResourceOnGateway(id, filters, expiresAt)
{
    private readonly DomainPattern? _pattern = DomainPattern.TryParse(address, out var pattern) ? pattern : null;

    /// <summary>The pattern as the portal sent it.</summary>
    public string Address { get; } = address;

    /// <summary>Name (normalised) → the IPs it resolved to, as given to <c>setup_nat</c>.</summary>
    public Dictionary<string, IPAddress[]> Domains { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public override string Kind => "dns";

    /// <summary>True when <paramref name="name"/> matches the pattern (an unparsable pattern matches nothing).</summary>
    public bool Matches(string name) => _pattern is not null && _pattern.Matches(name);

    /// <inheritdoc/>
    public override bool Covers(IPNetwork network)
    {
        int full = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (network.PrefixLength != full)
        {
            return false; // a host route contains only networks of its own length
        }

        foreach (var ips in Domains.Values)
        {
            foreach (var ip in ips)
            {
                if (ip.Equals(network.BaseAddress))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>The internet resource of a client (contributes 0.0.0.0/0 and ::/0 with no filters).</summary>
internal sealed class InternetOnGateway(ResourceId id, DateTimeOffset? expiresAt) : ResourceOnGateway(id, [], expiresAt)
{
    /// <inheritdoc/>
    public override string Kind => "internet";

    /// <inheritdoc/>
    public override bool Covers(IPNetwork network) => true;
}
