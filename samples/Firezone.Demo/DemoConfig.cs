using System.Net;

namespace Firezone.Demo;

/// <summary>The demo's world: the dev portal's config (tokens, one site, the resources) and the resource host's names.</summary>
internal static class DemoConfig
{
    public const string ClientToken = "demo-client-token";
    public const string GatewayToken = "demo-gateway-token";
    public const string RelayToken = "demo-relay-token";

    /// <summary>A host of the CIDR resource, behind the gateway.</summary>
    public static readonly IPAddress EchoHost = IPAddress.Parse("198.18.200.10");

    /// <summary>The resource host's DNS server (inside the CIDR resource: the client forwards queries through the tunnel).</summary>
    public static readonly IPAddress LanDns = IPAddress.Parse("198.18.200.53");

    /// <summary>A DNS resource: the client answers it with a proxy IP, the gateway resolves it and translates.</summary>
    public const string DnsResourceName = "echo.demo.test";

    /// <summary>A name that is no resource, answered by the resource host's DNS server.</summary>
    public const string LanName = "files.lan.test";

    /// <summary>What the resource host's DNS server (and the gateway's resolver) know.</summary>
    public static readonly Dictionary<string, IPAddress> Records = new(StringComparer.Ordinal)
    {
        [DnsResourceName] = EchoHost,
        [LanName] = IPAddress.Parse("198.18.200.20"),
    };

    /// <summary>The dev portal config (samples/Firezone.DevPortal/README.md documents the format).</summary>
    public const string Json = """
        {
          "sites": [{ "name": "demo site" }],
          "gateways": [{ "token": "demo-gateway-token", "site": "demo site" }],
          "clients": [{ "token": "demo-client-token" }],
          "relays": [{ "token": "demo-relay-token" }],
          "resources": [
            { "type": "cidr", "name": "demo LAN", "address": "198.18.200.0/24", "sites": ["demo site"] },
            { "type": "dns", "name": "demo names", "address": "echo.demo.test", "sites": ["demo site"] }
          ],
          "upstream_dns": ["198.18.200.53"]
        }
        """;
}
