using Firezone.Testing;
using System.Net;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Node.Simulation;

/// <summary>
/// A client node and a gateway node, one or two real relays (<see cref="TurnServer"/>), a stub portal that carries
/// offers, answers, credentials and candidates with a delay, all on a <see cref="SimInternet"/> and simulated time.
/// Deterministic per <see cref="NodeTopology.Seed"/>.
/// </summary>
public sealed class NodeSimulation
{
    public static readonly DateTimeOffset WallStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly ConnectionId GatewayId = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    public static readonly ConnectionId ClientId = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));
    private const int ClientActor = 100;
    private const int GatewayActor = 101;

    private readonly PriorityQueue<Action, (TimeSpan, long)> _portal = new();
    private long _sequence;
    private int _relaySalt;

    public NodeSimulation(NodeTopology topology)
    {
        Topology = topology;
        Log = new SimLog(() => Now);
        Net = new SimInternet(topology.Seed, topology.Loss, TimeSpan.FromMilliseconds(topology.MinDelayMs),
            TimeSpan.FromMilliseconds(Math.Max(topology.MinDelayMs, topology.MaxDelayMs)));
        int relayCount = topology.SeparateRelays ? 2 : 1;
        for (int i = 0; i < relayCount; i++)
        {
            Relays.Add(new SimRelay(Net, i, new RelayId(Guid.Parse($"00000000-0000-0000-0000-00000000010{i}")),
                IPAddress.Parse($"198.18.{100 + i}.1"), IPAddress.Parse($"2001:2:0:{100 + i}::1"), topology.Seed + i,
                Log.For($"relay{i}").CreateLogger("relay")));
        }

        Client = MakePeer(ClientActor, topology.Client, 0, client: true);
        Gateway = MakePeer(GatewayActor, topology.Gateway, 1, client: false);
        if (topology.BlockDirect)
        {
            BlockDirectPaths();
        }

        Client.OnEvent = (_, e, at) => Forward(e, Gateway, GatewayConnectionOf, at);
        Gateway.OnEvent = (_, e, at) => Forward(e, Client, ClientConnectionOf, at);
        GiveRelays(Client, topology.SeparateRelays ? [Relays[0]] : Relays);
        GiveRelays(Gateway, topology.SeparateRelays ? [Relays[1]] : Relays);
    }

    public NodeTopology Topology { get; }

    /// <summary>Every node's log (debug and above), with simulated times.</summary>
    public SimLog Log { get; }

    public SimInternet Net { get; }

    public List<SimRelay> Relays { get; } = new();

    public SimPeer Client { get; }

    public SimPeer Gateway { get; }

    public TimeSpan Now { get; private set; }

    public DateTimeOffset UtcNow => WallStart + Now;

    public ClientNode ClientNode => (ClientNode)Client.Node;

    public ServerNode GatewayNode => (ServerNode)Gateway.Node;

    private static ConnectionId GatewayConnectionOf(ConnectionId _) => ClientId;

    private static ConnectionId ClientConnectionOf(ConnectionId _) => GatewayId;

    private SimPeer MakePeer(int actor, NodePeerSpec spec, int index, bool client)
    {
        Span<byte> seed = stackalloc byte[32];
        new Random((Topology.Seed * 1000) + actor).NextBytes(seed);
        Firezone.Snownet.Node node = client ? new ClientNode(seed, Now, UtcNow, Log.For("client")) : new ServerNode(seed, Now, UtcNow, Log.For("gateway"));
        IPEndPoint? v4 = null, v6 = null;
        SimNat? nat = null;
        if (spec.IPv4)
        {
            if (spec.Nat == NatType.None)
            {
                v4 = new IPEndPoint(IPAddress.Parse($"198.18.{10 + index}.2"), 50000);
            }
            else
            {
                nat = Net.AddNat(spec.Nat, IPAddress.Parse($"198.18.{20 + index}.1"));
                v4 = new IPEndPoint(IPAddress.Parse($"198.19.{10 + index}.2"), 50000);
            }

            Net.AddHost(actor, v4, nat);
        }

        if (spec.IPv6)
        {
            v6 = new IPEndPoint(IPAddress.Parse($"2001:2:0:{10 + index}::2"), 50000);
            Net.AddHost(actor, v6, null);
        }

        return new SimPeer(Net, actor, node, v4, v6);
    }

    private void BlockDirectPaths()
    {
        foreach (var a in PublicIps(Client))
        {
            foreach (var b in PublicIps(Gateway))
            {
                Net.Block(a, b);
            }
        }
    }

    private IEnumerable<IPAddress> PublicIps(SimPeer peer)
    {
        var spec = ReferenceEquals(peer, Client) ? Topology.Client : Topology.Gateway;
        int index = ReferenceEquals(peer, Client) ? 0 : 1;
        if (peer.HostV4 is not null)
        {
            yield return spec.Nat == NatType.None ? peer.HostV4.Address : IPAddress.Parse($"198.18.{20 + index}.1");
        }

        if (peer.HostV6 is not null)
        {
            yield return peer.HostV6.Address;
        }
    }

    /// <summary>The portal gives a peer its relays (new credentials each time, as the portal mints them).</summary>
    public void GiveRelays(SimPeer peer, IEnumerable<SimRelay> relays, IEnumerable<RelayId>? remove = null)
    {
        var entries = relays.Select(r => r.Entry(UtcNow, $"salt{_relaySalt++:D6}")).ToList();
        peer.Node.UpdateRelays(remove ?? [], entries, Now);
        peer.HandleTimeout(Now);
    }

    /// <summary>Schedules a portal action after the signalling delay.</summary>
    public void ViaPortal(Action action) => _portal.Enqueue(action, (Now + TimeSpan.FromMilliseconds(Topology.SignalDelayMs), _sequence++));

    private void Forward(NodeEvent e, SimPeer to, Func<ConnectionId, ConnectionId> map, TimeSpan at)
    {
        switch (e)
        {
            case NewIceCandidate c:
                ViaPortal(() =>
                {
                    to.Node.AddRemoteCandidate(map(c.Connection), c.Candidate, Now);
                    to.HandleTimeout(Now);
                });
                break;
            case InvalidateIceCandidate c:
                ViaPortal(() =>
                {
                    to.Node.RemoveRemoteCandidate(map(c.Connection), c.Candidate, Now);
                    to.HandleTimeout(Now);
                });
                break;
        }
    }

    /// <summary>Opens the connection with the deprecated offer/answer flow through the portal.</summary>
    public void ConnectWithOffer()
    {
        var offer = ClientNode.NewConnection(GatewayId, Now, Now);
        Client.Drain(Now);
        var clientKey = Client.Node.PublicKey.ToArray();
        var gatewayKey = Gateway.Node.PublicKey.ToArray();
        ViaPortal(() =>
        {
            var answer = GatewayNode.AcceptConnection(ClientId, offer, clientKey, Now);
            Gateway.HandleTimeout(Now);
            ViaPortal(() =>
            {
                ClientNode.AcceptAnswer(GatewayId, gatewayKey, answer, Now);
                Client.HandleTimeout(Now);
            });
        });
    }

    /// <summary>Opens the connection with portal-supplied credentials on both sides (<c>upsert_connection</c>).</summary>
    public void ConnectWithCredentials()
    {
        var random = new Random(Topology.Seed * 13);
        var psk = new byte[32];
        random.NextBytes(psk);
        string Text(string alphabet, int length) => new(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
        var clientCredentials = new Credentials(Text("abcdefgh", 4), Text("abcdefghijkl", 22));
        var gatewayCredentials = new Credentials(Text("mnopqrst", 4), Text("mnopqrstuvwx", 22));
        var clientKey = Client.Node.PublicKey.ToArray();
        var gatewayKey = Gateway.Node.PublicKey.ToArray();
        // The portal hands both sides their flow at once (the client first: it asked for it), so neither side's
        // candidates reach the other before it knows the connection.
        ViaPortal(() =>
        {
            Client.Node.UpsertConnection(GatewayId, gatewayKey, psk, clientCredentials, gatewayCredentials, Now);
            Gateway.Node.UpsertConnection(ClientId, clientKey, psk, gatewayCredentials, clientCredentials, Now);
            Client.HandleTimeout(Now);
            Gateway.HandleTimeout(Now);
        });
    }

    public bool Established(SimPeer peer) => peer.Events.Any(e => e.Event is ConnectionEstablished);

    /// <summary>
    /// Runs until both sides report <see cref="ConnectionEstablished"/>. As a real client does (a connection exists
    /// because an application sent a packet), the client sends a packet every 500 ms meanwhile: before nomination they
    /// wait in the connecting buffer and trigger the handshake, and they keep the connection out of Idle (whose 30 s
    /// WireGuard ticks would slow handshake retransmissions). The gateway's session comes up with the first transport
    /// message from the client, which is also why the probes continue until the gateway is up.
    /// </summary>
    public bool RunUntilEstablished(TimeSpan bound)
    {
        var end = Now + bound;
        uint probe = 0x7000_0000;
        while (!(Established(Client) && Established(Gateway)) && !Failed(Client) && Now < end)
        {
            if (Client.Node.ConnectionCount > 0)
            {
                Client.SendPacket(GatewayId, SimPackets.Udp(probe++), Now);
            }

            RunUntil(() => Established(Client) && Established(Gateway), TimeSpan.FromMilliseconds(500));
        }

        return Established(Client) && Established(Gateway);
    }

    public bool Failed(SimPeer peer) => peer.Events.Any(e => e.Event is ConnectionFailed);

    public TimeSpan? EstablishedAt(SimPeer peer) => peer.Events.Where(e => e.Event is ConnectionEstablished).Select(e => (TimeSpan?)e.At).FirstOrDefault();

    /// <summary>Runs the world until <paramref name="done"/> holds or <paramref name="duration"/> of simulated time passed.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan duration)
    {
        var end = Now + duration;
        int stuck = 0;
        var last = Now;
        while (!done())
        {
            var next = NextEvent();
            if (next is null || next > end)
            {
                Now = end;
                return done();
            }

            Now = next.Value > Now ? next.Value : Now;
            stuck = Now == last ? stuck + 1 : 0;
            last = Now;
            if (stuck > 100_000)
            {
                throw new InvalidOperationException($"no progress at {Now}: something keeps asking to be woken now");
            }

            Step();
        }

        return true;
    }

    /// <summary>Runs for <paramref name="duration"/> of simulated time.</summary>
    public void Run(TimeSpan duration) => RunUntil(() => false, duration);

    private TimeSpan? NextEvent()
    {
        TimeSpan? next = Net.NextDelivery;
        next = Min(next, _portal.TryPeek(out _, out var p) ? p.Item1 : null);
        next = Min(next, Client.Node.PollTimeout());
        next = Min(next, Gateway.Node.PollTimeout());
        foreach (var relay in Relays)
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
                    Client.Receive(delivery, Now);
                    break;
                case GatewayActor:
                    Gateway.Receive(delivery, Now);
                    break;
                default:
                    Relays[delivery.Actor].Receive(delivery, Now, UtcNow);
                    break;
            }
        }

        while (_portal.TryPeek(out var action, out var p) && p.Item1 <= Now)
        {
            _portal.Dequeue();
            action();
        }

        foreach (var peer in new[] { Client, Gateway })
        {
            if (peer.Node.PollTimeout() is { } due && due <= Now)
            {
                peer.HandleTimeout(Now);
            }
        }

        foreach (var relay in Relays)
        {
            if (relay.PollTimeout() is { } due && due <= Now)
            {
                relay.HandleTimeout(Now);
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="count"/> packets each way (one every <paramref name="interval"/>) and runs until they arrived
    /// or <paramref name="timeout"/> passed. Returns the distinct sequence numbers each side received.
    /// </summary>
    public (HashSet<uint> AtGateway, HashSet<uint> AtClient) Exchange(int count, TimeSpan interval, TimeSpan timeout, uint firstSequence = 0)
    {
        for (uint i = 0; i < count; i++)
        {
            uint sequence = firstSequence + i;
            var at = Now + (interval * i);
            _portal.Enqueue(() =>
            {
                Client.SendPacket(GatewayId, SimPackets.Udp(sequence), Now);
                Gateway.SendPacket(ClientId, SimPackets.Udp(sequence, source: SimPackets.GatewayTunV4, destination: SimPackets.ClientTunV4), Now);
            }, (at, _sequence++));
        }

        HashSet<uint> Seen(SimPeer peer) => peer.Received.Select(r => SimPackets.SequenceOf(r.Packet)).Where(s => s >= firstSequence && s < firstSequence + count).ToHashSet();
        RunUntil(() => Seen(Gateway).Count == count && Seen(Client).Count == count, timeout + (interval * count));
        return (Seen(Gateway), Seen(Client));
    }
}
