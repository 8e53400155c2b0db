using System.Net;
using System.Text.Json;
using Firezone.Connlib.Model;

namespace Firezone.DevPortal.Config;

/// <summary>
/// Reads the JSON config file into a <see cref="DevPortalConfig"/>: strict about keys (an unknown key is an error, so a
/// typo does not silently change nothing), lenient about comments and trailing commas. Every error names its JSON path.
/// </summary>
internal sealed class ConfigReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };
    private readonly string _source;
    private List<SiteConfig> _sites = [];

    private ConfigReader(string source) => _source = source;

    public static DevPortalConfig Read(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new DevPortalConfigException(source, e.Path ?? "$", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }

        using (document)
        {
            return new ConfigReader(source).Root(document.RootElement);
        }
    }

    private DevPortalConfig Root(JsonElement root)
    {
        Object(root, "$", "sites", "gateways", "clients", "relays", "resources", "upstream_dns", "relay_credential_lifetime_seconds", "gateway_answer_timeout_seconds");
        _sites = List(root, "$", "sites", Site);
        var resources = List(root, "$", "resources", Resource);
        var config = new DevPortalConfig
        {
            Sites = _sites,
            Resources = resources,
            Gateways = List(root, "$", "gateways", Gateway),
            Clients = List(root, "$", "clients", (e, p) => Client(e, p, resources)),
            Relays = List(root, "$", "relays", (e, p) =>
            {
                Object(e, p, "token");
                return new RelayConfig(String(e, p, "token")!);
            }),
            UpstreamDns = List(root, "$", "upstream_dns", DnsServer),
        };
        if (Seconds(root, "$", "relay_credential_lifetime_seconds") is { } lifetime) config = config with { RelayCredentialLifetime = lifetime };
        if (Seconds(root, "$", "gateway_answer_timeout_seconds") is { } timeout) config = config with { GatewayAnswerTimeout = timeout };
        return config;
    }

    private SiteConfig Site(JsonElement e, string path)
    {
        Object(e, path, "id", "name");
        string name = String(e, path, "name")!;
        return new SiteConfig(new SiteId(Uuid(e, path, "id") ?? DevPortalConfig.DerivedId("site", name)), name);
    }

    private GatewayConfig Gateway(JsonElement e, string path)
    {
        Object(e, path, "id", "token", "site", "ipv4", "ipv6", "firezone_id");
        string token = String(e, path, "token")!;
        string? firezoneId = String(e, path, "firezone_id", required: false);
        return new GatewayConfig(
            new GatewayId(Uuid(e, path, "id") ?? DevPortalConfig.DerivedId("gateway", firezoneId is null ? token : $"{token}|{firezoneId}")),
            token,
            SiteRef(e.TryGetProperty("site", out var site) ? site : throw Error($"{path}.site", "required"), $"{path}.site"),
            Ip(e, path, "ipv4", System.Net.Sockets.AddressFamily.InterNetwork),
            Ip(e, path, "ipv6", System.Net.Sockets.AddressFamily.InterNetworkV6),
            firezoneId);
    }

    private ClientConfig Client(JsonElement e, string path, List<ResourceConfig> resources)
    {
        Object(e, path, "id", "token", "ipv4", "ipv6", "resources");
        string token = String(e, path, "token")!;
        List<ResourceId>? access = e.TryGetProperty("resources", out var list) && list.ValueKind != JsonValueKind.Null
            ? List(e, path, "resources", (r, p) => ResourceRef(r, p, resources))
            : null;
        return new ClientConfig(
            new ClientId(Uuid(e, path, "id") ?? DevPortalConfig.DerivedId("client", token)),
            token,
            Ip(e, path, "ipv4", System.Net.Sockets.AddressFamily.InterNetwork),
            Ip(e, path, "ipv6", System.Net.Sockets.AddressFamily.InterNetworkV6),
            access);
    }

    private ResourceConfig Resource(JsonElement e, string path)
    {
        Object(e, path, "id", "type", "address", "name", "address_description", "filters", "sites");
        string type = String(e, path, "type")!;
        var kind = type switch
        {
            "cidr" => ResourceKind.Cidr,
            "dns" => ResourceKind.Dns,
            "internet" => ResourceKind.Internet,
            _ => throw Error($"{path}.type", $"'{type}' is not a resource type (cidr, dns, internet)"),
        };
        string? address = kind == ResourceKind.Internet ? String(e, path, "address", required: false) : String(e, path, "address");
        string name = String(e, path, "name", required: kind != ResourceKind.Internet) ?? InternetResource.DefaultName;
        var sites = e.TryGetProperty("sites", out _)
            ? List(e, path, "sites", SiteRef)
            : [.. _sites.Select(s => s.Id)];
        return new ResourceConfig(
            new ResourceId(Uuid(e, path, "id") ?? DevPortalConfig.DerivedId("resource", name)),
            kind,
            address,
            name,
            String(e, path, "address_description", required: false),
            List(e, path, "filters", Filter),
            sites);
    }

    private Filter Filter(JsonElement e, string path)
    {
        Object(e, path, "protocol", "port_range_start", "port_range_end");
        string protocol = String(e, path, "protocol")!;
        if (protocol == "icmp")
        {
            if (e.TryGetProperty("port_range_start", out _) || e.TryGetProperty("port_range_end", out _))
                throw Error(path, "an icmp filter has no ports");
            return Connlib.Model.Filter.Icmp;
        }

        var p = protocol switch
        {
            "tcp" => FilterProtocol.Tcp,
            "udp" => FilterProtocol.Udp,
            _ => throw Error($"{path}.protocol", $"'{protocol}' is not a filter protocol (tcp, udp, icmp)"),
        };
        return new Filter(p, Port(e, path, "port_range_start") ?? 0, Port(e, path, "port_range_end") ?? ushort.MaxValue);
    }

    private IPEndPoint DnsServer(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.String) throw Error(path, $"expected a string such as \"1.1.1.1:53\", found {e.ValueKind}");
        string text = e.GetString()!;
        if (IPAddress.TryParse(text, out var bare)) return new IPEndPoint(bare, 53);
        return IPEndPoint.TryParse(text, out var endPoint) ? endPoint : throw Error(path, $"'{text}' is not an IP address or ip:port");
    }

    private SiteId SiteRef(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.String) throw Error(path, $"expected a site id or name, found {e.ValueKind}");
        string text = e.GetString()!;
        if (_sites.FirstOrDefault(s => s.Name == text) is { } byName) return byName.Id;
        if (Guid.TryParse(text, out var id)) return new SiteId(id);
        throw Error(path, $"no site named '{text}'");
    }

    private ResourceId ResourceRef(JsonElement e, string path, List<ResourceConfig> resources)
    {
        if (e.ValueKind != JsonValueKind.String) throw Error(path, $"expected a resource id or name, found {e.ValueKind}");
        string text = e.GetString()!;
        if (resources.FirstOrDefault(r => r.Name == text) is { } byName) return byName.Id;
        if (Guid.TryParse(text, out var id)) return new ResourceId(id);
        throw Error(path, $"no resource named '{text}'");
    }

    private void Object(JsonElement e, string path, params string[] keys)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Error(path, $"expected an object, found {e.ValueKind}");
        foreach (var property in e.EnumerateObject())
        {
            if (!keys.Contains(property.Name)) throw Error($"{path}.{property.Name}", $"unknown key (known: {string.Join(", ", keys)})");
        }
    }

    private List<T> List<T>(JsonElement parent, string path, string key, Func<JsonElement, string, T> item)
    {
        if (!parent.TryGetProperty(key, out var array) || array.ValueKind == JsonValueKind.Null) return [];
        string at = $"{path}.{key}";
        if (array.ValueKind != JsonValueKind.Array) throw Error(at, $"expected an array, found {array.ValueKind}");
        var result = new List<T>();
        int i = 0;
        foreach (var element in array.EnumerateArray())
        {
            result.Add(item(element, $"{at}[{i++}]"));
        }

        return result;
    }

    private string? String(JsonElement e, string path, string key, bool required = true)
    {
        if (!e.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw Error($"{path}.{key}", "required") : null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Error($"{path}.{key}", $"expected a string, found {value.ValueKind}");
    }

    private Guid? Uuid(JsonElement e, string path, string key) =>
        String(e, path, key, required: false) is not { } text ? null
        : Guid.TryParse(text, out var id) ? id
        : throw Error($"{path}.{key}", $"'{text}' is not a UUID");

    private IPAddress? Ip(JsonElement e, string path, string key, System.Net.Sockets.AddressFamily family) =>
        String(e, path, key, required: false) is not { } text ? null
        : IPAddress.TryParse(text, out var ip) && ip.AddressFamily == family ? ip
        : throw Error($"{path}.{key}", $"'{text}' is not an {(family == System.Net.Sockets.AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");

    private ushort? Port(JsonElement e, string path, string key) =>
        !e.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.TryGetUInt16(out ushort port) ? port
        : throw Error($"{path}.{key}", $"expected a port number 0-65535, found {value.GetRawText()}");

    private TimeSpan? Seconds(JsonElement e, string path, string key) =>
        !e.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double seconds) && seconds > 0 && seconds < 1e9 ? TimeSpan.FromSeconds(seconds)
        : throw Error($"{path}.{key}", $"expected a positive number of seconds, found {value.GetRawText()}");

    private DevPortalConfigException Error(string path, string reason) => new(_source, path, reason);
}
