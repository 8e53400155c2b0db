using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Client;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Testing;
using Firezone.Snownet;
using Firezone.Tun.Packets;
using ClientAdded = Firezone.Connlib.Client.AddedIceCandidates;
using ClientRemoved = Firezone.Connlib.Client.RemovedIceCandidates;
using GatewayAdded = Firezone.Connlib.Gateway.AddedIceCandidates;
using GatewayRemoved = Firezone.Connlib.Gateway.RemovedIceCandidates;

namespace Firezone.Testing;

/// <summary>
/// The whole tunnel on one simulated internet: a real <see cref="ClientState"/> and a real <see cref="GatewayState"/>
/// (each over its Snownet node), a real TURN relay (<see cref="SimRelay"/>), a stub portal that carries intents,
/// connection requests, access grants and ICE candidates with a delay, a DNS table the gateway's host resolves names
/// with, and resource hosts behind the gateway that answer ICMP echo and echo UDP back. Driven like the real drivers:
/// datagrams to <c>HandleNetworkInput</c>, packets to <c>HandleTunInput</c>, every poll drained, woken at
/// <c>PollTimeout</c>. Deterministic per seed.
/// </summary>
public sealed class TunnelWorld : IDisposable
{
    /// <summary>The wall clock at simulated time zero.</summary>
    public static readonly DateTimeOffset WallStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    /// <summary>The client's id at the gateways.</summary>
    public static readonly ClientId ClientIdentity = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));
    /// <summary>Gateway 0's id.</summary>
    public static readonly GatewayId GatewayIdentity = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    /// <summary>Gateway 0's site.</summary>
    public static readonly Site TheSite = new(new SiteId(Guid.Parse("00000000-0000-0000-0000-0000000000bb")), "site");
    /// <summary>The client's tunnel IPv4 address.</summary>
    public static readonly IPAddress TunnelV4 = IPAddress.Parse("100.64.0.1");
    /// <summary>The client's tunnel IPv6 address.</summary>
    public static readonly IPAddress TunnelV6 = IPAddress.Parse("fd00:2021:1111::1");
    /// <summary>The DNS server the portal configures first.</summary>
    public static readonly IPEndPoint UpstreamDns = new(IPAddress.Parse("198.18.53.53"), 53);
    private const int RelayActor = 0;
    private const int ClientActor = 100;
    private const int GatewayActor = 101;

    private readonly byte[] _clientBuffer = new byte[Node.BufferSize];
    private readonly byte[] _gatewayBuffer = new byte[Node.BufferSize];
    private readonly PriorityQueue<Action, (TimeSpan, long)> _portal = new();
    private readonly Dictionary<ResourceId, (SimGateway Gateway, GatewayResource Resource)> _gatewayResources = [];
    private long _sequence;

    /// <summary>A gateway of the world: its state, its site, its host addresses and what left its TUN device.</summary>
    public sealed class SimGateway(int index, GatewayId id, Site site, GatewayState state, IPEndPoint v4, IPEndPoint v6)
    {
        /// <summary>The gateway's position in <see cref="Gateways"/>.</summary>
        public int Index { get; } = index;

        /// <summary>The gateway's actor number on the simulated internet.</summary>
        public int Actor => GatewayActor + Index;

        /// <summary>The gateway's id.</summary>
        public GatewayId Id { get; } = id;

        /// <summary>The gateway's site (the portal routes its resources here).</summary>
        public Site Site { get; } = site;

        /// <summary>The gateway's state.</summary>
        public GatewayState State { get; } = state;

        /// <summary>The gateway's IPv4 socket.</summary>
        public IPEndPoint V4 { get; } = v4;

        /// <summary>The gateway's IPv6 socket.</summary>
        public IPEndPoint V6 { get; } = v6;

        /// <summary>Packets that left this gateway's TUN device towards resources.</summary>
        public List<byte[]> AtResources { get; } = [];
    }

    /// <summary>The site of gateway <paramref name="index"/> (gateway 0's is <see cref="TheSite"/>).</summary>
    public static Site SiteOf(int index) => index == 0 ? TheSite : new Site(new SiteId(new Guid(0xbb, (short)index, 0, new byte[8])), $"site {index}");

    /// <summary>The id of gateway <paramref name="index"/> (gateway 0's is <see cref="GatewayIdentity"/>).</summary>
    public static GatewayId GatewayIdOf(int index) => index == 0 ? GatewayIdentity : new GatewayId(new Guid(0xaa, (short)index, 0, new byte[8]));

    /// <summary>Every gateway, one per site.</summary>
    public List<SimGateway> Gateways { get; } = [];

    /// <summary>A client with the portal's first interface config and a relay, and <paramref name="gateways"/> gateways (one site each) on a simulated internet with <paramref name="loss"/>; the direct client↔gateway path is dropped when <paramref name="blockDirect"/>; the client answers <paramref name="knownHosts"/> itself. Deterministic per <paramref name="seed"/>.</summary>
    public TunnelWorld(int seed = 1, bool blockDirect = false, double loss = 0, int gateways = 1,
        IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? knownHosts = null)
    {
        Seed = seed;
        Log = new SimLog(() => Now);
        Net = new SimInternet(seed, loss, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(15));
        Relay = new SimRelay(Net, RelayActor, new RelayId(Guid.Parse("00000000-0000-0000-0000-000000000100")),
            IPAddress.Parse("198.18.100.1"), IPAddress.Parse("2001:2:0:100::1"), seed, Log.For("relay").CreateLogger("relay"));
        _relays.Add(Relay);
        var random = new Random(seed);
        var clientSeed = new byte[32];
        random.NextBytes(clientSeed);
        Client = new ClientState(clientSeed, Now, UtcNow, knownHosts, Log.For("client"));
        Net.AddHost(ClientActor, ClientV4, null);
        Net.AddHost(ClientActor, ClientV6, null);
        for (int k = 0; k < gateways; k++)
        {
            var gatewaySeed = new byte[32];
            random.NextBytes(gatewaySeed);
            var g = new SimGateway(k, GatewayIdOf(k), SiteOf(k), new GatewayState(gatewaySeed, Now, UtcNow, Log.For(k == 0 ? "gateway" : $"gateway{k}")),
                new IPEndPoint(IPAddress.Parse($"198.18.{11 + k}.2"), 50000), new IPEndPoint(IPAddress.Parse($"2001:2:0:{0x11 + k:x}::2"), 50000));
            Gateways.Add(g);
            Net.AddHost(g.Actor, g.V4, null);
            Net.AddHost(g.Actor, g.V6, null);
            g.State.UpdateRelays([], [Relay.Entry(UtcNow, $"salt-gateway{k}")], Now);
        }

        BlockDirect = blockDirect;
        BlockDirectPaths();

        Client.UpdateRelays([], [Relay.Entry(UtcNow, "salt-client")], Now);
        Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [UpstreamDns]));
        DrainAll();
    }

    /// <summary>The seed every random choice of the world derives from.</summary>
    public int Seed { get; }

    /// <summary>Client↔gateway datagrams are dropped (relayed only, upstream's <c>drop_direct_client_traffic</c>), also after roaming.</summary>
    public bool BlockDirect { get; }

    private void BlockDirectPaths()
    {
        if (BlockDirect)
        {
            foreach (var g in Gateways)
            {
                Net.Block(ClientV4.Address, g.V4.Address);
                Net.Block(ClientV6.Address, g.V6.Address);
            }
        }
    }

    /// <summary>Every component's log with simulated times (any error record is a failure in the tunnel tests).</summary>
    public SimLog Log { get; }

    /// <summary>The simulated internet.</summary>
    public SimInternet Net { get; }

    /// <summary>The relay the portal currently lists (replaced by <see cref="DeployNewRelay"/>).</summary>
    public SimRelay Relay { get; private set; }

    private readonly List<SimRelay> _relays = [];

    /// <summary>
    /// The relays are partitioned from the portal for a while (§9.4 PartitionRelaysFromPortal): the portal reports them
    /// gone (client and gateways drop them), the world runs <paramref name="partition"/>, then the portal lists the same
    /// relays again (same ids and credentials).
    /// </summary>
    public void PartitionRelaysFromPortal(TimeSpan partition) => Partition(partition, reboot: false);

    /// <summary>
    /// The relay reboots while it is partitioned from the portal (§9.4 RebootRelaysWhilePartitioned): it loses every
    /// allocation and its secret, and the portal then lists it again under the same id with new credentials (nothing is
    /// reported removed, so client and gateways must replace their allocations themselves).
    /// </summary>
    public void RebootRelayWhilePartitioned(TimeSpan partition) => Partition(partition, reboot: true);

    /// <summary>
    /// The relay reboots on new addresses while it is partitioned from the portal (§9.4 RebootRelaysWhilePartitioned
    /// "same ids, new addresses/credentials"): the old addresses go dark, a fresh relay with the <b>same id</b> comes up
    /// elsewhere, and the portal lists that id again with the new addresses (nothing reported removed).
    /// </summary>
    public void RebootRelayOnNewAddressesWhilePartitioned(TimeSpan partition)
    {
        var old = Relay;
        old.SetUp(false);
        int k = _relays.Count;
        Relay = new SimRelay(Net, k, old.Id, IPAddress.Parse($"198.18.{100 + k}.1"), IPAddress.Parse($"2001:2:0:{100 + k:x}::1"),
            Seed + k, Log.For("relay").CreateLogger("relay"));
        _relays.Add(Relay);
        Partition(partition, reboot: false, announceGone: false);
    }

    private void Partition(TimeSpan partition, bool reboot, bool announceGone = true)
    {
        var relay = Relay;
        if (reboot || !announceGone)
        {
            // Nothing is removed: the portal only lists the same relay id again, with the new secret's credentials.
            if (reboot)
            {
                relay.Reboot();
            }

            Run(partition);
        }
        else
        {
            Client.UpdateRelays([relay.Id], [], Now);
            foreach (var g in Gateways)
            {
                g.State.UpdateRelays([relay.Id], [], Now);
            }

            DrainAll();
            Run(partition);
        }

        Client.UpdateRelays([], [relay.Entry(UtcNow, $"salt-client-{_sequence++}")], Now);
        foreach (var g in Gateways)
        {
            g.State.UpdateRelays([], [relay.Entry(UtcNow, $"salt-gateway-{_sequence++}")], Now);
        }

        DrainAll();
    }

    /// <summary>
    /// The portal replaces the relay with a new one (new id and addresses; <c>relays_presence</c>): the old relay goes
    /// away, client and gateway drop it and allocate on the new one.
    /// </summary>
    public void DeployNewRelay()
    {
        var old = Relay;
        old.SetUp(false);
        int k = _relays.Count;
        Relay = new SimRelay(Net, k, new RelayId(new Guid(0x100 + k, 0, 0, new byte[8])),
            IPAddress.Parse($"198.18.{100 + k}.1"), IPAddress.Parse($"2001:2:0:{100 + k:x}::1"), Seed + k, Log.For("relay").CreateLogger("relay"));
        _relays.Add(Relay);
        Client.UpdateRelays([old.Id], [Relay.Entry(UtcNow, $"salt-client-{_sequence++}")], Now);
        Client.HandleTimeout(Now);
        foreach (var g in Gateways)
        {
            g.State.UpdateRelays([old.Id], [Relay.Entry(UtcNow, $"salt-gateway-{_sequence++}")], Now);
            g.State.HandleTimeout(Now, UtcNow);
        }

        DrainAll();
    }

    /// <summary>The client's state.</summary>
    public ClientState Client { get; }

    /// <summary>Gateway 0's state (the only one in most tests).</summary>
    public GatewayState Gateway => Gateways[0].State;

    /// <summary>The client's IPv4 socket (changes when it roams).</summary>
    public IPEndPoint ClientV4 { get; private set; } = new(IPAddress.Parse("198.18.10.2"), 50000);

    /// <summary>The client's IPv6 socket (changes when it roams).</summary>
    public IPEndPoint ClientV6 { get; private set; } = new(IPAddress.Parse("2001:2:0:10::2"), 50000);

    /// <summary>Gateway 0's IPv4 socket.</summary>
    public IPEndPoint GatewayV4 => Gateways[0].V4;

    /// <summary>Gateway 0's IPv6 socket.</summary>
    public IPEndPoint GatewayV6 => Gateways[0].V6;

    /// <summary>The simulated monotonic time.</summary>
    public TimeSpan Now => Clock.Now;

    /// <summary>The simulated wall clock.</summary>
    public DateTimeOffset UtcNow => Clock.UtcNow;

    /// <summary>The simulated clock (starts at 1 s, wall clock <see cref="WallStart"/> at zero); only the world's loop moves it.</summary>
    public SimClock Clock { get; } = new(WallStart + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    /// <summary>Signalling delay of the stub portal.</summary>
    public TimeSpan PortalDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Names the gateway's host resolves (DNS resources), lowercase.</summary>
    public Dictionary<string, IPAddress[]> DnsRecords { get; } = new(StringComparer.Ordinal);

    /// <summary>Packets written to the client's TUN device (from the tunnel, and DNS answers of the client itself).</summary>
    public List<byte[]> ClientTun { get; } = [];

    /// <summary>Packets that left any gateway's TUN device towards resources.</summary>
    public List<byte[]> AtResources { get; } = [];

    /// <summary>Every client event, in order.</summary>
    public List<ClientEvent> ClientEvents { get; } = [];

    /// <summary>Every gateway event, in order.</summary>
    public List<GatewayEvent> GatewayEvents { get; } = [];

    /// <summary>Errors of the gateway's packet paths.</summary>
    public List<GatewayPacketError> GatewayErrors { get; } = [];

    /// <summary>A resource host of its own (e.g. a TCP DNS server): given a packet from the gateway's TUN, the packets it answers; null → the default echo host.</summary>
    public Func<byte[], TimeSpan, IEnumerable<byte[]>?>? ResourceHost { get; set; }

    /// <summary>When false, resources do not answer (the packets are only recorded).</summary>
    public bool ResourcesAnswer { get; set; } = true;

    /// <summary>A resource as the client and its gateway (site) know it (the portal tells each its own view).</summary>
    public void AddResource(ClientResource client, GatewayResource gateway, int gatewayIndex = 0)
    {
        _gatewayResources[gateway.Id] = (Gateways[gatewayIndex], gateway);
        Client.AddResource(client, Now);
        DrainAll();
    }

    /// <summary>The host's resolver for queries the client hands out (<see cref="ClientState.PollDnsQuery"/>): the answer, or null for a timeout. Unset: the queries stay queued for the test.</summary>
    public Func<DnsQuery, byte[]?>? HostResolver { get; set; }

    /// <summary>The resources the portal has given the client, in order (for reconnects and roaming).</summary>
    public List<ClientResource> PortalResources { get; } = [];

    /// <summary>The client moves to new addresses (roaming): the old ones go stale, the client resets and the portal re-sends its state.</summary>
    public void Roam(IPEndPoint v4, IPEndPoint v6)
    {
        Net.RemoveHost(ClientV4);
        Net.RemoveHost(ClientV6);
        ClientV4 = v4;
        ClientV6 = v6;
        Net.AddHost(ClientActor, v4, null);
        Net.AddHost(ClientActor, v6, null);
        BlockDirectPaths();
        Client.Reset(Now);
        ReconnectPortal();
    }

    /// <summary>The DNS servers the portal configures (<c>config_changed</c>); the first interface config has <see cref="UpstreamDns"/>.</summary>
    public IReadOnlyList<IPEndPoint> PortalDnsServers { get; private set; } = [UpstreamDns];

    /// <summary>The portal changes the client's DNS servers (<c>config_changed</c>).</summary>
    public void SetPortalDnsServers(IReadOnlyList<IPEndPoint> servers)
    {
        PortalDnsServers = servers;
        Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, servers));
        DrainAll();
    }

    /// <summary>The portal connection comes back: <c>init</c> again (interface, resources, relays).</summary>
    public void ReconnectPortal()
    {
        Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, PortalDnsServers));
        Client.SetResources(PortalResources, Now);
        Client.UpdateRelays([], [Relay.Entry(UtcNow, $"salt-client-{_sequence++}")], Now);
        DrainAll();
    }

    /// <summary>The portal revokes the client's access at the gateway (<c>reject_access</c>).</summary>
    public void RejectAccess(ResourceId resource)
    {
        _gatewayResources[resource].Gateway.State.RemoveAccess(ClientIdentity, resource);
        DrainAll();
    }

    /// <summary>An application writes <paramref name="packet"/> to the client's TUN device.</summary>
    public EncapsulateResult SendFromClient(byte[] packet)
    {
        var result = Client.HandleTunInput(packet.ToArray(), _clientBuffer, Now);
        if (result.Status == EncapsulateStatus.Send)
        {
            Send(ClientActor, ClientV4, ClientV6, result.Source, result.Destination!, _clientBuffer.AsSpan(result.Offset, result.Length));
        }
        else
        {
            Client.HandleTimeout(Now);
        }

        DrainAll();
        return result;
    }

    /// <summary>Runs the world until <paramref name="done"/> holds or <paramref name="duration"/> of simulated time passed.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan duration)
    {
        var end = Now + duration;
        int stuck = 0;
        while (!done())
        {
            var next = NextEvent();
            if (next is null || next > end)
            {
                Clock.AdvanceTo(end);
                Wake();
                return done();
            }

            stuck = next.Value <= Now ? stuck + 1 : 0;
            if (stuck > 100_000)
            {
                throw new InvalidOperationException($"no progress at {Now}: something keeps asking to be woken now");
            }

            Clock.AdvanceTo(next.Value);
            Step();
        }

        return true;
    }

    /// <summary>Runs the world for <paramref name="duration"/> of simulated time.</summary>
    public void Run(TimeSpan duration) => RunUntil(() => false, duration);

    /// <summary>
    /// Sends <paramref name="packet"/> from the client every 250 ms until <paramref name="answered"/> holds for a packet
    /// on the client's TUN device (as an application retries), at most <paramref name="bound"/>; returns the first such packet.
    /// </summary>
    public byte[]? SendUntilAnswered(byte[] packet, Func<byte[], bool> answered, TimeSpan bound)
    {
        var end = Now + bound;
        int seen = ClientTun.Count;
        while (Now < end)
        {
            SendFromClient(packet);
            RunUntil(() => ClientTun.Skip(seen).Any(answered), TimeSpan.FromMilliseconds(250));
            var hit = ClientTun.Skip(seen).FirstOrDefault(answered);
            if (hit is not null)
            {
                return hit;
            }
        }

        return null;
    }

    private TimeSpan? NextEvent()
    {
        TimeSpan? next = Net.NextDelivery;
        next = Min(next, _portal.TryPeek(out _, out var p) ? p.Item1 : null);
        next = Min(next, Client.PollTimeout());
        foreach (var g in Gateways)
        {
            next = Min(next, g.State.PollTimeout());
        }
        foreach (var relay in _relays)
        {
            next = Min(next, relay.PollTimeout());
        }
        return next;
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private void Step()
    {
        while (Net.TryDeliver(Now, out var delivery))
        {
            switch (delivery.Actor)
            {
                case ClientActor:
                    ClientReceive(delivery);
                    break;
                case >= GatewayActor:
                    GatewayReceive(Gateways[delivery.Actor - GatewayActor], delivery);
                    break;
                default:
                    _relays[delivery.Actor].Receive(delivery, Now, UtcNow);
                    break;
            }
        }

        while (_portal.TryPeek(out var action, out var p) && p.Item1 <= Now)
        {
            _portal.Dequeue();
            action();
        }

        Wake();
    }

    private void Wake()
    {
        if (Client.PollTimeout() is { } c && c <= Now)
        {
            Client.HandleTimeout(Now);
        }

        foreach (var gw in Gateways)
        {
            if (gw.State.PollTimeout() is { } g && g <= Now)
            {
                gw.State.HandleTimeout(Now, UtcNow);
            }
        }

        foreach (var relay in _relays)
        {
            if (relay.PollTimeout() is { } r && r <= Now)
            {
                relay.HandleTimeout(Now);
            }
        }

        DrainAll();
    }

    private void ClientReceive(SimInternet.Delivery delivery)
    {
        var result = Client.HandleNetworkInput(delivery.Payload, delivery.From, delivery.Local, _clientBuffer, Now);
        if (result.Status == ClientPacketStatus.Packet)
        {
            ClientTun.Add(_clientBuffer.AsSpan(result.Offset, result.Length).ToArray());
        }
        else
        {
            Client.HandleTimeout(Now);
        }

        DrainAll();
    }

    private void GatewayReceive(SimGateway g, SimInternet.Delivery delivery)
    {
        var result = g.State.HandleNetworkInput(delivery.Payload, delivery.From, delivery.Local, _gatewayBuffer, Now);
        switch (result.Status)
        {
            case NetworkInputStatus.Packet:
                var packet = _gatewayBuffer.AsSpan(result.Offset, result.Length).ToArray();
                AtResources.Add(packet);
                g.AtResources.Add(packet);
                if (ResourcesAnswer && ResourceHost?.Invoke(packet, Now) is { } replies)
                {
                    foreach (var r in replies.ToList())
                    {
                        FromResource(r, g);
                    }
                }
                else if (ResourcesAnswer && Answer(packet) is { } reply)
                {
                    FromResource(reply, g);
                }

                break;
            case NetworkInputStatus.Error:
                GatewayErrors.Add(result.Error);
                g.State.HandleTimeout(Now, UtcNow);
                break;
            default:
                g.State.HandleTimeout(Now, UtcNow);
                break;
        }

        DrainAll();
    }

    /// <summary>A packet from a resource host into a gateway's TUN device (gateway 0 unless given).</summary>
    public void FromResource(byte[] packet, SimGateway? gateway = null)
    {
        var g = gateway ?? Gateways[0];
        var result = g.State.HandleTunInput(packet, _gatewayBuffer, Now);
        switch (result.Status)
        {
            case TunInputStatus.Send:
                Send(g.Actor, g.V4, g.V6, result.Source, result.Destination!, _gatewayBuffer.AsSpan(result.Offset, result.Length));
                break;
            case TunInputStatus.Error:
                GatewayErrors.Add(result.Error);
                break;
            default:
                g.State.HandleTimeout(Now, UtcNow);
                break;
        }
    }

    /// <summary>A resource host's answer: ICMP echo reply, or the UDP datagram echoed back; nothing for anything else.</summary>
    private static byte[]? Answer(byte[] packet)
    {
        if (IpPacket.TryParse(packet, out var ip) != IpParseError.None)
        {
            return null;
        }

        var reply = new byte[packet.Length + 40];
        if (ip.TryGetIcmp(out var icmp) && icmp.Type == (ip.IsIpv4 ? IcmpMessage.V4EchoRequest : IcmpMessage.V6EchoRequest))
        {
            int n = PacketBuilder.EchoReply(reply, ip.Destination, ip.Source, icmp.Identifier, icmp.Sequence, icmp.Body);
            return reply[..n];
        }

        if (ip.TryGetUdp(out var udp))
        {
            int n = PacketBuilder.Udp(reply, ip.Destination, ip.Source, udp.DestinationPort, udp.SourcePort, udp.Payload);
            return reply[..n];
        }

        if (ip.TryGetTcp(out var tcp))
        {
            int n = PacketBuilder.Tcp(reply, ip.Destination, ip.Source, tcp.DestinationPort, tcp.SourcePort, tcp.Payload);
            return reply[..n];
        }

        return null;
    }

    private void Send(int actor, IPEndPoint v4, IPEndPoint v6, IPEndPoint? source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        var socket = destination.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : v4;
        if (source is not null && !source.Address.Equals(socket.Address))
        {
            return;
        }

        Net.Send(actor, socket, destination, payload, Now);
    }

    private void ViaPortal(Action action) => _portal.Enqueue(action, (Now + PortalDelay, _sequence++));

    private void DrainAll()
    {
        for (int round = 0; round < 1000; round++)
        {
            bool progress = false;
            while (Client.PollTransmit() is { } t)
            {
                progress = true;
                Send(ClientActor, ClientV4, ClientV6, t.Source, t.Destination, t.Payload.Span);
            }

            foreach (var g in Gateways)
            {
                while (g.State.PollTransmit() is { } t)
                {
                    progress = true;
                    Send(g.Actor, g.V4, g.V6, t.Source, t.Destination, t.Payload.Span);
                }
            }

            while (Client.PollPacket() is { } p)
            {
                progress = true;
                ClientTun.Add(p.ToArray());
            }

            while (HostResolver is not null && Client.PollDnsQuery() is { } q)
            {
                progress = true;
                if (HostResolver(q) is { } answer)
                {
                    Client.HandleDnsResponse(q, answer);
                }
                else
                {
                    Client.HandleDnsFailure(q, DnsQueryFailure.Timeout);
                }
            }

            while (Client.PollEvent() is { } e)
            {
                progress = true;
                ClientEvents.Add(e);
                OnClientEvent(e);
            }

            foreach (var g in Gateways)
            {
                while (g.State.PollEvent() is { } e)
                {
                    progress = true;
                    GatewayEvents.Add(e);
                    OnGatewayEvent(g, e);
                }
            }

            if (!progress)
            {
                return;
            }
        }

        throw new InvalidOperationException("the tunnel keeps producing output (livelock)");
    }

    private DnsResourceNatEntry? NatEntry(ResolveRequest? domain) =>
        domain is null ? null : new DnsResourceNatEntry(domain, DnsRecords.GetValueOrDefault(domain.Name) ?? []);

    private void Grant(ResourceId resource, ResolveRequest? domain)
    {
        if (_gatewayResources.TryGetValue(resource, out var entry))
        {
            entry.Gateway.State.AllowAccess(ClientIdentity, TunnelV4, TunnelV6, null, entry.Resource, NatEntry(domain), Now);
        }
    }

    private SimGateway GatewayById(GatewayId id) => Gateways.First(g => g.Id == id);

    /// <summary>The stub portal's side of each client event (the portal picks the resource's site's gateway).</summary>
    private void OnClientEvent(ClientEvent e)
    {
        switch (e)
        {
            case ConnectionIntent intent:
                ViaPortal(() =>
                {
                    var g = _gatewayResources.TryGetValue(intent.Resource, out var entry) ? entry.Gateway : Gateways[0];
                    Client.OnRoutingDetails(intent.Resource, g.Id, g.Site.Id, Now);
                });
                break;
            case RequestConnection request:
                var clientKey = Client.PublicKey.ToArray();
                ViaPortal(() =>
                {
                    var g = GatewayById(request.Gateway);
                    var answer = g.State.Accept(ClientIdentity, request.Offer, clientKey, Now);
                    Grant(request.Resource, request.Domain);
                    var gatewayKey = g.State.PublicKey.ToArray();
                    g.State.HandleTimeout(Now, UtcNow);
                    ViaPortal(() => Client.AcceptAnswer(request.Resource, gatewayKey, answer, Now));
                });
                break;
            case RequestAccess access:
                ViaPortal(() => Grant(access.Resource, access.Domain));
                break;
            case ClientAdded added:
                ViaPortal(() => added.Candidates.ToList().ForEach(c => GatewayById(added.Gateway).State.AddIceCandidate(ClientIdentity, c, Now)));
                break;
            case ClientRemoved removed:
                ViaPortal(() => removed.Candidates.ToList().ForEach(c => GatewayById(removed.Gateway).State.RemoveIceCandidate(ClientIdentity, c, Now)));
                break;
        }
    }

    /// <summary>The portal's and the gateway host's side of each gateway event.</summary>
    private void OnGatewayEvent(SimGateway g, GatewayEvent e)
    {
        switch (e)
        {
            case GatewayAdded added:
                ViaPortal(() => added.Candidates.ToList().ForEach(c => Client.AddIceCandidate(g.Id, c, Now)));
                break;
            case GatewayRemoved removed:
                ViaPortal(() => removed.Candidates.ToList().ForEach(c => Client.RemoveIceCandidate(g.Id, c, Now)));
                break;
            case ResolveDns resolve:
                g.State.HandleDomainResolved(resolve, DnsRecords.GetValueOrDefault(resolve.Domain) ?? [], Now);
                break;
        }
    }

    /// <summary>Disposes the client's and every gateway's key material.</summary>
    public void Dispose()
    {
        Client.Dispose();
        foreach (var g in Gateways)
        {
            g.State.Dispose();
        }
    }
}
