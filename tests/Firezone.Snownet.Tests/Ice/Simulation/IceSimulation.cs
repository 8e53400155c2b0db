using Firezone.Testing;
using System.Net;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;

namespace Firezone.Snownet.Tests.Ice.Simulation;

/// <summary>
/// Two <see cref="IceAgent"/>s (A and B) over a <see cref="SimNetwork"/>, driven exactly like a sans-IO driver:
/// drain transmits and events, sleep until the earliest of the agents' timeouts and the next delivery.
/// Candidates are signalled through their SDP string form.
/// </summary>
public sealed class IceSimulation
{
    /// <summary>The simulation's origin of monotonic time (the agents only ever see <see cref="TimeSpan"/>s).</summary>
    public static readonly TimeSpan Start = TimeSpan.Zero;
    private static readonly IPEndPoint StunServer = new(IPAddress.Parse("198.18.99.1"), 3478);

    private readonly SimNetwork _net;
    private readonly IceAgent[] _agents = new IceAgent[2];
    private readonly List<(TimeSpan At, IceEvent Event)>[] _events = [new(), new()];
    private readonly IceCredentials[] _creds = new IceCredentials[2];
    private readonly List<(TimeSpan At, int To, Candidate Candidate)> _pendingSignals = new();

    internal IceSimulation(Topology topology, IceRole roleA = IceRole.Controlling, IceRole roleB = IceRole.Controlled,
        ulong? tieBreakerA = null, ulong? tieBreakerB = null, bool signalCandidates = true, TimeSpan signalDelay = default)
    {
        SignalDelay = signalDelay;
        Topology = topology;
        _net = new SimNetwork(topology.Seed, topology.Loss, TimeSpan.FromMilliseconds(topology.MinDelayMs),
            TimeSpan.FromMilliseconds(Math.Max(topology.MinDelayMs, topology.MaxDelayMs)));
        Action<Span<byte>> credentialRandom = RandomSource.Seeded(topology.Seed);
        IceRole[] roles = [roleA, roleB];
        ulong?[] tieBreakers = [tieBreakerA, tieBreakerB];
        PeerSpec[] specs = [topology.A, topology.B];
        SimNat? sharedNat = topology.SameLan ? _net.AddNat(topology.A.Nat == NatType.None ? NatType.PortRestricted : topology.A.Nat, IPAddress.Parse("198.18.20.1")) : null;
        for (int i = 0; i < 2; i++)
        {
            _creds[i] = IceCredentials.Random(credentialRandom);
            _agents[i] = new IceAgent(roles[i], _creds[i], RandomSource.Seeded(topology.Seed * 7 + i), tieBreaker: tieBreakers[i]);
            SimNat? nat = sharedNat;
            IPEndPoint host;
            if (sharedNat is not null)
            {
                host = new IPEndPoint(IPAddress.Parse($"198.19.10.{2 + i}"), 50000);
            }
            else if (specs[i].Nat == NatType.None)
            {
                host = new IPEndPoint(IPAddress.Parse($"198.18.{10 + i}.2"), 50000);
            }
            else
            {
                nat = _net.AddNat(specs[i].Nat, IPAddress.Parse($"198.18.{20 + i}.1"));
                host = new IPEndPoint(IPAddress.Parse($"198.19.{10 + i}.2"), 50000);
            }

            _net.AddHost(i, host, nat);
            Host[i] = host;
            _agents[i].AddLocalCandidate(Candidate.Host(host));
            if (nat is not null && nat.Type != NatType.Blocked && nat.Outbound(host, StunServer, mutate: true) is { } srflx)
            {
                _agents[i].AddLocalCandidate(Candidate.ServerReflexive(srflx, host));
            }

            if (specs[i].HasRelay)
            {
                var relayed = new IPEndPoint(IPAddress.Parse($"198.18.{30 + i}.1"), 60000 + i);
                _net.AddRelayed(i, relayed);
                Relayed[i] = relayed;
                _agents[i].AddLocalCandidate(Candidate.Relayed(relayed));
            }
        }

        Now = Start;
        _agents[0].SetRemoteCredentials(_creds[1], Now);
        _agents[1].SetRemoteCredentials(_creds[0], Now);
        SignalCandidates = signalCandidates;
        Pump();
        _agents[0].HandleTimeout(Now);
        _agents[1].HandleTimeout(Now);
    }

    public Topology Topology { get; }

    public TimeSpan Now { get; private set; }

    public SimNetwork Network => _net;

    public IPEndPoint[] Host { get; } = new IPEndPoint[2];

    public IPEndPoint?[] Relayed { get; } = new IPEndPoint?[2];

    /// <summary>Datagrams each agent did not claim (HandleInput returned false).</summary>
    public long[] Unclaimed { get; } = new long[2];

    /// <summary>Delay of the signalling channel for trickled candidates (0: delivered at once).</summary>
    public TimeSpan SignalDelay { get; }

    /// <summary>Forward gathered candidates to the other agent (trickle signalling after <see cref="SignalDelay"/>).</summary>
    public bool SignalCandidates { get; set; }

    internal IceAgent A => _agents[0];

    internal IceAgent B => _agents[1];

    internal IceAgent Agent(int i) => _agents[i];

    internal IReadOnlyList<(TimeSpan At, IceEvent Event)> Events(int i) => _events[i];

    internal IceCredentials Credentials(int i) => _creds[i];

    /// <summary>First time agent <paramref name="i"/> reported <paramref name="state"/> (null: never).</summary>
    internal TimeSpan? FirstState(int i, IceConnectionState state)
    {
        foreach ((TimeSpan at, IceEvent e) in _events[i])
        {
            if (e is ConnectionStateChanged s && s.State == state)
            {
                return at;
            }
        }

        return null;
    }

    internal TimeSpan? FirstNomination(int i)
    {
        foreach ((TimeSpan at, IceEvent e) in _events[i])
        {
            if (e is PairNominated)
            {
                return at;
            }
        }

        return null;
    }

    /// <summary>Runs until <paramref name="until"/> (bounded in steps).</summary>
    public void RunUntil(TimeSpan until, int maxSteps = 2_000_000)
    {
        for (int step = 0; step < maxSteps; step++)
        {
            Pump();
            TimeSpan? next = Deadline.Min(Deadline.Min(_agents[0].PollTimeout(), _agents[1].PollTimeout()), _net.NextDelivery);
            foreach ((TimeSpan at, _, _) in _pendingSignals)
            {
                next = Deadline.Min(next, at);
            }

            if (next is null || next > until)
            {
                Now = until;
                return;
            }

            if (next > Now)
            {
                Now = next.Value;
            }

            for (int k = 0; k < _pendingSignals.Count; k++)
            {
                if (_pendingSignals[k].At <= Now)
                {
                    _agents[_pendingSignals[k].To].AddRemoteCandidate(_pendingSignals[k].Candidate);
                    _pendingSignals.RemoveAt(k--);
                }
            }

            while (_net.TryDeliver(Now, out SimNetwork.Delivery d))
            {
                // Only STUN travels here; an agent claims what is for it (stale transactions are not).
                if (!_agents[d.Peer].HandleInput(d.Payload, d.From, d.Local, Now))
                {
                    Unclaimed[d.Peer]++;
                }
            }

            for (int i = 0; i < 2; i++)
            {
                if (_agents[i].PollTimeout() is { } t && t <= Now)
                {
                    _agents[i].HandleTimeout(Now);
                }
            }
        }

        throw new InvalidOperationException("simulation step bound reached");
    }

    public void RunFor(TimeSpan duration) => RunUntil(Now + duration);

    /// <summary>Drains transmits into the network and events into the logs (and signals candidates).</summary>
    public void Pump()
    {
        bool more = true;
        while (more)
        {
            more = false;
            for (int i = 0; i < 2; i++)
            {
                while (_agents[i].PollTransmit() is { } t)
                {
                    // The payload is the agent's until its next PollTransmit: the network keeps a copy.
                    _net.Send(i, t.Source!, t.Destination, t.Payload.ToArray(), Now);
                }

                while (_agents[i].PollEvent() is { } e)
                {
                    _events[i].Add((Now, e));
                    if (e is CandidateGathered g && SignalCandidates)
                    {
                        Assert.True(Candidate.TryParse(g.Candidate.ToSdpString(), out Candidate parsed));
                        if (SignalDelay > TimeSpan.Zero)
                        {
                            _pendingSignals.Add((Now + SignalDelay, 1 - i, parsed));
                        }
                        else
                        {
                            _agents[1 - i].AddRemoteCandidate(parsed);
                            more = true;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// True when both agents selected the two ends of one path: A's datagram from its selected source to its
    /// selected destination arrives at B on B's selected local address from B's selected destination, and back.
    /// </summary>
    internal bool SelectedPairsMatch(out string why)
    {
        CandidatePair? a = A.SelectedPair, b = B.SelectedPair;
        if (a is null || b is null)
        {
            why = $"selected: A={a?.ToString() ?? "none"} B={b?.ToString() ?? "none"}";
            return false;
        }

        var ab = _net.Route(0, a.Local.Base, a.Remote.Address, mutate: false);
        var ba = _net.Route(1, b.Local.Base, b.Remote.Address, mutate: false);
        bool ok = ab is { } x && x.Peer == 1 && x.Local.Equals(b.Local.Base) && x.From.Equals(b.Remote.Address)
            && ba is { } y && y.Peer == 0 && y.Local.Equals(a.Local.Base) && y.From.Equals(a.Remote.Address);
        why = $"A: {a}; B: {b}; A->B arrives {ab?.ToString() ?? "nowhere"}; B->A arrives {ba?.ToString() ?? "nowhere"}";
        return ok;
    }

}
