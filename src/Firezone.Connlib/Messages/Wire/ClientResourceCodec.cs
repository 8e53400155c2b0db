using System.Text.Json;
using Firezone.Connlib.Model;

namespace Firezone.Connlib.Messages.Wire;

/// <summary>Client resources on the wire (phoenix-and-portal spec §7.1): tagged by <c>type</c>, unknown types tolerated.</summary>
internal static class ClientResourceCodec
{
    /// <summary>The resource, or null for a <c>type</c> this version does not know (accepted and ignored, as upstream).</summary>
    public static ClientResource? Decode(JsonElement element, string path, out string type)
    {
        type = WireConvert.Tag(element, "type", path);
        switch (type)
        {
            case "dns":
            {
                var w = WireConvert.Read(element, WireContext.Default.ClientDnsResourceWire, path);
                return new DnsResource(WireConvert.ResourceId(w.Id, path + ".id"), w.Address, w.Name, w.AddressDescription, Sites(w.GatewayGroups, path));
            }

            case "cidr":
            {
                var w = WireConvert.Read(element, WireContext.Default.ClientDnsResourceWire, path);
                return new CidrResource(
                    WireConvert.ResourceId(w.Id, path + ".id"),
                    WireConvert.Cidr(w.Address, path + ".address"),
                    w.Name,
                    w.AddressDescription,
                    Sites(w.GatewayGroups, path));
            }

            case "internet":
            {
                var w = WireConvert.Read(element, WireContext.Default.ClientInternetResourceWire, path);
                return new InternetResource(WireConvert.ResourceId(w.Id, path + ".id"), w.Name, Sites(w.GatewayGroups, path));
            }

            default:
                return null;
        }
    }

    public static List<ClientResource> DecodeList(List<JsonElement> elements, string path)
    {
        var result = new List<ClientResource>(elements.Count);
        for (int i = 0; i < elements.Count; i++)
        {
            if (Decode(elements[i], $"{path}[{i}]", out _) is { } resource)
            {
                result.Add(resource);
            }
        }

        return result;
    }

    public static JsonElement Encode(ClientResource resource) => resource switch
    {
        DnsResource d => WireConvert.ToElement(
            new ClientDnsResourceWire
            {
                Type = "dns",
                Id = WireConvert.Id(d.Id.Value),
                Address = d.Address,
                Name = d.Name,
                AddressDescription = d.AddressDescription,
                GatewayGroups = Sites(d.Sites),
            },
            WireContext.Default.ClientDnsResourceWire),
        CidrResource c => WireConvert.ToElement(
            new ClientDnsResourceWire
            {
                Type = "cidr",
                Id = WireConvert.Id(c.Id.Value),
                Address = WireText.FormatCidr(c.Address),
                Name = c.Name,
                AddressDescription = c.AddressDescription,
                GatewayGroups = Sites(c.Sites),
            },
            WireContext.Default.ClientDnsResourceWire),
        InternetResource n => WireConvert.ToElement(
            new ClientInternetResourceWire { Type = "internet", Id = WireConvert.Id(n.Id.Value), Name = n.Name, GatewayGroups = Sites(n.Sites) },
            WireContext.Default.ClientInternetResourceWire),
        _ => throw new ArgumentException($"unknown client resource {resource.GetType()}", nameof(resource)),
    };

    private static List<Site> Sites(List<SiteWire> sites, string path) =>
        WireConvert.Each(sites, path + ".gateway_groups", static (s, at) => new Site(WireConvert.SiteId(s.Id, at + ".id"), s.Name));

    private static List<SiteWire> Sites(IReadOnlyList<Site> sites) =>
        [.. sites.Select(s => new SiteWire { Id = WireConvert.Id(s.Id.Value), Name = s.Name })];
}
