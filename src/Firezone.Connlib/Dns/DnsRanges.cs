using System.Net;

namespace Firezone.Connlib.Dns;

/// <summary>The address ranges and constants of the client's DNS handling (tunnel spec §2).</summary>
internal static class DnsRanges
{
    /// <summary>DNS-resource proxy addresses, IPv4 (<c>IPV4_RESOURCES</c>).</summary>
    public static readonly IPNetwork ResourcesV4 = IPNetwork.Parse("100.96.0.0/11");

    /// <summary>DNS-resource proxy addresses, IPv6 (<c>IPV6_RESOURCES</c>).</summary>
    public static readonly IPNetwork ResourcesV6 = IPNetwork.Parse("fd00:2021:1111:8000::/107");

    /// <summary>Sentinel DNS servers, IPv4 (<c>DNS_SENTINELS_V4</c>; inside <see cref="ResourcesV4"/>, excluded from proxy allocation).</summary>
    public static readonly IPNetwork SentinelsV4 = IPNetwork.Parse("100.100.111.0/24");

    /// <summary>Sentinel DNS servers, IPv6 (<c>DNS_SENTINELS_V6</c>; outside <see cref="ResourcesV6"/>).</summary>
    public static readonly IPNetwork SentinelsV6 = IPNetwork.Parse("fd00:2021:1111:8000:100:100:111:0/120");

    /// <summary>The DNS port.</summary>
    public const ushort DnsPort = 53;

    /// <summary>The TTL of locally generated answers, in seconds.</summary>
    public const uint LocalAnswerTtl = 1;

    /// <summary>Firefox's DoH canary domain, answered with NXDOMAIN so that Firefox keeps using the system resolver.</summary>
    public const string DohCanaryDomain = "use-application-dns.net";

    /// <summary>Proxy addresses per name and family (4 IPv4 + 4 IPv6, allocated together).</summary>
    public const int ProxyIpsPerFamily = 4;

    /// <summary>True when the address lies in one of the two sentinel ranges.</summary>
    public static bool IsSentinel(IPAddress address) => SentinelsV4.Contains(address) || SentinelsV6.Contains(address);
}
