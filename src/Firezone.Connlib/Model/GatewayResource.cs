using System.Net;

namespace Firezone.Connlib.Model;

/// <summary>
/// A resource as a gateway is told of it (portal <c>authorize_flow</c>, <c>request_connection</c>, <c>allow_access</c>,
/// <c>resource_updated</c>): what it is and which traffic its filters let through (tunnel spec §3, §5.3).
/// </summary>
public abstract record GatewayResource
{
    private protected GatewayResource(ResourceId id, IReadOnlyList<Filter> filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        Id = id;
        Filters = filters;
    }

    /// <summary>The resource's id.</summary>
    public ResourceId Id { get; }

    /// <summary>The traffic allowed to it; empty = everything (the internet resource has none).</summary>
    public IReadOnlyList<Filter> Filters { get; }
}

/// <summary>A DNS resource on the gateway: names matching <see cref="Address"/>, reached through DNS-resource NAT.</summary>
public sealed record GatewayDnsResource : GatewayResource
{
    /// <summary>Creates it.</summary>
    public GatewayDnsResource(ResourceId id, string address, string name, IReadOnlyList<Filter> filters)
        : base(id, filters)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(name);
        Address = address;
        Name = name;
    }

    /// <summary>The domain pattern.</summary>
    public string Address { get; }

    /// <summary>Its display name.</summary>
    public string Name { get; }
}

/// <summary>A CIDR resource on the gateway.</summary>
public sealed record GatewayCidrResource : GatewayResource
{
    /// <summary>Creates it.</summary>
    public GatewayCidrResource(ResourceId id, IPNetwork address, string name, IReadOnlyList<Filter> filters)
        : base(id, filters)
    {
        ArgumentNullException.ThrowIfNull(name);
        Address = address;
        Name = name;
    }

    /// <summary>The network.</summary>
    public IPNetwork Address { get; }

    /// <summary>Its display name.</summary>
    public string Name { get; }
}

/// <summary>The internet resource on the gateway (no filters: everything outside the proxy ranges).</summary>
public sealed record GatewayInternetResource : GatewayResource
{
    /// <summary>Creates it.</summary>
    public GatewayInternetResource(ResourceId id)
        : base(id, [])
    {
    }
}

/// <summary>The transport a <see cref="Filter"/> allows.</summary>
public enum FilterProtocol
{
    /// <summary>TCP to a port range.</summary>
    Tcp,

    /// <summary>UDP to a port range.</summary>
    Udp,

    /// <summary>ICMP and ICMPv6 (any type).</summary>
    Icmp,
}

/// <summary>
/// One traffic filter of a gateway resource: TCP or UDP to destination ports <see cref="PortStart"/>–<see cref="PortEnd"/>
/// (inclusive; the portal's missing start is 0 and missing end 65535), or ICMP.
/// </summary>
/// <param name="Protocol">The transport.</param>
/// <param name="PortStart">First allowed destination port (TCP/UDP).</param>
/// <param name="PortEnd">Last allowed destination port (TCP/UDP).</param>
public readonly record struct Filter(FilterProtocol Protocol, ushort PortStart = 0, ushort PortEnd = ushort.MaxValue)
{
    /// <summary>An ICMP filter.</summary>
    public static Filter Icmp => new(FilterProtocol.Icmp);

    /// <summary>TCP to the given ports.</summary>
    public static Filter Tcp(ushort start = 0, ushort end = ushort.MaxValue) => new(FilterProtocol.Tcp, start, end);

    /// <summary>UDP to the given ports.</summary>
    public static Filter Udp(ushort start = 0, ushort end = ushort.MaxValue) => new(FilterProtocol.Udp, start, end);
}
