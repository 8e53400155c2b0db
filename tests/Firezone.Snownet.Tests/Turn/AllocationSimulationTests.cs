using System.Net;
using System.Net.Sockets;
using System.Text;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// Our TURN client (<see cref="Allocation"/>) and our relay core (<see cref="TurnServer"/>) over a simulated network
/// with loss, duplication, reordering (random delays) and simulated time. The client must reach an allocation, a bound
/// channel, and data exchange in both directions with a UDP peer behind the relay.
/// </summary>
public class AllocationSimulationTests
{
    public sealed record Scenario(int Seed, int LossPercent, int DuplicatePercent, int MaxDelayMs, bool DualStack, bool PeerV6, bool V6Blackholed = false)
    {
        public override string ToString() =>
            $"seed={Seed} loss={LossPercent}% dup={DuplicatePercent}% delay<={MaxDelayMs}ms dual={DualStack} peerV6={PeerV6} v6blackholed={V6Blackholed}";
    }

    public static class Generators
    {
        public static Arbitrary<Scenario> Scenarios() =>
            (from seed in ArbMap.Default.GeneratorFor<int>()
             from loss in Gen.Choose(0, 25)
             from dup in Gen.Choose(0, 10)
             from delay in Gen.Choose(0, 150)
             from dual in ArbMap.Default.GeneratorFor<bool>()
             from peerV6 in ArbMap.Default.GeneratorFor<bool>()
             from blackhole in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
             select new Scenario(seed, loss, dup, delay, dual, dual && peerV6, dual && blackhole))
            .ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 100)]
    public Property Client_and_relay_reach_allocation_channel_and_data_exchange_over_a_lossy_network(Scenario scenario)
    {
        var outcome = new Simulation(scenario).Run(TimeSpan.FromMinutes(3));
        return (outcome.Failure is null).Label($"{scenario}: {outcome.Failure}\n{outcome.Trace}");
    }

    [Fact]
    public void Lossless_run_needs_no_retransmission_and_finishes_in_a_few_round_trips()
    {
        var outcome = new Simulation(new Scenario(1, 0, 0, 10, DualStack: true, PeerV6: false)).Run(TimeSpan.FromMinutes(1));
        Assert.Null(outcome.Failure);
        Assert.True(outcome.DoneAt < TimeSpan.FromSeconds(1), $"done after {outcome.DoneAt}");
    }

    [Fact]
    public void Simulation_reports_failure_when_the_network_drops_everything()
    {
        var outcome = new Simulation(new Scenario(3, 100, 0, 10, DualStack: false, PeerV6: false)).Run(TimeSpan.FromMinutes(1));
        Assert.NotNull(outcome.Failure);
        Assert.Contains("no data exchange", outcome.Failure);
    }

    [Fact]
    public void Heavy_loss_run_exercises_retransmissions_and_still_gets_through()
    {
        var outcome = new Simulation(new Scenario(11, 25, 10, 150, DualStack: true, PeerV6: true)).Run(TimeSpan.FromMinutes(3));
        Assert.Null(outcome.Failure);
        Assert.Contains("lost", outcome.Trace);
        Assert.Contains("event New Relayed [2001:db8::fe]", outcome.Trace);
        Assert.Contains("client got echo:", outcome.Trace);
    }

    [Fact]
    public void Client_recovers_after_the_relay_reboots_with_the_same_secret()
    {
        // The rebooted relay forgot the allocation, its channels and nonces. The client notices at its next Refresh
        // (438 for the unknown nonce, then 437), allocates again and re-binds the channel; data flows again.
        var simulation = new Simulation(new Scenario(7, 2, 0, 40, DualStack: false, PeerV6: false)) { KeepRunning = true, RebootAt = TimeSpan.FromSeconds(60) };
        var outcome = simulation.Run(TimeSpan.FromMinutes(12));
        Assert.Null(outcome.Failure);
        Assert.NotNull(simulation.FirstEchoAfterReboot);
        Assert.True(simulation.FirstEchoAfterReboot < TimeSpan.FromSeconds(320), $"first echo after reboot at {simulation.FirstEchoAfterReboot}");
        Assert.True(outcome.LastEchoAt > TimeSpan.FromMinutes(11), $"last echo at {outcome.LastEchoAt}");
    }

    [Fact]
    public void Dual_stack_client_with_broken_IPv6_allocates_over_IPv4()
    {
        var outcome = new Simulation(new Scenario(5, 0, 0, 20, DualStack: true, PeerV6: true, V6Blackholed: true)).Run(TimeSpan.FromMinutes(1));
        Assert.Null(outcome.Failure);
        Assert.Contains("blackholed", outcome.Trace);
    }

    [Fact]
    public void Long_run_keeps_the_allocation_and_channel_alive_across_refreshes()
    {
        // 25 minutes with light loss: several allocation refreshes (every 300 s) and channel re-binds (every 300 s while
        // data flows) must keep data flowing to the end.
        var outcome = new Simulation(new Scenario(42, 5, 2, 80, DualStack: false, PeerV6: false)) { KeepRunning = true }.Run(TimeSpan.FromMinutes(25));
        Assert.Null(outcome.Failure);
        Assert.True(outcome.LastEchoAt > TimeSpan.FromMinutes(24), $"last echo at {outcome.LastEchoAt}\n{outcome.Trace}");
    }

    internal sealed record Outcome(string? Failure, TimeSpan DoneAt, TimeSpan LastEchoAt, string Trace);

    private sealed class Simulation
    {
        private static readonly IPEndPoint RelayV4 = IPEndPoint.Parse("198.18.0.254:3478");
        private static readonly IPEndPoint RelayV6 = IPEndPoint.Parse("[2001:db8::fe]:3478");
        private static readonly IPEndPoint ClientV4 = IPEndPoint.Parse("198.18.0.1:50000");
        private static readonly IPEndPoint ClientV6 = IPEndPoint.Parse("[2001:db8::1]:50000");
        private const string Secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

        private readonly Scenario _scenario;
        private readonly Random _net;
        private readonly PriorityQueue<(IPEndPoint From, IPEndPoint To, byte[] Payload), (TimeSpan, long)> _wire = new();
        private readonly HashSet<(int Port, AddressFamily Family)> _openPorts = new();
        private readonly HashSet<string> _sentByClient = new();
        private readonly HashSet<string> _echoedByPeer = new();
        private readonly StringBuilder _trace = new();
        private readonly TurnServerOptions _serverOptions;
        private TurnServer _server;
        private bool _rebooted;
        private readonly Allocation _allocation;
        private readonly IPEndPoint _peer;
        private long _sequence;
        private int _messages;
        private TimeSpan _now = Start;

        public Simulation(Scenario scenario)
        {
            _scenario = scenario;
            _net = new Random(scenario.Seed);
            var serverRandom = new Random(unchecked(scenario.Seed * 31 + 7));
            _serverOptions = new TurnServerOptions
            {
                PublicIPv4 = RelayV4.Address,
                PublicIPv6 = scenario.DualStack ? RelayV6.Address : null,
                ListenPort = RelayV4.Port,
                LowestPort = 49152,
                HighestPort = 49200,
                AuthSecret = Secret,
                Random = span => serverRandom.NextBytes(span),
            };
            _server = new TurnServer(_serverOptions);
            var expiry = (ulong)Wall(Start + TimeSpan.FromDays(1)).ToUnixTimeSeconds();
            var username = FirezoneCredentials.MakeUsername(expiry, "88Ubc3a8Nb");
            var password = FirezoneCredentials.ComputePassword(Secret, expiry, "88Ubc3a8Nb");
            var relay = scenario.DualStack ? RelaySocket.Dual(RelayV4, RelayV6) : RelaySocket.FromV4(RelayV4);
            _allocation = new Allocation(relay, username, password, FirezoneCredentials.Realm, "snownet; session=SIM", _now, RandomSource.Seeded(scenario.Seed ^ 0x5a5a));
            _peer = scenario.PeerV6 ? IPEndPoint.Parse("[2001:db8:1::20]:6000") : IPEndPoint.Parse("198.18.1.20:6000");
        }

        /// <summary>Keep exchanging data until the end instead of stopping at the first echo.</summary>
        public bool KeepRunning { get; init; }

        /// <summary>When set, the relay restarts at this point (same secret, all allocations and nonces gone).</summary>
        public TimeSpan? RebootAt { get; init; }

        /// <summary>When the client got its first echo after the reboot.</summary>
        public TimeSpan? FirstEchoAfterReboot { get; private set; }

        public Outcome Run(TimeSpan budget)
        {
            var end = Start + budget;
            var nextApp = Start;
            var nextProbe = Start + TimeSpan.FromSeconds(10);
            TimeSpan? done = null;
            var lastEcho = TimeSpan.Zero;
            var steps = 0;
            try
            {
                while (_now <= end && steps++ < 200_000)
                {
                    if (RebootAt is { } reboot && !_rebooted && _now - Start >= reboot)
                    {
                        Log("relay reboots");
                        _rebooted = true;
                        _server = new TurnServer(_serverOptions);
                        _openPorts.Clear();
                    }

                    DrainAllocation();
                    DrainServer();
                    CheckInvariants();

                    if (_now >= nextApp)
                    {
                        // Application traffic towards the peer; without a usable channel, ask for one (as ICE would
                        // for the peer's candidate).
                        nextApp = _now + TimeSpan.FromMilliseconds(200);
                        var payload = Encoding.ASCII.GetBytes($"msg-{_messages++}");
                        if (_allocation.EncodeToPeer(_peer, payload, _now) is { } t)
                        {
                            _sentByClient.Add(Encoding.ASCII.GetString(payload));
                            Send(ClientFor(t.Destination), t.Destination, t.Payload.ToArray());
                        }
                        else
                        {
                            _allocation.BindChannel(_peer, _now);
                        }

                        continue;
                    }

                    if (_now >= nextProbe)
                    {
                        // The Node probes relays it keeps on every update_relays; that is what revives a suspended one.
                        nextProbe = _now + TimeSpan.FromSeconds(10);
                        if (_allocation.IsSuspended)
                        {
                            Log("probe: refresh of a suspended allocation");
                            _allocation.Refresh(_now);
                        }

                        continue;
                    }

                    if (_wire.TryPeek(out _, out var at) && at.Item1 <= _now)
                    {
                        var (from, to, bytes) = _wire.Dequeue();
                        if (Deliver(from, to, bytes))
                        {
                            done ??= _now - Start;
                            lastEcho = _now - Start;
                            if (_rebooted)
                            {
                                FirstEchoAfterReboot ??= lastEcho;
                            }

                            if (!KeepRunning)
                            {
                                return new Outcome(null, done.Value, lastEcho, _trace.ToString());
                            }
                        }

                        continue;
                    }

                    if (_allocation.PollTimeout() is { } a && a <= _now)
                    {
                        _allocation.HandleTimeout(_now);
                        continue;
                    }

                    if (_server.PollTimeout() is { } s && s <= _now)
                    {
                        _server.HandleTimeout(_now);
                        continue;
                    }

                    // Advance simulated time to the next thing that happens.
                    var next = Min(nextApp, nextProbe);
                    if (_wire.TryPeek(out _, out var w))
                    {
                        next = Min(next, w.Item1);
                    }

                    if (_allocation.PollTimeout() is { } at2)
                    {
                        next = Min(next, at2);
                    }

                    if (_server.PollTimeout() is { } st)
                    {
                        next = Min(next, st);
                    }

                    _now = next > _now ? next : _now;
                }
            }
            catch (Exception e)
            {
                return new Outcome($"threw {e}", TimeSpan.Zero, lastEcho, _trace.ToString());
            }

            return done is { } d
                ? new Outcome(null, d, lastEcho, _trace.ToString())
                : new Outcome($"no data exchange within {budget} (allocated={_allocation.HasAllocation}, active={_allocation.ActiveSocket}, in flight={_allocation.InFlightCount}, steps={steps})", TimeSpan.Zero, lastEcho, _trace.ToString());
        }

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a <= b ? a : b;

        private static IPEndPoint ClientFor(IPEndPoint relay) => relay.AddressFamily == AddressFamily.InterNetworkV6 ? ClientV6 : ClientV4;

        private IPEndPoint RelayedFor(AddressFamily family, int port) =>
            new(family == AddressFamily.InterNetworkV6 ? RelayV6.Address : RelayV4.Address, port);

        private void Log(string line)
        {
            if (_trace.Length < 20_000)
            {
                _trace.Append(CultureInfoInvariant($"{(_now - Start).TotalMilliseconds,9:F0} ms  {line}\n"));
            }
        }

        private static string CultureInfoInvariant(FormattableString s) => FormattableString.Invariant(s);

        private void Send(IPEndPoint from, IPEndPoint to, byte[] payload)
        {
            if (_scenario.V6Blackholed && (from.Equals(ClientV6) || to.Equals(ClientV6)))
            {
                Log($"blackholed {from} -> {to}");
                return;
            }

            var copies = 1;
            if (_net.Next(100) < _scenario.DuplicatePercent)
            {
                copies = 2;
            }

            for (var i = 0; i < copies; i++)
            {
                if (_net.Next(100) < _scenario.LossPercent)
                {
                    Log($"lost {from} -> {to} ({payload.Length} B)");
                    continue;
                }

                var delay = TimeSpan.FromMilliseconds(_net.Next(0, _scenario.MaxDelayMs + 1));
                _wire.Enqueue((from, to, payload), (_now + delay, _sequence++));
            }
        }

        private void DrainAllocation()
        {
            while (_allocation.PollTransmit() is { } t)
            {
                if (!_allocation.Matches(t.Destination))
                {
                    throw new InvalidOperationException($"allocation sent to {t.Destination}, which is not the relay");
                }

                Log($"client -> {t.Destination}: {Describe(t.Payload.Span)}");
                Send(ClientFor(t.Destination), t.Destination, t.Payload.ToArray());
            }

            while (_allocation.PollEvent() is { } e)
            {
                Log($"event {e.Kind} {e.Candidate}");
                if (e.Kind == AllocationEventKind.New && e.Candidate.Kind == AllocationCandidateKind.ServerReflexive)
                {
                    var expected = e.Candidate.Address.AddressFamily == AddressFamily.InterNetworkV6 ? ClientV6 : ClientV4;
                    if (!e.Candidate.Address.Equals(expected))
                    {
                        throw new InvalidOperationException($"srflx {e.Candidate.Address} but the client is {expected}");
                    }
                }
            }
        }

        private void DrainServer()
        {
            while (_server.TryPollCommand(out var command))
            {
                switch (command.Kind)
                {
                    case TurnServerCommandKind.SendMessage:
                        var from = command.Destination!.AddressFamily == AddressFamily.InterNetworkV6 ? RelayV6 : RelayV4;
                        Log($"relay -> {command.Destination}: {Describe(command.Payload!)}");
                        Send(from, command.Destination, command.Payload!);
                        break;
                    case TurnServerCommandKind.CreateAllocation:
                        _openPorts.Add((command.Port, command.Family));
                        break;
                    case TurnServerCommandKind.FreeAllocation:
                        _openPorts.Remove((command.Port, command.Family));
                        break;
                }
            }
        }

        private static string Describe(ReadOnlySpan<byte> payload) =>
            payload.Length > 0 && payload[0] >= 0x40
                ? $"ChannelData 0x{payload[0]:x2}{payload[1]:x2} ({payload.Length} B)"
                : payload.Length >= 20 ? $"STUN type 0x{payload[0]:x2}{payload[1]:x2} ({payload.Length} B)" : $"{payload.Length} B";

        /// <summary>Delivers one datagram; returns true when the client received an echo from the peer.</summary>
        private bool Deliver(IPEndPoint from, IPEndPoint to, byte[] bytes)
        {
            if (to.Equals(RelayV4) || to.Equals(RelayV6))
            {
                if (_server.HandleClientInput(bytes, from, _now, Wall(_now)) is { } toPeer)
                {
                    var relayed = RelayedFor(toPeer.Peer.AddressFamily, toPeer.AllocationPort);
                    if (!_openPorts.Contains((toPeer.AllocationPort, toPeer.Peer.AddressFamily)))
                    {
                        throw new InvalidOperationException($"relay forwards from {relayed}, a port it never opened");
                    }

                    Send(relayed, toPeer.Peer, bytes.AsSpan(toPeer.PayloadOffset, toPeer.PayloadLength).ToArray());
                }

                return false;
            }

            if (to.Equals(_peer))
            {
                // The peer echoes every message back to the relayed address it came from.
                var text = Encoding.ASCII.GetString(bytes);
                if (!_sentByClient.Contains(text))
                {
                    throw new InvalidOperationException($"peer received {text}, which the client never sent");
                }

                var echo = Encoding.ASCII.GetBytes("echo:" + text);
                _echoedByPeer.Add("echo:" + text);
                Log($"peer got {text} from {from}");
                Send(_peer, from, echo);
                return false;
            }

            if (to.Port != _peer.Port && to.Address.Equals(to.AddressFamily == AddressFamily.InterNetworkV6 ? RelayV6.Address : RelayV4.Address))
            {
                // Peer traffic arriving at an allocation port.
                if (!_openPorts.Contains((to.Port, to.AddressFamily)))
                {
                    return false;
                }

                if (_server.HandlePeerTraffic(bytes, from, to.Port, _now) is { } toClient)
                {
                    var frame = ChannelData.Encode(toClient.Channel, bytes);
                    var relay = toClient.Client.AddressFamily == AddressFamily.InterNetworkV6 ? RelayV6 : RelayV4;
                    Send(relay, toClient.Client, frame);
                }

                return false;
            }

            if (to.Equals(ClientV4) || to.Equals(ClientV6))
            {
                if (_allocation.HandleInput(bytes, from, to, _now))
                {
                    return false;
                }

                if (_allocation.TryDecapsulate(bytes, from, _now, out var peer, out var relayedAddress, out var range))
                {
                    var text = Encoding.ASCII.GetString(bytes.AsSpan(range));
                    if (!peer.Equals(_peer) || !_echoedByPeer.Contains(text))
                    {
                        throw new InvalidOperationException($"client decoded {text} from {peer}, which the peer never sent");
                    }

                    if (relayedAddress.AddressFamily != _peer.AddressFamily)
                    {
                        throw new InvalidOperationException($"relayed address {relayedAddress} has the wrong family for {peer}");
                    }

                    Log($"client got {text}");
                    return true;
                }
            }

            return false;
        }

        private void CheckInvariants()
        {
            if (_allocation.HasAllocation != (_allocation.RelayedV4 is not null || _allocation.RelayedV6 is not null))
            {
                throw new InvalidOperationException("HasAllocation disagrees with the relayed candidates");
            }

            if (_allocation.PollTimeout() is { } t && t < _now - TimeSpan.FromSeconds(1))
            {
                throw new InvalidOperationException($"allocation timeout {t} lies far in the past");
            }
        }
    }
}
