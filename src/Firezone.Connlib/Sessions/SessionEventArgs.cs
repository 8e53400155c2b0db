using System.Net;
using Firezone.Connlib.Client;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// The client's TUN interface configuration (tunnel spec §4.9 <c>on_set_interface_config</c>): its addresses and the
/// DNS servers to configure, which are the <em>sentinel</em> addresses the tunnel answers on.
/// </summary>
public sealed class InterfaceConfigEventArgs : EventArgs
{
    internal InterfaceConfigEventArgs(IPAddress ipv4, IPAddress ipv6, IReadOnlyList<IPAddress> dnsServers)
    {
        IPv4 = ipv4;
        IPv6 = ipv6;
        DnsServers = dnsServers;
    }

    /// <summary>The IPv4 tunnel address.</summary>
    public IPAddress IPv4 { get; }

    /// <summary>The IPv6 tunnel address.</summary>
    public IPAddress IPv6 { get; }

    /// <summary>The DNS servers to configure on the device (sentinels), IPv4 first, in address order.</summary>
    public IReadOnlyList<IPAddress> DnsServers { get; }
}

/// <summary>The routes to install on the TUN device (tunnel spec §4.9 <c>on_update_routes</c>).</summary>
public sealed class RoutesEventArgs : EventArgs
{
    internal RoutesEventArgs(IReadOnlyList<IPNetwork> ipv4, IReadOnlyList<IPNetwork> ipv6)
    {
        IPv4Routes = ipv4;
        IPv6Routes = ipv6;
    }

    /// <summary>IPv4 routes.</summary>
    public IReadOnlyList<IPNetwork> IPv4Routes { get; }

    /// <summary>IPv6 routes.</summary>
    public IReadOnlyList<IPNetwork> IPv6Routes { get; }
}

/// <summary>The client's resources with their status (tunnel spec §4.9 <c>on_update_resources</c>).</summary>
public sealed class ResourcesEventArgs : EventArgs
{
    internal ResourcesEventArgs(IReadOnlyList<ResourceView> resources) => Resources = resources;

    /// <summary>Every resource, in view order.</summary>
    public IReadOnlyList<ResourceView> Resources { get; }
}

/// <summary>The gateway's tunnel interface from the portal's <c>init</c>: addresses and the client ranges to route.</summary>
public sealed class GatewayInterfaceEventArgs : EventArgs
{
    internal GatewayInterfaceEventArgs(IPAddress ipv4, IPAddress ipv6, IReadOnlyList<IPNetwork> routes)
    {
        IPv4 = ipv4;
        IPv6 = ipv6;
        Routes = routes;
    }

    /// <summary>The gateway's IPv4 tunnel address.</summary>
    public IPAddress IPv4 { get; }

    /// <summary>The gateway's IPv6 tunnel address.</summary>
    public IPAddress IPv6 { get; }

    /// <summary>The routes to install: the client ranges 100.64.0.0/11 and fd00:2021:1111::/107.</summary>
    public IReadOnlyList<IPNetwork> Routes { get; }
}

/// <summary>A session ended on its own (tunnel spec §4.9 <c>on_disconnect</c>): a permanent portal error or a crash.</summary>
public sealed class SessionEndedEventArgs : EventArgs
{
    internal SessionEndedEventArgs(SessionEnd end) => End = end;

    /// <summary>Why.</summary>
    public SessionEnd End { get; }
}
