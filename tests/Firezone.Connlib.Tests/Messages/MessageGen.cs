using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>FsCheck generators of every portal message, with values as the wire can carry them.</summary>
internal static class MessageGen
{
    public static readonly Gen<Guid> Uuid = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 16).Select(b => new Guid(b));

    /// <summary>Any text a JSON string can carry (no lone surrogates, which Rust strings cannot hold either).</summary>
    public static readonly Gen<string> Text = Gen.OneOf(
        ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty).Where(s => !s.Any(char.IsSurrogate)),
        Gen.Elements("", "a", "Office LAN", "ünïcødé 🚀", "quote\" back\\slash", "\u0000ctl\n"));

    public static readonly Gen<IPAddress> IPv4 = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 4).Select(b => new IPAddress(b));

    public static readonly Gen<IPAddress> IPv6 = Gen.OneOf(
        Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 16).Select(b => new IPAddress(b)),
        Gen.Choose(0, 65535).Select(i => IPAddress.Parse($"fd00:2021:1111::{i:x}")),
        Gen.Constant(IPAddress.IPv6Any));

    public static readonly Gen<IPAddress> Ip = Gen.OneOf(IPv4, IPv6);

    public static readonly Gen<IPEndPoint> SocketAddress = Gen.Zip(Ip, Gen.Choose(0, 65535)).Select(t => new IPEndPoint(t.Item1, t.Item2));

    public static readonly Gen<IPNetwork> Network =
        from address in Ip
        from length in Gen.Choose(0, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
        select new IPNetwork(Masked(address, length), length);

    public static readonly Gen<string> DomainName =
        Gen.ListOf(Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789-_*".ToCharArray()), n)).Select(c => new string(c)))
            .Where(l => l.Count is > 0 and < 6)
            .Select(l => string.Join('.', l));

    public static readonly Gen<Key> Key = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 32).Select(b => new Key(b));

    public static readonly Gen<Credentials> Credentials = Gen.Zip(Text, Text).Select(t => new Credentials(t.Item1, t.Item2));

    public static readonly Gen<DateTimeOffset> Timestamp = Gen.OneOf(
        Gen.Choose(0, int.MaxValue).Select(s => DateTimeOffset.FromUnixTimeSeconds(s)),
        Gen.Choose(-1000, 1000).Select(s => DateTimeOffset.FromUnixTimeSeconds(s * 3_000_000L)),
        Gen.Elements(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.MaxValue.ToUnixTimeSeconds()), DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.MinValue.ToUnixTimeSeconds())));

    public static readonly Gen<DateTimeOffset?> OptionalTimestamp = Gen.OneOf(Gen.Constant<DateTimeOffset?>(null), Timestamp.Select(t => (DateTimeOffset?)t));

    public static readonly Gen<IReadOnlyList<Site>> Sites = Gen.ListOf(Gen.Zip(Uuid, Text).Select(t => new Site(new SiteId(t.Item1), t.Item2)))
        .Select(l => (IReadOnlyList<Site>)l.Take(4).ToList());

    public static readonly Gen<ClientResource> ClientResource = Gen.OneOf(
        from id in Uuid
        from address in Text
        from name in Text
        from description in Optional(Text)
        from sites in Sites
        select (ClientResource)new DnsResource(new ResourceId(id), address, name, description, sites),
        from id in Uuid
        from network in Network
        from name in Text
        from description in Optional(Text)
        from sites in Sites
        select (ClientResource)new CidrResource(new ResourceId(id), network, name, description, sites),
        from id in Uuid
        from name in Text
        from sites in Sites
        select (ClientResource)new InternetResource(new ResourceId(id), name, sites));

    public static readonly Gen<Filter> Filter = Gen.OneOf(
        Gen.Constant(Firezone.Connlib.Model.Filter.Icmp),
        from tcp in Gen.Elements(true, false)
        from start in Gen.Choose(0, 65535)
        from end in Gen.Choose(0, 65535)
        select tcp ? Firezone.Connlib.Model.Filter.Tcp((ushort)start, (ushort)end) : Firezone.Connlib.Model.Filter.Udp((ushort)start, (ushort)end));

    public static readonly Gen<GatewayResource> GatewayResource = Gen.OneOf(
        from id in Uuid
        from address in Text
        from name in Text
        from filters in Gen.ListOf(Filter)
        select (GatewayResource)new GatewayDnsResource(new ResourceId(id), address, name, filters.Take(5).ToList()),
        from id in Uuid
        from network in Network
        from name in Text
        from filters in Gen.ListOf(Filter)
        select (GatewayResource)new GatewayCidrResource(new ResourceId(id), network, name, filters.Take(5).ToList()),
        Uuid.Select(id => (GatewayResource)new GatewayInternetResource(new ResourceId(id))));

    public static readonly Gen<RelayEntry> Relay = Gen.OneOf(
        from id in Uuid
        from address in SocketAddress
        from user in Text
        from password in Text
        from expiry in Timestamp
        select (RelayEntry)new TurnRelayEntry(new RelayId(id), address, user, password, expiry),
        from id in Uuid
        from address in SocketAddress
        select (RelayEntry)new StunRelayEntry(new RelayId(id), address));

    public static readonly Gen<IReadOnlyList<RelayEntry>> Relays = Gen.ListOf(Relay).Select(l => (IReadOnlyList<RelayEntry>)l.Take(6).ToList());

    public static readonly Gen<InterfaceConfig> Interface =
        from v4 in IPv4
        from v6 in IPv6
        from dns in Gen.ListOf(SocketAddress)
        select new InterfaceConfig(v4, v6, dns.Take(4).ToList());

    public static readonly Gen<ResolveRequest?> Resolve = Optional(
        from name in DomainName
        from ips in Gen.ListOf(Ip)
        select new ResolveRequest(name, ips.Take(8).ToList()));

    public static readonly Gen<IReadOnlyList<string>> Candidates = Gen.ListOf(Text).Select(l => (IReadOnlyList<string>)l.Take(6).ToList());

    /// <summary>Sorted and unique, as the broadcast encoders send them.</summary>
    public static readonly Gen<IReadOnlyList<string>> SortedCandidates =
        Candidates.Select(l => (IReadOnlyList<string>)new SortedSet<string>(l, StringComparer.Ordinal).ToList());

    public static readonly Gen<GatewayResponse> GatewayResponse = Gen.OneOf(
        Credentials.Select(c => (GatewayResponse)new ConnectionAccepted(c)),
        from domain in DomainName
        from addresses in Gen.ListOf(Ip)
        select (GatewayResponse)new ResourceAccepted(domain, addresses.Take(4).ToList()));

    public static readonly Gen<ulong> U64 = Gen.OneOf(Gen.Choose(0, int.MaxValue).Select(i => (ulong)i), Gen.Elements(0UL, 25UL, ulong.MaxValue));

    /// <summary>What the portal pushes to a client.</summary>
    public static readonly Gen<PortalMessage> ClientPush = Gen.OneOf(
        from i in Interface
        from resources in Gen.ListOf(ClientResource)
        from relays in Relays
        select (PortalMessage)new ClientInit(i, resources.Take(5).ToList(), relays),
        Interface.Select(i => (PortalMessage)new ConfigChanged(i)),
        ClientResource.Select(r => (PortalMessage)new ResourceCreatedOrUpdated(r)),
        Text.Where(t => t is not ("dns" or "cidr" or "internet")).Select(t => (PortalMessage)new UnknownResourceIgnored(t)),
        Uuid.Select(u => (PortalMessage)new ResourceDeleted(new ResourceId(u))),
        from id in Uuid
        from candidates in Candidates
        from invalidated in Gen.Elements(true, false)
        select (PortalMessage)new IceCandidatesFromGateway(new GatewayId(id), candidates, invalidated),
        Presence());

    /// <summary>The portal's OK replies to a client.</summary>
    public static readonly Gen<PortalMessage> ClientReply = Gen.OneOf(
        from r in Uuid
        from g in Uuid
        from ip in Ip
        from s in Uuid
        select (PortalMessage)new ConnectionDetails(new ResourceId(r), new GatewayId(g), ip, new SiteId(s)),
        from r in Uuid
        from key in Key
        from payload in GatewayResponse
        from keepalive in U64
        select (PortalMessage)new Connect(new ResourceId(r), key, payload, keepalive));

    /// <summary>What a client sends.</summary>
    public static readonly Gen<PortalMessage> FromClient = Gen.OneOf(
        from r in Uuid
        from gateways in Gen.ListOf(Uuid)
        select (PortalMessage)new PrepareConnection(new ResourceId(r), gateways.Take(5).Select(g => new GatewayId(g)).Order().ToList()),
        from g in Uuid
        from r in Uuid
        from psk in Key
        from ice in Credentials
        from domain in Resolve
        select (PortalMessage)new RequestConnection(new GatewayId(g), new ResourceId(r), psk, ice, domain),
        from r in Uuid
        from g in Uuid
        from domain in Resolve
        select (PortalMessage)new ReuseConnection(new ResourceId(r), new GatewayId(g), domain),
        from ids in Gen.ListOf(Uuid)
        from candidates in SortedCandidates
        from invalidated in Gen.Elements(true, false)
        select (PortalMessage)new IceCandidatesForGateways(ids.Take(3).Select(g => new GatewayId(g)).ToList(), candidates, invalidated));

    /// <summary>What the portal pushes to a gateway.</summary>
    public static readonly Gen<PortalMessage> GatewayPush = Gen.OneOf(
        from i in Interface
        from m4 in Gen.Elements(true, false)
        from m6 in Gen.Elements(true, false)
        from relays in Relays
        select (PortalMessage)new GatewayInit(i, m4, m6, relays),
        from @ref in Text
        from resource in GatewayResource
        from gatewayIce in Credentials
        from clientId in Uuid
        from clientKeys in Gen.Zip(Key, Key)
        from clientIps in Gen.Zip(IPv4, IPv6)
        let client = new FlowClient(new ClientId(clientId), clientKeys.Item1, clientKeys.Item2, clientIps.Item1, clientIps.Item2)
        from clientIce in Credentials
        from expires in OptionalTimestamp
        select (PortalMessage)new AuthorizeFlow(@ref, resource, gatewayIce, client, clientIce, expires),
        from @ref in Text
        from resource in GatewayResource
        from client in Uuid
        from ice in Credentials
        from domain in Resolve
        from keepalive in Optional(U64)
        from keys in Gen.Zip(Key, Key)
        from addresses in Gen.Zip(IPv4, IPv6)
        from expires in OptionalTimestamp
        select (PortalMessage)new GatewayRequestConnection(
            @ref, resource, new ClientId(client), ice, domain, new ClientPeer(keepalive, keys.Item1, keys.Item2, addresses.Item1, addresses.Item2), expires),
        from client in Uuid
        from resource in GatewayResource
        from expires in OptionalTimestamp
        from payload in Resolve
        from @ref in Text
        from addresses in Gen.Zip(IPv4, IPv6)
        select (PortalMessage)new AllowAccess(new ClientId(client), resource, expires, payload, @ref, addresses.Item1, addresses.Item2),
        Gen.Zip(Uuid, Uuid).Select(t => (PortalMessage)new RejectAccess(new ClientId(t.Item1), new ResourceId(t.Item2))),
        GatewayResource.Select(r => (PortalMessage)new ResourceUpdated(r)),
        from id in Uuid
        from candidates in Candidates
        from invalidated in Gen.Elements(true, false)
        select (PortalMessage)new IceCandidatesFromClient(new ClientId(id), candidates, invalidated),
        Presence());

    /// <summary>What a gateway sends.</summary>
    public static readonly Gen<PortalMessage> FromGateway = Gen.OneOf(
        Text.Select(r => (PortalMessage)new FlowAuthorized(r)),
        Gen.Zip(Text, GatewayResponse).Select(t => (PortalMessage)new ConnectionReady(t.Item1, t.Item2)),
        from ids in Gen.ListOf(Uuid)
        from candidates in SortedCandidates
        from invalidated in Gen.Elements(true, false)
        select (PortalMessage)new IceCandidatesForClients(ids.Take(3).Select(c => new ClientId(c)).ToList(), candidates, invalidated));

    public static Gen<T?> Optional<T>(Gen<T> gen)
        where T : class => Gen.OneOf(Gen.Constant<T?>(null), gen.Select(v => (T?)v));

    public static Gen<T?> Optional<T>(Gen<T> gen, bool valueType = true)
        where T : struct => Gen.OneOf(Gen.Constant<T?>(null), gen.Select(v => (T?)v));

    private static Gen<PortalMessage> Presence() =>
        from gone in Gen.ListOf(Uuid)
        from connected in Relays
        select (PortalMessage)new RelaysPresence(gone.Take(4).Select(g => new RelayId(g)).ToList(), connected);

    private static IPAddress Masked(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (int bit = length; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }
}
