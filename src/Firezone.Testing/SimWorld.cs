using System.Net;
using Firezone.Snownet;

namespace Firezone.Testing;

/// <summary>
/// A whole Snownet world on simulated time: a <see cref="SimClock"/>, a <see cref="SimInternet"/>, real TURN relays
/// (<see cref="SimRelay"/>), client and gateway nodes (<see cref="SimNodeHost"/>), and a stub signalling channel that
/// carries offers, answers and ICE candidates after <see cref="SignalDelay"/> (what the portal does for Snownet).
/// <see cref="RunUntil"/> advances the clock from event to event (next delivery, next signal, next node or relay
/// timeout), so nothing waits on real time. Everything random derives from the seed: a failing seed replays exactly.
/// </summary>
public sealed class SimWorld
{
    private readonly PriorityQueue<Action, (TimeSpan, long)> _signals = new();
    private readonly List<SimRelay> _relays = new();
    private readonly List<SimNodeHost> _hosts = new();
    private readonly int _seed;
    private long _sequence;
    private int _salt;

    /// <summary>A world whose internet loses <paramref name="loss"/> of all datagrams and delays each uniformly between the two bounds.</summary>
    /// <param name="seed">Seeds the internet, the relays and the nodes.</param>
    /// <param name="loss">Per-datagram loss probability (0–1).</param>
    /// <param name="minDelay">Smallest one-way delay.</param>
    /// <param name="maxDelay">Largest one-way delay.</param>
    public SimWorld(int seed, double loss, TimeSpan minDelay, TimeSpan maxDelay)
    {
        _seed = seed;
        Clock = new SimClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Net = new SimInternet(seed, loss, minDelay, maxDelay);
        Log = new SimLog(() => Clock.Now);
    }

    /// <summary>The simulated clock (monotonic and UTC time together).</summary>
    public SimClock Clock { get; }

    /// <summary>The current monotonic instant.</summary>
    public TimeSpan Now => Clock.Now;

    /// <summary>The simulated internet.</summary>
    public SimInternet Net { get; }

    /// <summary>Every node's and relay's log lines with simulated times.</summary>
    public SimLog Log { get; }

    /// <summary>Delay of the signalling channel (offer, answer, candidates); 50 ms unless set.</summary>
    public TimeSpan SignalDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The relays, in the order added.</summary>
    public IReadOnlyList<SimRelay> Relays => _relays;

    /// <summary>Adds a relay (a real <c>TurnServer</c>) listening on port 3478 of the given public addresses.</summary>
    public SimRelay AddRelay(IPAddress? v4, IPAddress? v6)
    {
        int actor = _relays.Count;
        var relay = new SimRelay(Net, actor, new RelayId(new Guid(actor + 1, 0, 0, new byte[8])), v4, v6, _seed + actor,
            Log.For($"relay{actor}").CreateLogger("relay"));
        _relays.Add(relay);
        return relay;
    }

    /// <summary>Adds a client node (ICE controlling) with the given sockets, behind <paramref name="nat"/> (IPv4 only) or public.</summary>
    public SimNodeHost AddClient(string name, IPEndPoint? v4, IPEndPoint? v6, SimNat? nat = null) => AddHost(name, v4, v6, nat, client: true);

    /// <summary>Adds a gateway node (<see cref="ServerNode"/>, ICE controlled) with the given sockets.</summary>
    public SimNodeHost AddGateway(string name, IPEndPoint? v4, IPEndPoint? v6, SimNat? nat = null) => AddHost(name, v4, v6, nat, client: false);

    /// <summary>Hands <paramref name="host"/> every relay with fresh credentials, as the portal does.</summary>
    public void GiveRelays(SimNodeHost host)
    {
        var entries = _relays.Select(r => r.Entry(Clock.UtcNow, $"salt{_salt++:D6}")).ToList();
        host.Node.UpdateRelays([], entries, Now);
        host.HandleTimeout(Now);
    }

    /// <summary>Runs <paramref name="action"/> after <see cref="SignalDelay"/> (a message through the portal).</summary>
    public void Signal(Action action) => _signals.Enqueue(action, (Now + SignalDelay, _sequence++));

    /// <summary>
    /// Opens a connection with the offer/answer flow through the signalling channel and forwards every ICE candidate
    /// (new and invalidated) between the two from now on. <paramref name="gatewayId"/> is the connection's id on the
    /// client, <paramref name="clientId"/> on the gateway.
    /// </summary>
    /// <exception cref="ArgumentException">The nodes are not a client and a gateway.</exception>
    public void Connect(SimNodeHost client, ConnectionId gatewayId, SimNodeHost gateway, ConnectionId clientId)
    {
        if (client.Node is not ClientNode clientNode || gateway.Node is not ServerNode serverNode)
        {
            throw new ArgumentException("connect a client node to a gateway node");
        }

        Forward(client, gateway, clientId);
        Forward(gateway, client, gatewayId);
        var offer = clientNode.NewConnection(gatewayId, Now, Now);
        client.Drain(Now);
        byte[] clientKey = client.Node.PublicKey.ToArray(), gatewayKey = gateway.Node.PublicKey.ToArray();
        Signal(() =>
        {
            var answer = serverNode.AcceptConnection(clientId, offer, clientKey, Now);
            gateway.HandleTimeout(Now);
            Signal(() =>
            {
                clientNode.AcceptAnswer(gatewayId, gatewayKey, answer, Now);
                client.HandleTimeout(Now);
            });
        });
    }

    /// <summary>
    /// Runs the world until <paramref name="done"/> holds (checked after every step) or <paramref name="duration"/> of
    /// simulated time passed; returns <paramref name="done"/>'s last value.
    /// </summary>
    /// <exception cref="InvalidOperationException">Something asks to be woken at the same instant 100,000 times in a row (a livelock).</exception>
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
                return done();
            }

            stuck = Clock.AdvanceTo(next.Value) ? 0 : stuck + 1;
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

    private SimNodeHost AddHost(string name, IPEndPoint? v4, IPEndPoint? v6, SimNat? nat, bool client)
    {
        int actor = 1000 + _hosts.Count;
        Span<byte> seed = stackalloc byte[32];
        new Random((_seed * 1000) + actor).NextBytes(seed);
        Node node = client ? new ClientNode(seed, Now, Clock.UtcNow, Log.For(name)) : new ServerNode(seed, Now, Clock.UtcNow, Log.For(name));
        if (v4 is not null)
        {
            Net.AddHost(actor, v4, nat);
        }

        if (v6 is not null)
        {
            Net.AddHost(actor, v6, null);
        }

        var host = new SimNodeHost(Net, actor, name, node, v4, v6);
        _hosts.Add(host);
        return host;
    }

    private void Forward(SimNodeHost from, SimNodeHost to, ConnectionId onReceiver)
    {
        var previous = from.OnEvent;
        from.OnEvent = (e, at) =>
        {
            previous?.Invoke(e, at);
            switch (e)
            {
                case NewIceCandidate c:
                    Signal(() =>
                    {
                        to.Node.AddRemoteCandidate(onReceiver, c.Candidate, Now);
                        to.HandleTimeout(Now);
                    });
                    break;
                case InvalidateIceCandidate c:
                    Signal(() =>
                    {
                        to.Node.RemoveRemoteCandidate(onReceiver, c.Candidate, Now);
                        to.HandleTimeout(Now);
                    });
                    break;
            }
        };
    }

    private TimeSpan? NextEvent()
    {
        TimeSpan? next = Net.NextDelivery;
        next = Min(next, _signals.TryPeek(out _, out var p) ? p.Item1 : null);
        foreach (var host in _hosts)
        {
            next = Min(next, host.Node.PollTimeout());
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
            if (delivery.Actor < _relays.Count)
            {
                _relays[delivery.Actor].Receive(delivery, Now, Clock.UtcNow);
            }
            else
            {
                _hosts[delivery.Actor - 1000].Receive(delivery, Now);
            }
        }

        while (_signals.TryPeek(out var action, out var p) && p.Item1 <= Now)
        {
            _signals.Dequeue();
            action();
        }

        foreach (var host in _hosts)
        {
            if (host.Node.PollTimeout() is { } due && due <= Now)
            {
                host.HandleTimeout(Now);
            }
        }

        foreach (var relay in _relays)
        {
            if (relay.PollTimeout() is { } due && due <= Now)
            {
                relay.HandleTimeout(Now);
            }
        }
    }
}
