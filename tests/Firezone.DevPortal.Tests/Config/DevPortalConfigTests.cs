using System.Net;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Broker;
using Firezone.DevPortal.Config;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.DevPortal.Tests.Config;

/// <summary>The JSON config file: the example parses, errors name file, JSON path and reason; the built-in default.</summary>
public sealed class DevPortalConfigTests
{
    [Fact]
    public void The_example_file_parses_with_names_resolved_to_ids()
    {
        var config = DevPortalConfig.Load(Path.Combine(AppContext.BaseDirectory, "devportal.example.json"));
        Assert.Equal(["HQ", "Lab"], config.Sites.Select(s => s.Name));
        var hq = config.Sites[0].Id;
        var lab = config.Sites[1].Id;
        Assert.Equal(Guid.Parse("3a62bafc-4b91-4ce1-9edb-0674e387244d"), hq.Value);
        Assert.Equal(new SiteId(DevPortalConfig.DerivedId("site", "Lab")), lab);
        Assert.Equal([hq, lab], config.Gateways.Select(g => g.Site));
        Assert.Equal(IPAddress.Parse("100.64.10.1"), config.Gateways[1].IPv4);
        Assert.Equal([config.Resources[0].Id], config.Clients[1].Resources!);
        Assert.Null(config.Clients[0].Resources);
        Assert.Equal([ResourceKind.Cidr, ResourceKind.Dns, ResourceKind.Internet], config.Resources.Select(r => r.Kind));
        Assert.Equal([Filter.Tcp(80, 443), Filter.Udp(53, 53), Filter.Icmp], config.Resources[1].Filters);
        Assert.Equal([hq, lab], config.Resources[1].Sites);
        Assert.Equal(InternetResource.DefaultName, config.Resources[2].Name);
        Assert.Equal([IPEndPoint.Parse("1.1.1.1:53"), IPEndPoint.Parse("[2606:4700:4700::1111]:53")], config.UpstreamDns);
        Assert.Equal(TimeSpan.FromSeconds(10), config.GatewayAnswerTimeout);
    }

    [Fact]
    public void The_built_in_config_is_valid_and_has_the_documented_tokens()
    {
        var config = DevPortalConfig.Default.Validate();
        Assert.Equal("client-token", Assert.Single(config.Clients).Token);
        Assert.Equal("gateway-token", Assert.Single(config.Gateways).Token);
        Assert.Equal("relay-token", Assert.Single(config.Relays).Token);
        Assert.Equal(["172.20.0.0/16", "**.httpbin"], config.Resources.Select(r => r.Address));
    }

    [Theory]
    [InlineData("{\"sites\": [", "$", "not valid JSON")]
    [InlineData("{\"site\": []}", "$.site", "unknown key")]
    [InlineData("{\"sites\": [{\"name\": \"a\"}], \"resources\": [{\"type\": \"cidr\", \"name\": \"x\", \"address\": \"10.0.0.1/8\"}]}", "$.resources[0].address", "host bits")]
    [InlineData("{\"resources\": [{\"type\": \"cidr\", \"name\": \"x\", \"address\": \"10.0.0.0/33\"}]}", "$.resources[0].address", "not a CIDR")]
    [InlineData("{\"resources\": [{\"type\": \"printer\", \"name\": \"x\"}]}", "$.resources[0].type", "not a resource type")]
    [InlineData("{\"sites\": [{\"name\": \"a\"}], \"gateways\": [{\"token\": \"t\", \"site\": \"b\"}]}", "$.gateways[0].site", "no site named 'b'")]
    [InlineData("{\"sites\": [{\"name\": \"a\"}], \"gateways\": [{\"token\": \"t\"}]}", "$.gateways[0].site", "required")]
    [InlineData("{\"clients\": [{\"token\": \"t\"}, {\"token\": \"t\"}]}", "$.clients[1].token", "already used at $.clients[0].token")]
    [InlineData("{\"clients\": [{\"token\": \"t\", \"ipv4\": \"10.0.0.1\"}]}", "$.clients[0].ipv4", "not in 100.64.0.0/11")]
    [InlineData("{\"clients\": [{\"token\": \"t\", \"ipv4\": \"fd00:2021:1111::1\"}]}", "$.clients[0].ipv4", "not an IPv4 address")]
    [InlineData("{\"resources\": [{\"type\": \"dns\", \"name\": \"x\", \"address\": \"a.b\", \"filters\": [{\"protocol\": \"tcp\", \"port_range_start\": 90, \"port_range_end\": 80}]}]}", "$.resources[0].filters[0]", "above port_range_end")]
    [InlineData("{\"resources\": [{\"type\": \"dns\", \"name\": \"x\", \"address\": \"a.b\", \"filters\": [{\"protocol\": \"tcp\", \"port_range_start\": 70000}]}]}", "$.resources[0].filters[0].port_range_start", "port number")]
    [InlineData("{\"clients\": [{\"token\": \"t\", \"resources\": [\"nope\"]}]}", "$.clients[0].resources[0]", "no resource named 'nope'")]
    [InlineData("{\"upstream_dns\": [\"dns.google\"]}", "$.upstream_dns[0]", "not an IP address")]
    [InlineData("{\"gateway_answer_timeout_seconds\": -1}", "$.gateway_answer_timeout_seconds", "positive")]
    [InlineData("{\"sites\": [{\"name\": \"a\"}], \"gateways\": [{\"token\": \"t\", \"site\": \"a\"}, {\"token\": \"t\", \"site\": \"a\", \"firezone_id\": \"x\"}]}", "$.gateways[1].token", "must each have a firezone_id")]
    [InlineData("{\"sites\": [{\"name\": \"a\"}], \"gateways\": [{\"token\": \"t\", \"site\": \"a\", \"firezone_id\": \"x\"}, {\"token\": \"t\", \"site\": \"a\", \"firezone_id\": \"x\"}]}", "$.gateways[1].firezone_id", "same firezone_id")]
    public void A_bad_file_is_refused_with_its_path_json_path_and_reason(string json, string jsonPath, string reason)
    {
        var e = Assert.Throws<DevPortalConfigException>(() => DevPortalConfig.Parse(json, "my.json"));
        Assert.Equal(("my.json", jsonPath), (e.Source, e.JsonPath));
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"my.json: {jsonPath}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gateways_with_distinct_firezone_ids_may_share_a_token_and_get_distinct_derived_ids()
    {
        var config = DevPortalConfig.Parse("""
            { "sites": [{ "name": "a" }], "gateways": [
              { "token": "t", "site": "a", "firezone_id": "one" }, { "token": "t", "site": "a", "firezone_id": "two" }] }
            """);
        Assert.NotEqual(config.Gateways[0].Id, config.Gateways[1].Id);
        Assert.Equal(Firezone.PhoenixChannel.LoginUrl.ExternalId("one"), config.Gateways[0].ExternalId);
    }

    [Fact]
    public void Derived_ids_are_stable_uuids_that_differ_by_kind_and_key()
    {
        Assert.Equal(DevPortalConfig.DerivedId("client", "a"), DevPortalConfig.DerivedId("client", "a"));
        Assert.NotEqual(DevPortalConfig.DerivedId("client", "a"), DevPortalConfig.DerivedId("gateway", "a"));
        Assert.NotEqual(DevPortalConfig.DerivedId("client", "a"), DevPortalConfig.DerivedId("client", "b"));
        Assert.Equal(8, DevPortalConfig.DerivedId("site", "x").Version);
    }

    [FsCheck.Xunit.Property(MaxTest = 50)]
    public Property Allocated_addresses_are_unique_inside_the_tunnel_ranges_and_fixed_ones_are_kept(PositiveInt clientCount, PositiveInt gatewayCount, int seed)
    {
        int clients = (clientCount.Get % 40) + 1;
        int gateways = (gatewayCount.Get % 10) + 1;
        var random = new Random(seed);
        var site = new SiteConfig(new SiteId(Guid.NewGuid()), "s");
        var fixedV4 = IPAddress.Parse($"100.64.0.{random.Next(1, 60)}");
        var config = new DevPortalConfig
        {
            Sites = [site],
            Clients = [.. Enumerable.Range(0, clients).Select(i => new ClientConfig(new ClientId(Guid.NewGuid()), $"c{i}", IPv4: i == 0 ? fixedV4 : null))],
            Gateways = [.. Enumerable.Range(0, gateways).Select(i => new GatewayConfig(new GatewayId(Guid.NewGuid()), $"g{i}", site.Id))],
        };
        var broker = new DevPortalBroker(config);
        var all = config.Clients.Select(broker.AddressesOf).Concat(config.Gateways.Select(broker.AddressesOf)).ToList();
        bool unique = all.Select(a => a.IPv4).Distinct().Count() == all.Count && all.Select(a => a.IPv6).Distinct().Count() == all.Count;
        bool inside = all.All(a => DevPortalConfig.TunnelIPv4Range.Contains(a.IPv4) && DevPortalConfig.TunnelIPv6Range.Contains(a.IPv6));
        bool noNetworkAddress = all.All(a => !a.IPv4.Equals(DevPortalConfig.TunnelIPv4Range.BaseAddress));
        return (unique && inside && noNetworkAddress && broker.AddressesOf(config.Clients[0]).IPv4.Equals(fixedV4)).ToProperty();
    }
}
