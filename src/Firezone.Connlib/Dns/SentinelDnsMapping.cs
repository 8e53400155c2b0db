using System.Net;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Dns;

/// <summary>What <see cref="SentinelDnsMapping.Update"/> decided.</summary>
internal enum DnsMappingStatus
{
    /// <summary>The set of effective servers equals the current mapping's: keep it (and the mangled-query records).</summary>
    Unchanged,

    /// <summary>A new mapping (possibly empty) replaces the current one.</summary>
    Changed,

    /// <summary>
    /// More servers of one family than free sentinels (254 IPv4 / 256 IPv6, minus the previous mapping's): the current
    /// mapping stays. Upstream panics here; this port reports it instead (a deliberate difference).
    /// </summary>
    SentinelsExhausted,
}

/// <summary>The result of recomputing the DNS mapping.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Mapping">The mapping to use from now on (the current one unless <see cref="DnsMappingStatus.Changed"/>).</param>
/// <param name="EffectiveServers">The effective servers the decision was made on, in order.</param>
/// <param name="Error">For <see cref="DnsMappingStatus.SentinelsExhausted"/>: what ran out.</param>
internal readonly record struct DnsMappingUpdate(DnsMappingStatus Status, DnsMapping Mapping, IReadOnlyList<IPEndPoint> EffectiveServers, string? Error);

/// <summary>
/// The client's sentinel DNS mapping (tunnel spec §4.3 steps 1–3; upstream's <c>effective_dns_servers</c> and
/// <c>sentinel_dns_mapping</c>) as a pure function of the portal's upstream servers, the system resolvers and the
/// current mapping.
/// </summary>
internal static partial class SentinelDnsMapping
{
    /// <summary>
    /// The servers DNS is forwarded to: the portal's upstream servers minus those inside the sentinel ranges if any
    /// remain; otherwise the system resolvers as ip:53 minus sentinel-range ones; otherwise none (a warning: DNS
    /// interception is disabled).
    /// </summary>
    public static IReadOnlyList<IPEndPoint> EffectiveServers(IEnumerable<IPEndPoint> upstream, IEnumerable<IPAddress> systemResolvers, ILogger logger)
    {
        var fromPortal = upstream.Where(s => !DnsRanges.IsSentinel(s.Address)).ToList();
        if (fromPortal.Count > 0)
        {
            return fromPortal;
        }

        var fromSystem = systemResolvers.Where(ip => !DnsRanges.IsSentinel(ip)).Select(ip => new IPEndPoint(ip, DnsRanges.DnsPort)).ToList();
        if (fromSystem.Count == 0)
        {
            Log.NoDnsServers(logger);
        }

        return fromSystem;
    }

    /// <summary>
    /// Recomputes the mapping: unchanged when the effective servers form the same <em>set</em> as the current
    /// mapping's servers; otherwise each server, in list order, takes the next free sentinel of its own family (IPv4:
    /// the hosts of 100.100.111.0/24 from .1; IPv6: every address of fd00:2021:1111:8000:100:100:111:0/120 from the
    /// first), skipping the current mapping's sentinels, so consecutive mappings are disjoint.
    /// </summary>
    public static DnsMappingUpdate Update(DnsMapping current, IReadOnlyList<IPEndPoint> effectiveServers)
    {
        if (current.HasServerSet(effectiveServers))
        {
            return new DnsMappingUpdate(DnsMappingStatus.Unchanged, current, effectiveServers, null);
        }

        var previous = current.Sentinels.Select(s => new IPNetwork(s, IpKey.IsV4(s) ? 32 : 128)).ToArray();
        // The sentinel ranges themselves: IPv4 hosts of the /24, IPv6 every address of the /120.
        var sentinels = new ProxyIpAllocator(DnsRanges.SentinelsV4, DnsRanges.SentinelsV6, previous);
        var pairs = new List<(IPAddress, IPEndPoint)>(effectiveServers.Count);
        foreach (var server in effectiveServers)
        {
            IPAddress sentinel;
            if (IpKey.IsV4(server.Address))
            {
                if (!sentinels.TryNextV4(out uint v4))
                {
                    return Exhausted(current, effectiveServers, "IPv4");
                }

                sentinel = IpKey.V4(v4);
            }
            else
            {
                if (!sentinels.TryNextV6(out UInt128 v6))
                {
                    return Exhausted(current, effectiveServers, "IPv6");
                }

                sentinel = IpKey.V6(v6);
            }

            pairs.Add((sentinel, server));
        }

        return new DnsMappingUpdate(DnsMappingStatus.Changed, new DnsMapping(pairs), effectiveServers, null);
    }

    private static DnsMappingUpdate Exhausted(DnsMapping current, IReadOnlyList<IPEndPoint> servers, string family)
    {
        bool v4 = family == "IPv4";
        int count = servers.Count(s => IpKey.IsV4(s.Address) == v4);
        int inUse = current.Sentinels.Count(s => IpKey.IsV4(s) == v4);
        return new DnsMappingUpdate(
            DnsMappingStatus.SentinelsExhausted,
            current,
            servers,
            $"Too many {family} DNS servers ({count}): the sentinel range has room for {(v4 ? 254 : 256)}, minus the {inUse} {family} sentinels of the current mapping");
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "No system default DNS servers available! Can't initialize resolver. DNS interception will be disabled.")]
        public static partial void NoDnsServers(ILogger logger);
    }
}
