using System.Net;

namespace Firezone.Connlib.Client;

/// <summary>The client's fixed address ranges (tunnel spec §2).</summary>
public static class ClientRanges
{
    /// <summary>DNS-resource proxy addresses, IPv4 (100.96.0.0/11).</summary>
    public static readonly IPNetwork ProxyV4 = IPNetwork.Parse("100.96.0.0/11");

    /// <summary>DNS-resource proxy addresses, IPv6 (fd00:2021:1111:8000::/107).</summary>
    public static readonly IPNetwork ProxyV6 = IPNetwork.Parse("fd00:2021:1111:8000::/107");

    /// <summary>DNS sentinel addresses, IPv4 (100.100.111.0/24, inside the proxy range and never handed out as a proxy).</summary>
    public static readonly IPNetwork SentinelsV4 = IPNetwork.Parse("100.100.111.0/24");

    /// <summary>DNS sentinel addresses, IPv6 (fd00:2021:1111:8000:100:100:111:0/120).</summary>
    public static readonly IPNetwork SentinelsV6 = IPNetwork.Parse("fd00:2021:1111:8000:100:100:111:0/120");

    /// <summary>Client tunnel addresses, IPv4 (100.64.0.0/11).</summary>
    public static readonly IPNetwork TunnelV4 = IPNetwork.Parse("100.64.0.0/11");

    /// <summary>Client tunnel addresses, IPv6 (fd00:2021:1111::/107).</summary>
    public static readonly IPNetwork TunnelV6 = IPNetwork.Parse("fd00:2021:1111::/107");
}
