using System.Text.Json;
using Firezone.Connlib.Model;

namespace Firezone.Connlib.Messages.Wire;

/// <summary>Gateway resources on the wire (phoenix-and-portal spec §8.1): tagged by <c>type</c>; an unknown type fails.</summary>
internal static class GatewayResourceCodec
{
    public static GatewayResource Decode(JsonElement element, string path)
    {
        switch (WireConvert.Tag(element, "type", path))
        {
            case "dns":
            {
                var w = WireConvert.Read(element, WireContext.Default.GatewayDnsResourceWire, path);
                return new GatewayDnsResource(WireConvert.ResourceId(w.Id, path + ".id"), w.Address, w.Name, Filters(w.Filters, path + ".filters"));
            }

            case "cidr":
            {
                var w = WireConvert.Read(element, WireContext.Default.GatewayDnsResourceWire, path);
                return new GatewayCidrResource(
                    WireConvert.ResourceId(w.Id, path + ".id"),
                    WireConvert.Cidr(w.Address, path + ".address"),
                    w.Name,
                    Filters(w.Filters, path + ".filters"));
            }

            case "internet":
            {
                var w = WireConvert.Read(element, WireContext.Default.GatewayInternetResourceWire, path);
                return new GatewayInternetResource(WireConvert.ResourceId(w.Id, path + ".id"));
            }

            case var other:
                throw new WireFormatException($"{path}.type: unknown gateway resource type '{other}'");
        }
    }

    public static JsonElement Encode(GatewayResource resource) => resource switch
    {
        GatewayDnsResource d => WireConvert.ToElement(
            new GatewayDnsResourceWire { Type = "dns", Id = WireConvert.Id(d.Id.Value), Address = d.Address, Name = d.Name, Filters = Filters(d.Filters) },
            WireContext.Default.GatewayDnsResourceWire),
        GatewayCidrResource c => WireConvert.ToElement(
            new GatewayDnsResourceWire
            {
                Type = "cidr",
                Id = WireConvert.Id(c.Id.Value),
                Address = WireText.FormatCidr(c.Address),
                Name = c.Name,
                Filters = Filters(c.Filters),
            },
            WireContext.Default.GatewayDnsResourceWire),
        GatewayInternetResource n => WireConvert.ToElement(
            new GatewayInternetResourceWire { Type = "internet", Id = WireConvert.Id(n.Id.Value) },
            WireContext.Default.GatewayInternetResourceWire),
        _ => throw new ArgumentException($"unknown gateway resource {resource.GetType()}", nameof(resource)),
    };

    private static List<Filter> Filters(List<JsonElement> filters, string path) => WireConvert.Each(filters, path, static (f, at) =>
    {
        switch (WireConvert.Tag(f, "protocol", at))
        {
            case "tcp":
                var tcp = WireConvert.Read(f, WireContext.Default.PortFilterWire, at);
                return Filter.Tcp(tcp.PortRangeStart, tcp.PortRangeEnd);
            case "udp":
                var udp = WireConvert.Read(f, WireContext.Default.PortFilterWire, at);
                return Filter.Udp(udp.PortRangeStart, udp.PortRangeEnd);
            case "icmp":
                return Filter.Icmp;
            case var other:
                throw new WireFormatException($"{at}.protocol: unknown filter protocol '{other}'");
        }
    });

    private static List<JsonElement> Filters(IReadOnlyList<Filter> filters) => [.. filters.Select(f => f.Protocol switch
    {
        FilterProtocol.Tcp or FilterProtocol.Udp => WireConvert.ToElement(
            new PortFilterWire { Protocol = f.Protocol == FilterProtocol.Tcp ? "tcp" : "udp", PortRangeStart = f.PortStart, PortRangeEnd = f.PortEnd },
            WireContext.Default.PortFilterWire),
        _ => WireConvert.ToElement(new IcmpFilterWire { Protocol = "icmp" }, WireContext.Default.IcmpFilterWire),
    })];
}
