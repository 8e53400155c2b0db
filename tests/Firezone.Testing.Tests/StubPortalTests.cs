using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Testing.Tests;

/// <summary>The stub portal (tunnel spec §9.2, §9.7) and its generator.</summary>
public class StubPortalTests
{
    [Property(MaxTest = 300)]
    public Property Sites_have_1_to_3_gateways_and_every_resource_is_served_by_one_gateway_of_its_own_site_always_the_same_spec_9_2() =>
        Prop.ForAll(StubPortalGenerators.Portal.ToArbitrary(), portal =>
        {
            Assert.InRange(portal.Sites.Count, 1, 3);
            Assert.All(portal.Sites, s => Assert.InRange(portal.GatewaysOf(s.Id).Count, 1, 3));
            var all = portal.Sites.SelectMany(s => portal.GatewaysOf(s.Id)).ToList();
            Assert.Equal(all.Count, all.Distinct().Count());
            Assert.Equal(all.Order(), portal.AllGateways);
            foreach (var resource in portal.Resources)
            {
                var (gateway, site) = portal.GatewayFor(resource.Id)!.Value;
                Assert.Equal(resource.Sites.Single().Id, site);
                Assert.Contains(gateway, portal.GatewaysOf(site));
                Assert.Equal(gateway, portal.GatewayFor(resource.Id)!.Value.Gateway);
                // the selector picks the same index in every site: selector mod count, over the site's sorted gateways
                Assert.Equal(portal.GatewaysOf(site)[(int)(portal.Selector % (uint)portal.GatewaysOf(site).Count)], gateway);
            }
        });

    [Property(MaxTest = 200)]
    public Property A_client_resource_maps_to_the_gateway_description_with_empty_filters_spec_9_7() =>
        Prop.ForAll(StubPortalGenerators.Portal.ToArbitrary(), portal =>
        {
            foreach (var resource in portal.Resources)
            {
                var mapped = StubPortal.ToGatewayResource(resource);
                Assert.Equal(resource.Id, mapped.Id);
                Assert.Empty(mapped.Filters);
                switch (resource)
                {
                    case CidrResource c:
                        Assert.Equal(c.Address, Assert.IsType<GatewayCidrResource>(mapped).Address);
                        break;
                    case DnsResource d:
                        Assert.Equal(d.Address, Assert.IsType<GatewayDnsResource>(mapped).Address);
                        break;
                    default:
                        Assert.IsType<GatewayInternetResource>(mapped);
                        break;
                }
            }
        });

    [Fact]
    public void A_resource_without_a_site_that_has_a_gateway_is_refused()
    {
        var site = new Site(new SiteId(Guid.Parse("00000000-0000-0000-0000-000000000001")), "s");
        var other = new Site(new SiteId(Guid.Parse("00000000-0000-0000-0000-000000000002")), "t");
        var gateway = new GatewayId(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
        var resource = new InternetResource(new ResourceId(Guid.Parse("00000000-0000-0000-0000-0000000000f1")), "i", [other]);
        Assert.Throws<ArgumentException>(() => new StubPortal([site, other], new Dictionary<SiteId, IReadOnlyList<GatewayId>> { [site.Id] = [gateway] }, [resource], 0));
        Assert.Null(new StubPortal([site], new Dictionary<SiteId, IReadOnlyList<GatewayId>> { [site.Id] = [gateway] }, [], 0).GatewayFor(resource.Id));
    }
}
