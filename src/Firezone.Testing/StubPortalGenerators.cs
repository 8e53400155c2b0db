using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Testing;

/// <summary>FsCheck generator of the tunnel test's stub portal (tunnel spec §9.2). Deterministic per FsCheck seed.</summary>
public static class StubPortalGenerators
{
    /// <summary>A random gateway id.</summary>
    public static Gen<GatewayId> GatewayId { get; } =
        Gen.Choose(0, 255).ArrayOf(16).Select(b => new GatewayId(new Guid(b.Select(x => (byte)x).ToArray())));

    /// <summary>
    /// 1–3 sites, each with 1–3 gateways (ids distinct across the portal); the resources of
    /// <see cref="ResourceGenerators.Resources"/> on them; a random selector.
    /// </summary>
    public static Gen<StubPortal> Portal { get; } =
        (from sites in ResourceGenerators.Sites
         from counts in Gen.Choose(1, 3).ArrayOf(sites.Count)
         from ids in GatewayId.ArrayOf(counts.Sum())
         from resources in ResourceGenerators.Resources(sites)
         from selector in Gen.Choose(0, int.MaxValue)
         select (sites, counts, ids, resources, selector))
        .Where(t => t.ids.Distinct().Count() == t.ids.Length)
        .Select(t =>
        {
            var gateways = new Dictionary<SiteId, IReadOnlyList<GatewayId>>();
            int next = 0;
            for (int i = 0; i < t.sites.Count; i++)
            {
                gateways[t.sites[i].Id] = t.ids[next..(next + t.counts[i])];
                next += t.counts[i];
            }

            return new StubPortal(t.sites, gateways, t.resources, (uint)t.selector);
        });
}
