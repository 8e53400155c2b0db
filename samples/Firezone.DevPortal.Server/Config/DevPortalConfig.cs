using System.Net;
using System.Security.Cryptography;
using System.Text;
using Firezone.Connlib.Model;

namespace Firezone.DevPortal.Config;

/// <summary>
/// Everything the dev portal knows: sites, the gateways and clients it accepts (by token), relay tokens, resources and
/// which sites serve them, the upstream DNS servers it hands out. Build one in code, or read the JSON file described in
/// <c>samples/Firezone.DevPortal/README.md</c> with <see cref="Load"/>. <see cref="Validate"/> checks the rules (unique
/// ids and tokens, known sites, fixed addresses inside the tunnel ranges, CIDRs without host bits).
/// </summary>
public sealed record DevPortalConfig
{
    /// <summary>The client/gateway IPv4 tunnel range upstream's portal allocates from.</summary>
    public static readonly IPNetwork TunnelIPv4Range = IPNetwork.Parse("100.64.0.0/11");

    /// <summary>The client/gateway IPv6 tunnel range upstream's portal allocates from.</summary>
    public static readonly IPNetwork TunnelIPv6Range = IPNetwork.Parse("fd00:2021:1111::/107");

    /// <summary>The sites.</summary>
    public IReadOnlyList<SiteConfig> Sites { get; init; } = [];

    /// <summary>The gateways.</summary>
    public IReadOnlyList<GatewayConfig> Gateways { get; init; } = [];

    /// <summary>The clients.</summary>
    public IReadOnlyList<ClientConfig> Clients { get; init; } = [];

    /// <summary>The relay tokens.</summary>
    public IReadOnlyList<RelayConfig> Relays { get; init; } = [];

    /// <summary>The resources.</summary>
    public IReadOnlyList<ResourceConfig> Resources { get; init; } = [];

    /// <summary>Upstream DNS servers sent in every interface (may be empty: the client then uses the system's).</summary>
    public IReadOnlyList<IPEndPoint> UpstreamDns { get; init; } = [];

    /// <summary>How long the relay credentials handed out stay valid (their <c>&lt;expiry&gt;</c> is now + this).</summary>
    public TimeSpan RelayCredentialLifetime { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long a client's <c>request_connection</c> waits for the gateway's <c>connection_ready</c> before it gets an <c>offline</c> error reply.</summary>
    public TimeSpan GatewayAnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The config used when none is given: site <c>dev</c>; gateway token <c>gateway-token</c>; client token
    /// <c>client-token</c>; relay token <c>relay-token</c>; a CIDR resource <c>172.20.0.0/16</c> and a DNS resource
    /// <c>**.httpbin</c> (upstream's dev topology) served by that site; no upstream DNS. Ids are fixed (see the README).
    /// </summary>
    public static DevPortalConfig Default { get; } = CreateDefault();

    /// <summary>A deterministic UUID for a name (SHA-256 of <c>kind:key</c>, version 8 bits set): ids that stay the same across runs.</summary>
    public static Guid DerivedId(string kind, string key)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{kind}:{key}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>Reads and validates a JSON config file.</summary>
    /// <exception cref="DevPortalConfigException">The file cannot be read, is not JSON, or breaks a rule.</exception>
    public static DevPortalConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DevPortalConfigException(path, "$", $"cannot read the file: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses and validates a JSON config; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="DevPortalConfigException">Not JSON, or breaks a rule.</exception>
    public static DevPortalConfig Parse(string json, string source = "<config>") => ConfigReader.Read(json, source).Validate(source);

    /// <summary>The resources <paramref name="client"/> may use, in config order.</summary>
    public IEnumerable<ResourceConfig> ResourcesOf(ClientConfig client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.Resources is null ? Resources : Resources.Where(r => client.Resources.Contains(r.Id));
    }

    /// <summary>Checks the rules; returns this config.</summary>
    /// <exception cref="DevPortalConfigException">The first rule broken, with its JSON path.</exception>
    public DevPortalConfig Validate(string source = "<in-memory>")
    {
        void Fail(string path, string reason) => throw new DevPortalConfigException(source, path, reason);

        var sites = new HashSet<SiteId>();
        for (int i = 0; i < Sites.Count; i++)
        {
            if (!sites.Add(Sites[i].Id)) Fail($"$.sites[{i}].id", $"duplicate site id {Sites[i].Id}");
            if (string.IsNullOrWhiteSpace(Sites[i].Name)) Fail($"$.sites[{i}].name", "a site needs a name");
        }

        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        void Token(string path, string token)
        {
            if (string.IsNullOrEmpty(token)) Fail(path, "a token must not be empty");
            if (!tokens.TryAdd(token, path)) Fail(path, $"the token is already used at {tokens[token]}");
        }

        var v4 = new Dictionary<IPAddress, string>();
        var v6 = new Dictionary<IPAddress, string>();
        void Address(string path, IPAddress? address, bool ipv6)
        {
            if (address is null) return;
            var range = ipv6 ? TunnelIPv6Range : TunnelIPv4Range;
            if (!range.Contains(address)) Fail(path, $"{address} is not in {range}");
            var used = ipv6 ? v6 : v4;
            if (!used.TryAdd(address, path)) Fail(path, $"{address} is already given at {used[address]}");
        }

        var gateways = new HashSet<GatewayId>();
        var sharedGatewayTokens = new Dictionary<(string Token, string? FirezoneId), string>();
        for (int i = 0; i < Gateways.Count; i++)
        {
            var g = Gateways[i];
            // Gateways may share a token when each names its firezone_id (told apart by external_id at join).
            bool shares = g.FirezoneId is not null && Gateways.Take(i).Any(o => o.Token == g.Token);
            if (shares && Gateways.Take(i).Any(o => o.Token == g.Token && o.FirezoneId is null))
                Fail($"$.gateways[{i}].token", "gateways sharing a token must each have a firezone_id");
            if (!sharedGatewayTokens.TryAdd((g.Token, g.FirezoneId), $"$.gateways[{i}]"))
                Fail($"$.gateways[{i}].firezone_id", $"another gateway with this token has the same firezone_id ({sharedGatewayTokens[(g.Token, g.FirezoneId)]})");
            if (!shares) Token($"$.gateways[{i}].token", g.Token);
            if (!gateways.Add(g.Id)) Fail($"$.gateways[{i}].id", $"duplicate gateway id {g.Id}");
            if (!sites.Contains(g.Site)) Fail($"$.gateways[{i}].site", $"no site {g.Site}");
            Address($"$.gateways[{i}].ipv4", g.IPv4, ipv6: false);
            Address($"$.gateways[{i}].ipv6", g.IPv6, ipv6: true);
        }

        var resources = new HashSet<ResourceId>();
        for (int i = 0; i < Resources.Count; i++)
        {
            var r = Resources[i];
            string at = $"$.resources[{i}]";
            if (!resources.Add(r.Id)) Fail($"{at}.id", $"duplicate resource id {r.Id}");
            if (string.IsNullOrWhiteSpace(r.Name)) Fail($"{at}.name", "a resource needs a name");
            switch (r.Kind)
            {
                case ResourceKind.Cidr:
                    // IPNetwork refuses host bits, as upstream's CIDR parser does.
                    if (r.Address is null || !IPNetwork.TryParse(r.Address, out var network))
                        Fail($"{at}.address", $"'{r.Address}' is not a CIDR (e.g. 10.20.0.0/16)");
                    else if (!IPAddress.Parse(r.Address.AsSpan(0, r.Address.IndexOf('/', StringComparison.Ordinal) is int slash and >= 0 ? slash : r.Address.Length)).Equals(network.BaseAddress))
                        Fail($"{at}.address", $"'{r.Address}' has host bits set (upstream refuses it; the network is {network})");
                    break;
                case ResourceKind.Dns:
                    if (string.IsNullOrWhiteSpace(r.Address) || r.Address.Contains(' ', StringComparison.Ordinal) || r.Address.EndsWith('.'))
                        Fail($"{at}.address", $"'{r.Address}' is not a DNS pattern (e.g. *.corp.example, without a trailing dot)");
                    break;
                case ResourceKind.Internet:
                    if (r.Address is not null) Fail($"{at}.address", "the internet resource has no address");
                    if (r.Filters.Count > 0) Fail($"{at}.filters", "the internet resource has no filters");
                    break;
                default:
                    Fail($"{at}.type", $"unknown kind {r.Kind}");
                    break;
            }

            for (int f = 0; f < r.Filters.Count; f++)
            {
                if (r.Filters[f].Protocol != FilterProtocol.Icmp && r.Filters[f].PortStart > r.Filters[f].PortEnd)
                    Fail($"{at}.filters[{f}]", $"port_range_start {r.Filters[f].PortStart} is above port_range_end {r.Filters[f].PortEnd}");
            }

            for (int s = 0; s < r.Sites.Count; s++)
            {
                if (!sites.Contains(r.Sites[s])) Fail($"{at}.sites[{s}]", $"no site {r.Sites[s]}");
            }
        }

        var clients = new HashSet<ClientId>();
        for (int i = 0; i < Clients.Count; i++)
        {
            var c = Clients[i];
            Token($"$.clients[{i}].token", c.Token);
            if (!clients.Add(c.Id)) Fail($"$.clients[{i}].id", $"duplicate client id {c.Id}");
            Address($"$.clients[{i}].ipv4", c.IPv4, ipv6: false);
            Address($"$.clients[{i}].ipv6", c.IPv6, ipv6: true);
            for (int r = 0; r < (c.Resources?.Count ?? 0); r++)
            {
                if (!resources.Contains(c.Resources![r])) Fail($"$.clients[{i}].resources[{r}]", $"no resource {c.Resources[r]}");
            }
        }

        for (int i = 0; i < Relays.Count; i++)
        {
            Token($"$.relays[{i}].token", Relays[i].Token);
        }

        if (RelayCredentialLifetime <= TimeSpan.Zero) Fail("$.relay_credential_lifetime_seconds", "must be positive");
        if (GatewayAnswerTimeout <= TimeSpan.Zero) Fail("$.gateway_answer_timeout_seconds", "must be positive");
        return this;
    }

    private static DevPortalConfig CreateDefault()
    {
        var site = new SiteConfig(new SiteId(DerivedId("site", "dev")), "dev");
        return new DevPortalConfig
        {
            Sites = [site],
            Gateways = [new GatewayConfig(new GatewayId(DerivedId("gateway", "gateway-token")), "gateway-token", site.Id)],
            Clients = [new ClientConfig(new ClientId(DerivedId("client", "client-token")), "client-token")],
            Relays = [new RelayConfig("relay-token")],
            Resources =
            [
                new ResourceConfig(new ResourceId(DerivedId("resource", "httpbin-cidr")), ResourceKind.Cidr, "172.20.0.0/16", "httpbin-cidr", null, [], [site.Id]),
                new ResourceConfig(new ResourceId(DerivedId("resource", "httpbin-dns")), ResourceKind.Dns, "**.httpbin", "httpbin-dns", null, [], [site.Id]),
            ],
        }.Validate("<built-in>");
    }
}
