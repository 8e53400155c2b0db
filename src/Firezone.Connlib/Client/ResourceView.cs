using System.Net;
using Firezone.Connlib.Model;

namespace Firezone.Connlib.Client;

/// <summary>
/// A resource as a UI shows it (tunnel spec §3): its description and current status. Views sort with the internet
/// resource first, then by (name, id) with ordinal comparison of names (<see cref="CompareTo"/>).
/// </summary>
public sealed record ResourceView : IComparable<ResourceView>
{
    internal ResourceView(ClientResource resource, ResourceStatus status)
    {
        Resource = resource;
        Status = status;
    }

    /// <summary>The resource (<see cref="DnsResource"/>, <see cref="CidrResource"/> or <see cref="InternetResource"/>).</summary>
    public ClientResource Resource { get; }

    /// <summary>Online if any of its sites is online; offline if all are (vacuously for a resource without sites); else unknown.</summary>
    public ResourceStatus Status { get; }

    /// <summary>The resource's id.</summary>
    public ResourceId Id => Resource.Id;

    /// <summary>The resource's name.</summary>
    public string Name => Resource.Name;

    /// <summary>The address as text: the DNS pattern, the CIDR network, or null for the internet resource.</summary>
    public string? Address => Resource switch
    {
        DnsResource d => d.Address,
        CidrResource c => c.Address.ToString(),
        _ => null,
    };

    /// <inheritdoc/>
    public int CompareTo(ResourceView? other)
    {
        if (other is null)
        {
            return 1;
        }

        bool a = Resource is InternetResource, b = other.Resource is InternetResource;
        if (a != b)
        {
            return a ? -1 : 1;
        }

        int byName = string.CompareOrdinal(Name, other.Name);
        return byName != 0 ? byName : Id.CompareTo(other.Id);
    }
}

/// <summary>
/// What the host must apply to its TUN device (tunnel spec §4.3): the tunnel addresses, the DNS servers to configure
/// (the sentinel IPs, each standing for one real server), and the routes.
/// </summary>
public sealed record TunConfig
{
    internal TunConfig(IPAddress ipv4, IPAddress ipv6, IReadOnlyDictionary<IPAddress, IPEndPoint> dnsBySentinel,
        IReadOnlyList<IPNetwork> ipv4Routes, IReadOnlyList<IPNetwork> ipv6Routes)
    {
        IPv4 = ipv4;
        IPv6 = ipv6;
        DnsBySentinel = dnsBySentinel;
        IPv4Routes = ipv4Routes;
        IPv6Routes = ipv6Routes;
    }

    /// <summary>The IPv4 tunnel address.</summary>
    public IPAddress IPv4 { get; }

    /// <summary>The IPv6 tunnel address.</summary>
    public IPAddress IPv6 { get; }

    /// <summary>Sentinel IP → the DNS server it stands for (the host configures the sentinel IPs as its resolvers).</summary>
    public IReadOnlyDictionary<IPAddress, IPEndPoint> DnsBySentinel { get; }

    /// <summary>The sentinel IPs, in ascending order (what the host configures as DNS servers).</summary>
    public IEnumerable<IPAddress> DnsServers => DnsBySentinel.Keys.OrderBy(a => a.AddressFamily).ThenBy(a => a, IpAddressComparer.Instance);

    /// <summary>IPv4 routes, ordered.</summary>
    public IReadOnlyList<IPNetwork> IPv4Routes { get; }

    /// <summary>IPv6 routes, ordered.</summary>
    public IReadOnlyList<IPNetwork> IPv6Routes { get; }

    /// <inheritdoc/>
    public bool Equals(TunConfig? other) =>
        other is not null && IPv4.Equals(other.IPv4) && IPv6.Equals(other.IPv6)
        && DnsBySentinel.Count == other.DnsBySentinel.Count
        && DnsBySentinel.All(kv => other.DnsBySentinel.TryGetValue(kv.Key, out var s) && s.Equals(kv.Value))
        && IPv4Routes.SequenceEqual(other.IPv4Routes) && IPv6Routes.SequenceEqual(other.IPv6Routes);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(IPv4, IPv6, DnsBySentinel.Count, IPv4Routes.Count, IPv6Routes.Count);
}

/// <summary>Orders addresses by family, then by their bytes (network order).</summary>
internal sealed class IpAddressComparer : IComparer<IPAddress>
{
    public static readonly IpAddressComparer Instance = new();

    public int Compare(IPAddress? x, IPAddress? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        int family = x.AddressFamily.CompareTo(y.AddressFamily);
        if (family != 0)
        {
            return family;
        }

        Span<byte> a = stackalloc byte[16], b = stackalloc byte[16];
        x.TryWriteBytes(a, out int n);
        y.TryWriteBytes(b, out int m);
        return a[..n].SequenceCompareTo(b[..m]);
    }
}

/// <summary>Orders networks by family, then address bytes, then prefix length.</summary>
internal sealed class IpNetworkComparer : IComparer<IPNetwork>
{
    public static readonly IpNetworkComparer Instance = new();

    public int Compare(IPNetwork x, IPNetwork y)
    {
        int address = IpAddressComparer.Instance.Compare(x.BaseAddress, y.BaseAddress);
        return address != 0 ? address : x.PrefixLength.CompareTo(y.PrefixLength);
    }
}
