using System.Globalization;
using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;
using Firezone.Snownet;

namespace Firezone.DevPortal.Broker;

// Joins: init for clients, gateways and relays; relay credentials and relays_presence.
public sealed partial class DevPortalBroker
{
    private void JoinClient(long session, ClientConfig config, Key publicKey, string name, DateTimeOffset utcNow)
    {
        if (_clients.TryGetValue(config.Id, out var previous))
        {
            // The same client on a new socket (a reconnect seen before the old socket's end): the new one wins.
            _sessions.Remove(previous.Session);
        }

        var peer = new ClientPeer(session, config, publicKey, name);
        _sessions[session] = peer;
        _clients[config.Id] = peer;
        var relays = RelayEntries(_relays, utcNow);
        var resources = ClientResources(config);
        var init = new ClientInit(ClientInterface(config), resources, relays);
        Push(peer, init);
        BrokerLog.ClientJoined(_logger, Id(config.Id.Value), name, resources.Count, relays.Count, Text(init.Interface.IPv4), Text(init.Interface.IPv6));
        Event(new BrokerEvent(BrokerEventKind.ClientJoined, config.Id.Value, name, Detail: $"tunnel {init.Interface.IPv4} / {init.Interface.IPv6}, {resources.Count} resources"));
    }

    private void JoinGateway(long session, GatewayConfig config, Key publicKey, IPAddress remote, string name, DateTimeOffset utcNow)
    {
        if (_gateways.TryGetValue(config.Id, out var previous))
        {
            _sessions.Remove(previous.Session);
        }

        var peer = new GatewayPeer(session, config, publicKey, remote, name);
        _sessions[session] = peer;
        _gateways[config.Id] = peer;
        var relays = RelayEntries(_relays, utcNow);
        var init = new GatewayInit(GatewayInterface(config), Ipv4MasqueradeEnabled: true, Ipv6MasqueradeEnabled: true, relays);
        Push(peer, init);
        BrokerLog.GatewayJoined(_logger, Id(config.Id.Value), name, SiteName(config.Site), Text(remote), relays.Count, Text(init.Interface.IPv4), Text(init.Interface.IPv6));
        Event(new BrokerEvent(BrokerEventKind.GatewayJoined, config.Id.Value, name, Detail: $"site {SiteName(config.Site)}, tunnel {init.Interface.IPv4} / {init.Interface.IPv6}"));
    }

    private void JoinRelay(long session, string token, IReadOnlyDictionary<string, string> query, string stampSecret, string name, DateTimeOffset utcNow)
    {
        var addresses = new List<IPEndPoint>();
        int port = query.TryGetValue("port", out string? portText) && ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out ushort p) ? p : 3478;
        if (query.TryGetValue("ipv4", out string? v4) && IPAddress.TryParse(v4, out var ipv4) && ipv4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            addresses.Add(new IPEndPoint(ipv4, port));
        if (query.TryGetValue("ipv6", out string? v6) && IPAddress.TryParse(v6, out var ipv6) && ipv6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            addresses.Add(new IPEndPoint(ipv6, port));

        // The same relay (token, name, addresses, port) keeps its id across restarts, as a relay record does upstream.
        var id = new RelayId(DevPortalConfig.DerivedId("relay", $"{token}|{name}|{v4}|{v6}|{port}"));
        var relay = new RelayPeer(session, id, stampSecret, addresses, name);
        foreach (var stale in _relays.Where(r => r.Id == id).ToList())
        {
            _relays.Remove(stale);
            _sessions.Remove(stale.Session);
        }

        _relays.Add(relay);
        _sessions[session] = relay;
        Push(relay, new RelayInit());
        Event(new BrokerEvent(BrokerEventKind.RelayJoined, id.Value, name, Detail: string.Join(", ", addresses)));
        if (addresses.Count == 0)
        {
            BrokerLog.RelayWithoutAddress(_logger, Id(id.Value), name);
            return;
        }

        BrokerLog.RelayJoined(_logger, Id(id.Value), name, string.Join(", ", addresses), _clients.Count + _gateways.Count);
        PushPresence([], [relay], utcNow);
    }

    /// <summary>relays_presence to every client and gateway (each gets its own credentials).</summary>
    private void PushPresence(IReadOnlyList<RelayId> disconnected, IReadOnlyList<RelayPeer> connected, DateTimeOffset utcNow)
    {
        foreach (var peer in _clients.Values.Cast<BrokerPeer>().Concat(_gateways.Values))
        {
            Push(peer, new RelaysPresence(disconnected, RelayEntries(connected, utcNow)));
        }
    }

    /// <summary>TURN entries for <paramref name="relays"/>: IPv4 then IPv6 of each relay, adjacent, each with fresh credentials.</summary>
    private List<RelayEntry> RelayEntries(IEnumerable<RelayPeer> relays, DateTimeOffset utcNow)
    {
        long expiry = (utcNow + Config.RelayCredentialLifetime).ToUnixTimeSeconds();
        var entries = new List<RelayEntry>();
        foreach (var relay in relays)
        {
            foreach (var address in relay.Addresses)
            {
                string salt = RelayCredentials.NewSalt(_random);
                entries.Add(new TurnRelayEntry(relay.Id, address, RelayCredentials.Username(expiry, salt),
                    RelayCredentials.Password(relay.StampSecret, expiry, salt), DateTimeOffset.FromUnixTimeSeconds(expiry)));
            }
        }

        return entries;
    }

    private InterfaceConfig ClientInterface(ClientConfig config)
    {
        var (v4, v6) = AddressesOf(config);
        return new InterfaceConfig(v4, v6, Config.UpstreamDns);
    }

    private InterfaceConfig GatewayInterface(GatewayConfig config)
    {
        var (v4, v6) = AddressesOf(config);
        return new InterfaceConfig(v4, v6, Config.UpstreamDns);
    }

    private List<ClientResource> ClientResources(ClientConfig client) => [.. Config.ResourcesOf(client).Select(ToClientResource)];

    private ClientResource ToClientResource(ResourceConfig r)
    {
        var sites = r.Sites.Select(id => new Site(id, SiteName(id))).ToList();
        return r.Kind switch
        {
            ResourceKind.Cidr => new CidrResource(r.Id, IPNetwork.Parse(r.Address!), r.Name, r.AddressDescription, sites),
            ResourceKind.Dns => new DnsResource(r.Id, r.Address!, r.Name, r.AddressDescription, sites),
            _ => new InternetResource(r.Id, r.Name, sites),
        };
    }

    private static GatewayResource ToGatewayResource(ResourceConfig r) => r.Kind switch
    {
        ResourceKind.Cidr => new GatewayCidrResource(r.Id, IPNetwork.Parse(r.Address!), r.Name, r.Filters),
        ResourceKind.Dns => new GatewayDnsResource(r.Id, r.Address!, r.Name, r.Filters),
        _ => new GatewayInternetResource(r.Id),
    };

    private string SiteName(SiteId id) => Config.Sites.FirstOrDefault(s => s.Id == id)?.Name ?? Id(id.Value);
}
