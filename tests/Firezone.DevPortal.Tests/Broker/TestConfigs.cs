using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>Small configs built in code (ids derived from names, so tests can name them).</summary>
internal static class TestConfigs
{
    public static readonly SiteConfig Hq = new(new SiteId(DevPortalConfig.DerivedId("site", "hq")), "HQ");
    public static readonly SiteConfig Lab = new(new SiteId(DevPortalConfig.DerivedId("site", "lab")), "Lab");
    public static readonly GatewayConfig HqGateway = new(new GatewayId(DevPortalConfig.DerivedId("gateway", "hq")), "hq-gw", Hq.Id);
    public static readonly GatewayConfig HqGateway2 = new(new GatewayId(DevPortalConfig.DerivedId("gateway", "hq2")), "hq-gw2", Hq.Id);
    public static readonly GatewayConfig LabGateway = new(new GatewayId(DevPortalConfig.DerivedId("gateway", "lab")), "lab-gw", Lab.Id);
    public static readonly ClientConfig Alice = new(new ClientId(DevPortalConfig.DerivedId("client", "alice")), "alice");
    public static readonly ClientConfig Bob = new(new ClientId(DevPortalConfig.DerivedId("client", "bob")), "bob");

    public static readonly ResourceConfig Lan = new(new ResourceId(DevPortalConfig.DerivedId("resource", "lan")), ResourceKind.Cidr, "172.20.0.0/16",
        "LAN", "office", [Filter.Tcp(443, 443)], [Hq.Id]);

    public static readonly ResourceConfig Web = new(new ResourceId(DevPortalConfig.DerivedId("resource", "web")), ResourceKind.Dns, "*.corp.example",
        "Web", null, [], [Hq.Id, Lab.Id]);

    public static readonly ResourceConfig Internet = new(new ResourceId(DevPortalConfig.DerivedId("resource", "internet")), ResourceKind.Internet, null,
        "Internet Resource", null, [], [Lab.Id]);

    public static DevPortalConfig TestConfig(TimeSpan? answerTimeout = null) => new()
    {
        Sites = [Hq, Lab],
        Gateways = [HqGateway, HqGateway2, LabGateway],
        Clients = [Alice, Bob with { Resources = [Lan.Id] }],
        Relays = [new RelayConfig("relay-token")],
        Resources = [Lan, Web, Internet],
        UpstreamDns = [System.Net.IPEndPoint.Parse("198.18.53.53:53")],
        GatewayAnswerTimeout = answerTimeout ?? TimeSpan.FromSeconds(10),
    };
}
