using Firezone.Connlib.Model;

namespace Firezone.Testing;

/// <summary>
/// The tunnel test's stub portal (tunnel spec §9.2, §9.7): resources, each on exactly one site; each site with 1–3
/// gateways; one <see cref="Selector"/> that picks a gateway from a site's gateway set deterministically (the same pick
/// every time). It maps a client resource to the gateway's description with <b>empty filters</b> (permit all) and
/// ignores the client's connected-gateway hint, as upstream's stub does. Immutable; made by
/// <see cref="StubPortalGenerators.Portal"/> or by hand.
/// </summary>
public sealed class StubPortal
{
    private readonly SortedDictionary<SiteId, GatewayId[]> _gateways = new();

    /// <summary>A portal over <paramref name="resources"/> whose sites have the given gateways.</summary>
    /// <param name="sites">The sites.</param>
    /// <param name="gateways">Each site's gateways (at least one per site that has a resource).</param>
    /// <param name="resources">The resources, each on exactly one of <paramref name="sites"/>.</param>
    /// <param name="selector">Picks a gateway of a site: the index is <c>selector mod gateway count</c>.</param>
    /// <exception cref="ArgumentException">A resource is not on exactly one known site, or its site has no gateway.</exception>
    public StubPortal(IReadOnlyList<Site> sites, IReadOnlyDictionary<SiteId, IReadOnlyList<GatewayId>> gateways,
        IReadOnlyList<ClientResource> resources, uint selector)
    {
        Sites = sites;
        Resources = resources;
        Selector = selector;
        foreach (var (site, ids) in gateways)
        {
            _gateways[site] = ids.Order().ToArray();
        }

        foreach (var resource in resources)
        {
            if (resource.Sites.Count != 1 || !sites.Contains(resource.Sites[0]) || !_gateways.TryGetValue(resource.Sites[0].Id, out var g) || g.Length == 0)
            {
                throw new ArgumentException($"resource {resource.Id} must be on exactly one site that has a gateway", nameof(resources));
            }
        }
    }

    /// <summary>The sites.</summary>
    public IReadOnlyList<Site> Sites { get; }

    /// <summary>Every resource (what the portal lists to the client), in the order given.</summary>
    public IReadOnlyList<ClientResource> Resources { get; }

    /// <summary>The deterministic gateway selector.</summary>
    public uint Selector { get; }

    /// <summary>Every gateway, in id order.</summary>
    public IEnumerable<GatewayId> AllGateways => _gateways.Values.SelectMany(g => g).Distinct().Order();

    /// <summary>A site's gateways in id order (empty for an unknown site).</summary>
    public IReadOnlyList<GatewayId> GatewaysOf(SiteId site) => _gateways.TryGetValue(site, out var g) ? g : [];

    /// <summary>The gateway and site that serve <paramref name="resource"/>, or null for an unknown resource.</summary>
    public (GatewayId Gateway, SiteId Site)? GatewayFor(ResourceId resource)
    {
        foreach (var r in Resources)
        {
            if (r.Id == resource)
            {
                var site = r.Sites[0].Id;
                var gateways = _gateways[site];
                return (gateways[(int)(Selector % (uint)gateways.Length)], site);
            }
        }

        return null;
    }

    /// <summary>The gateway's description of <paramref name="resource"/>: same id and address, empty filters.</summary>
    public static GatewayResource ToGatewayResource(ClientResource resource) => resource switch
    {
        DnsResource d => new GatewayDnsResource(d.Id, d.Address, d.Name, []),
        CidrResource c => new GatewayCidrResource(c.Id, c.Address, c.Name, []),
        _ => new GatewayInternetResource(resource.Id),
    };
}
