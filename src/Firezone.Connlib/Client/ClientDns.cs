using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>
/// The client state's door to DNS: the DNS-resource patterns (registration semantics of tunnel spec §4.2/§4.7), proxy
/// IP lookups, and the sentinel mapping. INTERIM on the `client` branch: patterns only; proxy IPs, queries and the
/// sentinel mapping come from the stub resolver (Dns/) when that lands.
/// </summary>
internal sealed class ClientDns(IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? knownHosts, ILogger logger)
{
    private readonly SortedDictionary<string, (DomainPattern Pattern, ResourceId Resource)> _patterns = new(DomainPattern.PriorityComparer);

    public IReadOnlyDictionary<string, IReadOnlyList<IPAddress>> KnownHosts { get; } = knownHosts ?? new Dictionary<string, IReadOnlyList<IPAddress>>();

    /// <summary>Registers a pattern; false when it was registered already (then it is re-pointed) or is invalid.</summary>
    public bool RegisterPattern(string pattern, ResourceId resource)
    {
        if (!DomainPattern.TryParse(pattern, out var parsed))
        {
            logger.LogWarning("Invalid DNS resource address {Pattern} of {Resource}", pattern, resource);
            return false;
        }

        bool added = !_patterns.ContainsKey(parsed.Text);
        _patterns[parsed.Text] = (parsed, resource);
        return added;
    }

    public void UnregisterPatterns(ResourceId resource)
    {
        foreach (var key in _patterns.Where(kv => kv.Value.Resource == resource).Select(kv => kv.Key).ToList())
        {
            _patterns.Remove(key);
        }
    }

    /// <summary>The resource matching a name (first pattern in priority order), if any.</summary>
    public ResourceId? Match(string name)
    {
        foreach (var (_, (pattern, resource)) in _patterns)
        {
            if (pattern.Matches(name))
            {
                return resource;
            }
        }

        return null;
    }

    public bool TryGetProxyResource(ReadOnlySpan<byte> address, out ResourceId resource)
    {
        _ = address;
        resource = default;
        return false;
    }

    public ResolveRequest? ResolveRequestFor(ReadOnlySpan<byte> address)
    {
        _ = address;
        return null;
    }

    public bool IsMappedSentinel(ReadOnlySpan<byte> address)
    {
        _ = address;
        return false;
    }

    /// <summary>A new sentinel → server mapping when the effective servers changed, else null.</summary>
    public IReadOnlyDictionary<IPAddress, IPEndPoint>? RecomputeMapping(IReadOnlyList<IPEndPoint> upstream, IReadOnlyList<IPAddress> system)
    {
        _ = upstream;
        _ = system;
        return null;
    }
}
