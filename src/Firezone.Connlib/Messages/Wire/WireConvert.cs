using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Messages.Wire;

/// <summary>A payload that does not have its message's shape; caught by <see cref="PortalMessages"/>, never escapes.</summary>
internal sealed class WireFormatException(string detail) : Exception(detail);

/// <summary>
/// Wire ↔ model conversions of the scalar and shared values (phoenix-and-portal spec §6). The readers throw
/// <see cref="WireFormatException"/> with the JSON path of the bad value; the writers produce the canonical forms.
/// </summary>
internal static class WireConvert
{
    /// <summary>Earliest and latest Unix seconds a <see cref="DateTimeOffset"/> can hold.</summary>
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    public static T Read<T>(JsonElement element, JsonTypeInfo<T> type, string path)
    {
        T? value;
        try
        {
            value = element.Deserialize(type);
        }
        catch (JsonException e)
        {
            throw new WireFormatException($"{Join(path, e.Path)}: {FirstLine(e.Message)}");
        }

        return value ?? throw new WireFormatException($"{path}: null where an object is required");
    }

    /// <summary>The string value of an object's tag member (<c>type</c>, <c>protocol</c>).</summary>
    public static string Tag(JsonElement element, string tag, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new WireFormatException($"{path}: expected an object, found {element.ValueKind}");
        }

        if (!element.TryGetProperty(tag, out var value))
        {
            throw new WireFormatException($"{path}: missing tag '{tag}'");
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new WireFormatException($"{path}.{tag}: expected a string, found {value.ValueKind}");
    }

    public static JsonElement ToElement<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.SerializeToElement(value, type);

    public static Guid Uuid(string text, string path) =>
        WireText.TryParseUuid(text, out var value) ? value : throw new WireFormatException($"{path}: '{text}' is not a UUID");

    public static ResourceId ResourceId(string text, string path) => new(Uuid(text, path));

    public static GatewayId GatewayId(string text, string path) => new(Uuid(text, path));

    public static ClientId ClientId(string text, string path) => new(Uuid(text, path));

    public static SiteId SiteId(string text, string path) => new(Uuid(text, path));

    public static RelayId RelayId(string text, string path) => new(Uuid(text, path));

    public static string Id(Guid value) => WireText.FormatUuid(value);

    public static Key Key(string text, string path) =>
        Messages.Key.TryParse(text, out var key) ? key : throw new WireFormatException($"{path}: not the padded base64 of 32 bytes");

    public static IPAddress IPv4(string text, string path) =>
        WireText.TryParseIPv4(text, out var a) ? a : throw new WireFormatException($"{path}: '{text}' is not an IPv4 address");

    public static IPAddress IPv6(string text, string path) =>
        WireText.TryParseIPv6(text, out var a) ? a : throw new WireFormatException($"{path}: '{text}' is not an IPv6 address");

    public static IPAddress Ip(string text, string path) =>
        WireText.TryParseIP(text, out var a) ? a : throw new WireFormatException($"{path}: '{text}' is not an IP address");

    public static IPEndPoint SocketAddress(string text, string path) =>
        WireText.TryParseSocketAddress(text, out var e) ? e : throw new WireFormatException($"{path}: '{text}' is not a socket address");

    public static IPNetwork Cidr(string text, string path) =>
        WireText.TryParseCidr(text, out var n) ? n : throw new WireFormatException($"{path}: '{text}' is not a network (address/prefix, host bits zero)");

    public static string DomainName(string text, string path) =>
        WireText.TryParseDomainName(text, out var name) ? name : throw new WireFormatException($"{path}: '{text}' is not a domain name");

    public static DateTimeOffset Seconds(long seconds, string path) =>
        seconds >= MinSeconds && seconds <= MaxSeconds
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new WireFormatException($"{path}: {seconds} is out of the timestamp range");

    public static DateTimeOffset? Seconds(long? seconds, string path) => seconds is { } s ? Seconds(s, path) : null;

    public static long? ToSeconds(DateTimeOffset? value) => value?.ToUnixTimeSeconds();

    public static string Text(IPAddress address) => WireText.FormatIP(address);

    public static List<T> Each<TIn, T>(List<TIn> items, string path, Func<TIn, string, T> convert)
    {
        var result = new List<T>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            string at = $"{path}[{i}]";
            var item = items[i] ?? throw new WireFormatException($"{at}: null");
            result.Add(convert(item, at));
        }

        return result;
    }

    public static List<string> Strings(List<string> items, string path) => Each(items, path, static (s, _) => s);

    // ---- shared values ----

    public static InterfaceConfig Interface(InterfaceWire wire, string path) => new(
        IPv4(wire.Ipv4, path + ".ipv4"),
        IPv6(wire.Ipv6, path + ".ipv6"),
        Each(wire.UpstreamDns, path + ".upstream_dns", static (server, at) => server.Protocol == "ip_port"
            ? SocketAddress(server.Address, at + ".address")
            : throw new WireFormatException($"{at}.protocol: unknown DNS server protocol '{server.Protocol}'")));

    public static InterfaceWire Interface(InterfaceConfig config) => new()
    {
        Ipv4 = Text(config.IPv4),
        Ipv6 = Text(config.IPv6),
        UpstreamDns = [.. config.UpstreamDns.Select(s => new DnsServerWire { Protocol = "ip_port", Address = WireText.FormatSocketAddress(s) })],
    };

    public static Credentials Credentials(IceCredentialsWire wire) => new(wire.Username, wire.Password);

    public static IceCredentialsWire Credentials(Credentials credentials) => new() { Username = credentials.Username, Password = credentials.Password };

    public static ResolveRequest? Resolve(ResolveRequestWire? wire, string path) => wire is null
        ? null
        : new ResolveRequest(DomainName(wire.Name, path + ".name"), Each(wire.ProxyIps, path + ".proxy_ips", Ip));

    public static ResolveRequestWire? Resolve(ResolveRequest? request) => request is null
        ? null
        : new ResolveRequestWire { Name = request.Name, ProxyIps = [.. request.ProxyIps.Select(Text)] };

    public static RelayEntry Relay(JsonElement element, string path)
    {
        switch (Tag(element, "type", path))
        {
            case "turn":
                var turn = Read(element, WireContext.Default.TurnRelayWire, path);
                return new TurnRelayEntry(
                    RelayId(turn.Id, path + ".id"),
                    SocketAddress(turn.Addr, path + ".addr"),
                    turn.Username,
                    turn.Password,
                    Seconds(turn.ExpiresAt, path + ".expires_at"));
            case "stun":
                var stun = Read(element, WireContext.Default.StunRelayWire, path);
                return new StunRelayEntry(RelayId(stun.Id, path + ".id"), SocketAddress(stun.Addr, path + ".addr"));
            case var other:
                throw new WireFormatException($"{path}.type: unknown relay type '{other}'");
        }
    }

    public static JsonElement Relay(RelayEntry relay) => relay switch
    {
        TurnRelayEntry t => ToElement(
            new TurnRelayWire
            {
                Type = "turn",
                Id = Id(t.Id.Value),
                Addr = WireText.FormatSocketAddress(t.Address),
                Username = t.Username,
                Password = t.Password,
                ExpiresAt = t.ExpiresAt.ToUnixTimeSeconds(),
            },
            WireContext.Default.TurnRelayWire),
        StunRelayEntry s => ToElement(
            new StunRelayWire { Type = "stun", Id = Id(s.Id.Value), Addr = WireText.FormatSocketAddress(s.Address) },
            WireContext.Default.StunRelayWire),
        _ => throw new ArgumentException($"unknown relay entry {relay.GetType()}", nameof(relay)),
    };

    public static List<RelayEntry> Relays(List<JsonElement> relays, string path) => Each(relays, path, Relay);

    public static List<JsonElement> Relays(IReadOnlyList<RelayEntry> relays) => [.. relays.Select(Relay)];

    public static GatewayResponse GatewayResponse(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new WireFormatException($"{path}: expected an object, found {element.ValueKind}");
        }

        int count = 0;
        string? variant = null;
        foreach (var property in element.EnumerateObject())
        {
            variant = property.Name;
            count++;
        }

        if (count != 1)
        {
            throw new WireFormatException($"{path}: expected exactly one of ConnectionAccepted, ResourceAccepted");
        }

        var wire = Read(element, WireContext.Default.GatewayResponseWire, path);
        switch (variant)
        {
            case "ConnectionAccepted" when wire.ConnectionAccepted is { } accepted:
                return new ConnectionAccepted(Credentials(accepted.IceParameters));
            case "ResourceAccepted" when wire.ResourceAccepted is { } resource:
                string at = path + ".ResourceAccepted.domain_response";
                return new ResourceAccepted(
                    DomainName(resource.DomainResponse.Domain, at + ".domain"),
                    Each(resource.DomainResponse.Address, at + ".address", Ip));
            default:
                throw new WireFormatException($"{path}: unknown variant '{variant}'");
        }
    }

    public static JsonElement GatewayResponse(GatewayResponse response) => ToElement(
        response switch
        {
            ConnectionAccepted c => new GatewayResponseWire { ConnectionAccepted = new() { IceParameters = Credentials(c.IceParameters) } },
            ResourceAccepted r => new GatewayResponseWire
            {
                ResourceAccepted = new() { DomainResponse = new() { Domain = r.Domain, Address = [.. r.Addresses.Select(Text)] } },
            },
            _ => throw new ArgumentException($"unknown gateway response {response.GetType()}", nameof(response)),
        },
        WireContext.Default.GatewayResponseWire);

    /// <summary>Sorted ascending (upstream's id order) and without duplicates, as upstream sends candidate lists.</summary>
    public static List<string> SortedUnique(IEnumerable<string> candidates) => [.. new SortedSet<string>(candidates, StringComparer.Ordinal)];

    private static string Join(string path, string? jsonPath) =>
        jsonPath is null or "$" ? path : path + jsonPath.TrimStart('$');

    private static string FirstLine(string message)
    {
        int end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
