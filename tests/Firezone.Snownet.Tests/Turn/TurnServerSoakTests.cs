using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// Soak property: random interleavings of Allocate / Refresh / ChannelBind / CreatePermission / ChannelData / peer data /
/// Send indications / nonce floods / time over simulated hours, from five clients (two of them hostile, naming many
/// peers), on a small relay whose every cap is reachable and with some ports taken by "another process". A reference
/// model predicts every response, relay decision, socket and deadline. After every step each table is within its bound
/// and equal to the model; <see cref="TurnServer.PollTimeout"/> is exactly the model's earliest deadline of any kind, so
/// nothing is alive past its deadline after <c>HandleTimeout(deadline)</c> and nothing is removed before it. When time
/// runs past every lifetime, every table (forwarder and heap included) is empty. The host's wall clock jumps now and
/// then (two hours either way, a day ahead): the model ignores it, since only username expiry reads it and every
/// username here is valid for months.
/// </summary>
public class TurnServerSoakTests
{
    private const int Low = 50000;
    private const int Ports = 6;
    private const int PerAllocation = 4;
    private const int TotalPermissions = 6;
    private const int MaxChannels = 3;
    private const int MaxNonces = 8;
    private const int Clients = 5;

    private static readonly IPEndPoint[] ClientAddresses = Enumerable.Range(0, Clients).Select(i => new IPEndPoint(IPAddress.Parse("198.51.100." + (i + 1)), 1000 + i)).ToArray();
    private static readonly IPAddress[] PeerIps = Enumerable.Range(0, 8).Select(i => IPAddress.Parse("192.0.2." + (i + 1))).ToArray();
    private static readonly IPEndPoint[] ChannelPeers = [new(PeerIps[0], 3000), new(PeerIps[0], 3001), new(PeerIps[1], 3000), new(PeerIps[2], 3000)];
    private static readonly IPEndPoint[] DataPeers = [.. ChannelPeers, .. PeerIps.Select(ip => new IPEndPoint(ip, 4000))];
    private static readonly IPEndPoint Ipv6Peer = new(IPAddress.Parse("2001:db8::99"), 5);
    private static readonly ushort[] Numbers = [0x4000, 0x4001, 0x4002, 0x4FFF];
    private static readonly uint?[] AllocateLifetimes = [0, 120, 600, 1200, 3600, 10_000, null];
    private static readonly uint?[] RefreshLifetimes = [0, 300, 600, 3600, null];
    private static readonly int[] TimeSteps = [0, 1, 10, 59, 60, 61, 120, 299, 300, 301, 599, 600, 601, 900, 1800, 3600];
    private static readonly long Second = TimeSpan.TicksPerSecond;

    private sealed class ModelChannel(int peer, long expiry)
    {
        public int Peer { get; } = peer;

        public long Expiry { get; set; } = expiry;

        public bool Bound { get; set; } = true;

        public long Deadline => Bound ? Expiry : Expiry + (300 * Second);
    }

    private sealed class ModelAllocation(int port, long expiry)
    {
        public int Port { get; } = port;

        public long Expiry { get; set; } = expiry;

        public Dictionary<ushort, ModelChannel> Channels { get; } = new();

        public Dictionary<IPAddress, long> Permissions { get; } = new();
    }

    private sealed class ModelNonce(string text, long due)
    {
        public string Text { get; } = text;

        public long Due { get; } = due;

        public int Uses { get; set; }
    }

    /// <summary>The relay under test, its host (sockets, taken ports) and the reference model.</summary>
    private sealed class Harness
    {
        private readonly string[] _usernames = new string[Clients];
        private readonly byte[][] _keys = new byte[Clients][];
        private readonly string?[] _nonce = new string?[Clients];
        private readonly HashSet<int> _taken;
        private readonly HashSet<int> _open = new();
        private readonly ModelAllocation?[] _allocations = new ModelAllocation?[Clients];
        private readonly Dictionary<int, long> _busy = new();
        private readonly List<ModelNonce> _nonces = new();
        private long _relayed;
        private int _flood;
        private TimeSpan _wallClockError;

        public Harness(int seed, HashSet<int> taken)
        {
            var random = new Random(seed);
            _taken = taken;
            Server = new TurnServer(new TurnServerOptions
            {
                PublicIPv4 = IPAddress.Parse("203.0.113.5"),
                LowestPort = Low,
                HighestPort = Low + Ports - 1,
                Random = span => random.NextBytes(span),
                MaxPermissionsPerAllocation = PerAllocation,
                MaxPermissions = TotalPermissions,
                MaxChannels = MaxChannels,
                MaxNonces = MaxNonces,
            });
            for (int i = 0; i < Clients; i++)
            {
                _usernames[i] = ValidUsername("soaksalt0" + i, Start + TimeSpan.FromDays(60));
                _keys[i] = Key(Server, _usernames[i]);
            }
        }

        public TurnServer Server { get; }

        public TimeSpan Now { get; private set; } = Start;

        private long T => Now.Ticks;

        /// <summary>The host's wall clock: honest, or off by the latest jump.</summary>
        private DateTimeOffset UtcNow => Wall(Now) + _wallClockError;

        /// <summary>The wall clock jumps (NTP step, resumed VM) while the monotonic clock moves on by one second.</summary>
        public void JumpWallClock(byte choice)
        {
            _wallClockError = (choice % 4) switch
            {
                0 => TimeSpan.FromHours(2),
                1 => TimeSpan.FromHours(-2),
                2 => TimeSpan.FromDays(1),
                _ => TimeSpan.Zero,
            };
            Advance(1);
        }

        private int AllocationsInModel => _allocations.Count(a => a is not null);

        // ---- host -------------------------------------------------------------------------------------------------

        /// <summary>One host event while draining: a socket created (or refused as taken), freed, or a datagram sent.</summary>
        private sealed record Event(TurnServerCommand Command, bool Taken);

        /// <summary>Drains the commands as a host that follows the contract: a taken port is reported before the next poll.</summary>
        private List<Event> Pump()
        {
            var events = new List<Event>();
            while (Server.TryPollCommand(out var command))
            {
                switch (command.Kind)
                {
                    case TurnServerCommandKind.CreateAllocation:
                        Assert.Equal(AddressFamily.InterNetwork, command.Family);
                        bool taken = _taken.Contains(command.Port);
                        if (taken)
                        {
                            Server.HandleAllocationFailed(command.Port, command.Family, portInUse: true, Now);
                        }
                        else
                        {
                            Assert.True(_open.Add(command.Port), $"socket {command.Port} opened twice");
                        }

                        events.Add(new Event(command, taken));
                        break;
                    case TurnServerCommandKind.FreeAllocation:
                        Assert.True(_open.Remove(command.Port), $"socket {command.Port} freed but not open");
                        events.Add(new Event(command, false));
                        break;
                    default:
                        events.Add(new Event(command, false));
                        break;
                }
            }

            return events;
        }

        // ---- nonces (model) ---------------------------------------------------------------------------------------

        private void ModelIssue(TurnServerCommand response)
        {
            string? text = Inspect(response).Nonce;
            Assert.NotNull(text);
            if (_nonces.Count >= MaxNonces)
            {
                _nonces.RemoveAt(0); // the earliest-expiring (time never goes back here)
            }

            _nonces.Add(new ModelNonce(text!, T + (3600 * Second)));
        }

        private bool ModelUse(string text)
        {
            var nonce = _nonces.Find(n => n.Text == text);
            if (nonce is null || nonce.Due <= T || nonce.Uses == NonceStore.UsesPerNonce)
            {
                _nonces.Remove(nonce!);
                return false;
            }

            nonce.Uses++;
            return true;
        }

        // ---- requests ---------------------------------------------------------------------------------------------

        /// <summary>
        /// Sends a request as a Firezone client would: without credentials until it holds a nonce (401), retrying once
        /// on 438 with the fresh nonce. Returns the final response and the other host events of that exchange.
        /// </summary>
        private (TurnServerCommand Response, List<Event> Events) Exchange(int c, StunMethod method, Attributes attributes, bool preAuth400 = false)
        {
            var address = ClientAddresses[c];
            if (_nonce[c] is null)
            {
                var id = TransactionId.NewRandom();
                Assert.Null(Server.HandleClientInput(Message(method, StunClass.Request, id, attributes), address, Now, UtcNow));
                var challenge = Assert.Single(Pump()).Command;
                if (preAuth400)
                {
                    AssertResponse(challenge, c, method, 400, signed: false);
                    return (challenge, []);
                }

                AssertResponse(challenge, c, method, 401, signed: false);
                ModelIssue(challenge);
                _nonce[c] = Inspect(challenge).Nonce;
            }

            for (int attempt = 0; ; attempt++)
            {
                var id = TransactionId.NewRandom();
                Assert.Null(Server.HandleClientInput(Message(method, StunClass.Request, id, attributes, _usernames[c], _nonce[c], _keys[c]), address, Now, UtcNow));
                var events = Pump();
                var sends = events.Where(e => e.Command.Kind == TurnServerCommandKind.SendMessage).ToList();
                var response = Assert.Single(sends).Command;
                Assert.True(StunMessage.TryParse(response.Payload, out var parsed, out _));
                Assert.Equal(id, parsed.TransactionId);
                if (preAuth400)
                {
                    AssertResponse(response, c, method, 400, signed: false);
                    return (response, events);
                }

                if (!ModelUse(_nonce[c]!))
                {
                    Assert.True(attempt == 0, "a fresh nonce was refused");
                    AssertResponse(response, c, method, 438, signed: true);
                    Assert.Single(events);
                    ModelIssue(response);
                    _nonce[c] = Inspect(response).Nonce;
                    continue;
                }

                return (response, events);
            }
        }

        private void AssertResponse(TurnServerCommand response, int c, StunMethod method, int error, bool signed = true)
        {
            Assert.Equal(ClientAddresses[c], response.Destination);
            var (cls, code, _) = Inspect(response);
            Assert.Equal(error == 0 ? StunClass.SuccessResponse : StunClass.ErrorResponse, cls);
            Assert.Equal(error == 0 ? null : error, code);
            Assert.Equal(error, response.ErrorCode);
            Assert.Equal(method.ToString().ToLowerInvariant(), response.MessageType);
            Assert.Equal(signed, HasIntegrity(response));
            if (signed)
            {
                Assert.True(IsSignedWith(response, _keys[c]));
            }
        }

        public void Allocate(int c, uint? lifetime)
        {
            var (response, events) = Exchange(c, StunMethod.Allocate, (ref StunMessageBuilder b) =>
            {
                b.AddRequestedTransport();
                if (lifetime is { } l)
                {
                    b.AddLifetime(l);
                }
            });
            var creates = events.Where(e => e.Command.Kind == TurnServerCommandKind.CreateAllocation).ToList();
            if (_allocations[c] is not null || AllocationsInModel >= Ports)
            {
                AssertResponse(response, c, StunMethod.Allocate, _allocations[c] is not null ? 437 : 508);
                Assert.Empty(creates);
                return;
            }

            // Each create is on a port free in the model; only when none is free, on the busy port marked longest ago
            // before this Allocate (lowest number on ties): for the first draw any busy port (an earlier Allocate may
            // have marked one at this very instant), for a retry one marked before this instant. A taken one becomes
            // busy and the next draw follows.
            Assert.NotEmpty(creates);
            foreach (var (create, i) in creates.Select((e, i) => (e, i)))
            {
                int port = create.Command.Port;
                Assert.InRange(port, Low, Low + Ports - 1);
                Assert.DoesNotContain(_allocations, a => a?.Port == port);
                var free = Enumerable.Range(Low, Ports).Where(p => !_busy.ContainsKey(p) && !_allocations.Any(a => a?.Port == p)).ToList();
                if (free.Count > 0)
                {
                    Assert.Contains(port, free);
                }
                else
                {
                    var retry = _busy.Where(b => i == 0 || b.Value < T + (60 * Second)).OrderBy(b => b.Value).ThenBy(b => b.Key).First();
                    Assert.Equal(retry.Key, port);
                }

                Assert.Equal(i < creates.Count - 1 || _taken.Contains(port), create.Taken);
                if (create.Taken)
                {
                    _busy[port] = T + (60 * Second);
                }
            }

            var last = creates[^1];
            if (last.Taken)
            {
                // Gave up: no free port and no busy port marked before this Allocate (the range is far below 16 attempts).
                Assert.DoesNotContain(Enumerable.Range(Low, Ports), p => !_busy.ContainsKey(p) && !_allocations.Any(a => a?.Port == p));
                Assert.DoesNotContain(_busy, b => b.Value < T + (60 * Second));
                AssertResponse(response, c, StunMethod.Allocate, 508);
                return;
            }

            AssertResponse(response, c, StunMethod.Allocate, 0);
            Assert.Equal(last.Command.Port, RelayTestClient.RelayedPort(response));
            uint effective = Math.Min(lifetime ?? 600, 3600);
            Assert.True(StunMessage.TryParse(response.Payload, out var parsed, out _) && parsed.TryGetLifetime(out uint seconds) && seconds == effective);
            _allocations[c] = new ModelAllocation(last.Command.Port, T + (effective * Second));
        }

        public void Refresh(int c, uint? lifetime)
        {
            var (response, events) = Exchange(c, StunMethod.Refresh, (ref StunMessageBuilder b) =>
            {
                if (lifetime is { } l)
                {
                    b.AddLifetime(l);
                }
            });
            var allocation = _allocations[c];
            if (allocation is null)
            {
                AssertResponse(response, c, StunMethod.Refresh, 437);
                return;
            }

            AssertResponse(response, c, StunMethod.Refresh, 0);
            uint effective = Math.Min(lifetime ?? 600, 3600);
            if (effective == 0)
            {
                Assert.Equal(TurnServerCommandKind.FreeAllocation, events[0].Command.Kind);
                Assert.Equal(allocation.Port, events[0].Command.Port);
                _allocations[c] = null;
            }
            else
            {
                allocation.Expiry = T + (effective * Second);
            }
        }

        public void ChannelBind(int c, ushort number, int peer)
        {
            var (response, _) = Exchange(c, StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
            {
                b.AddChannelNumber(number);
                b.AddXorPeerAddress(ChannelPeers[peer]);
            });
            var allocation = _allocations[c];
            if (allocation is null)
            {
                AssertResponse(response, c, StunMethod.ChannelBind, 437);
                return;
            }

            bool peerTaken = allocation.Channels.Any(kv => kv.Value.Peer == peer && kv.Key != number);
            bool numberTaken = allocation.Channels.TryGetValue(number, out var existing) && existing.Peer != peer;
            if (peerTaken || numberTaken)
            {
                AssertResponse(response, c, StunMethod.ChannelBind, 400);
            }
            else if (existing is null && ChannelsInModel >= MaxChannels)
            {
                AssertResponse(response, c, StunMethod.ChannelBind, 508);
            }
            else
            {
                AssertResponse(response, c, StunMethod.ChannelBind, 0);
                if (existing is null)
                {
                    allocation.Channels[number] = new ModelChannel(peer, T + (600 * Second));
                }
                else
                {
                    existing.Expiry = T + (600 * Second);
                    existing.Bound = true;
                }
            }
        }

        public void CreatePermission(int c, IPEndPoint[] peers)
        {
            var (response, _) = Exchange(c, StunMethod.CreatePermission, (ref StunMessageBuilder b) =>
            {
                foreach (var peer in peers)
                {
                    b.AddXorPeerAddress(peer);
                }
            }, preAuth400: peers.Length == 0);
            if (peers.Length == 0)
            {
                return;
            }

            var allocation = _allocations[c];
            if (allocation is null)
            {
                AssertResponse(response, c, StunMethod.CreatePermission, 0); // upstream's no-op
                return;
            }

            if (peers.Any(p => p.AddressFamily == AddressFamily.InterNetworkV6))
            {
                AssertResponse(response, c, StunMethod.CreatePermission, 443);
                return;
            }

            var ips = peers.Select(p => p.Address).Distinct().ToList();
            int added = ips.Count(ip => !allocation.Permissions.ContainsKey(ip));
            if (allocation.Permissions.Count + added > PerAllocation || PermissionsInModel + added > TotalPermissions)
            {
                AssertResponse(response, c, StunMethod.CreatePermission, 508);
                return;
            }

            AssertResponse(response, c, StunMethod.CreatePermission, 0);
            ips.ForEach(ip => allocation.Permissions[ip] = T + (300 * Second));
        }

        // ---- data -------------------------------------------------------------------------------------------------

        /// <summary>Half of the time a channel number the client has (so that hits are common), otherwise any.</summary>
        public ushort PickNumber(int c, byte choice) =>
            choice % 2 == 0 && _allocations[c] is { Channels.Count: > 0 } a ? a.Channels.Keys.ElementAt(choice / 2 % a.Channels.Count) : Numbers[choice % Numbers.Length];

        /// <summary>Half of the time the port and a peer of a live allocation's channel or permission, otherwise any.</summary>
        public (int Port, int Peer) PickPeerSource(byte a, byte b)
        {
            var live = _allocations.OfType<ModelAllocation>().ToList();
            if (a % 2 == 0 && live.Count > 0)
            {
                var allocation = live[a / 2 % live.Count];
                var candidates = allocation.Channels.Values.Select(ch => ch.Peer)
                    .Concat(allocation.Permissions.Keys.Select(ip => ChannelPeers.Length + Array.IndexOf(PeerIps, ip)))
                    .ToList();
                return (allocation.Port, candidates.Count > 0 ? candidates[b % candidates.Count] : b % DataPeers.Length);
            }

            return (Low + (a % Ports), b % DataPeers.Length);
        }

        /// <summary>Half of the time a peer the client has a permission for, otherwise any.</summary>
        public int PickSendPeer(int c, byte choice) =>
            choice % 2 == 0 && _allocations[c] is { Permissions.Count: > 0 } a
                ? ChannelPeers.Length + Array.IndexOf(PeerIps, a.Permissions.Keys.ElementAt(choice / 2 % a.Permissions.Count))
                : choice % DataPeers.Length;

        public void ChannelData(int c, ushort number, int length)
        {
            var frame = Firezone.Snownet.Turn.ChannelData.Encode(number, new byte[length]);
            var relay = Server.HandleClientInput(frame, ClientAddresses[c], Now, UtcNow);
            var allocation = _allocations[c];
            ModelChannel? channel = null;
            bool expected = allocation is not null && allocation.Channels.TryGetValue(number, out channel) && channel.Bound;
            Assert.Equal(expected, relay is not null);
            Assert.Equal(expected, Server.Forwarder.TryRelayToPeer(frame, ClientAddresses[c].Serialize(), out var direct));
            if (relay is { } r)
            {
                Assert.Equal(ChannelPeers[channel!.Peer], r.Peer);
                Assert.Equal(allocation!.Port, r.AllocationPort);
                Assert.Equal(length, r.PayloadLength);
                Assert.Equal(r, direct);
                _relayed += length;
            }

            Assert.Empty(Pump());
        }

        public void PeerData(int port, int peer, int length)
        {
            var from = DataPeers[peer];
            var relay = Server.HandlePeerTraffic(new byte[length], from, port, Now);
            int owner = Array.FindIndex(_allocations, a => a?.Port == port);
            var allocation = owner >= 0 ? _allocations[owner] : null;
            var channel = allocation?.Channels.FirstOrDefault(kv => kv.Value.Bound && ChannelPeers[kv.Value.Peer].Equals(from));
            var events = Pump();
            if (channel is { Value: not null } bound)
            {
                Assert.NotNull(relay);
                Assert.Equal(ClientAddresses[owner], relay.Value.Client);
                Assert.Equal(bound.Key, relay.Value.Channel);
                Assert.Empty(events);
                _relayed += length;
            }
            else if (allocation is not null && allocation.Permissions.TryGetValue(from.Address, out long due) && due > T)
            {
                Assert.Null(relay);
                var data = Assert.Single(events).Command;
                Assert.Equal(ClientAddresses[owner], data.Destination);
                Assert.Equal((null, 0), (data.MessageType, data.ErrorCode));
                Assert.True(StunMessage.TryParse(data.Payload, out var indication, out _));
                Assert.Equal((StunMethod.Data, StunClass.Indication), (indication.Method, indication.Class));
                Assert.True(indication.TryGetXorPeerAddress(out var sender) && sender.Equals(from));
                Assert.True(indication.TryGetData(out var payload) && payload.Length == length);
                _relayed += length;
            }
            else
            {
                Assert.Null(relay);
                Assert.Empty(events);
            }
        }

        public void SendIndication(int c, int peer, int length)
        {
            var to = DataPeers[peer];
            var relay = Server.HandleClientInput(RelayTestClient.SendIndication(to, new byte[length]), ClientAddresses[c], Now, UtcNow);
            var allocation = _allocations[c];
            bool expected = allocation is not null && allocation.Permissions.TryGetValue(to.Address, out long due) && due > T;
            Assert.Equal(expected, relay is not null);
            if (relay is { } r)
            {
                Assert.Equal((allocation!.Port, to, length), (r.AllocationPort, r.Peer, r.PayloadLength));
                _relayed += length;
            }

            Assert.Empty(Pump());
        }

        /// <summary>A stranger's unauthenticated request: each one issues a nonce (and may evict a client's).</summary>
        public void NonceFlood()
        {
            var stranger = new IPEndPoint(IPAddress.Parse("203.0.113.200"), 20000 + (_flood++ % 1000));
            Assert.Null(Server.HandleClientInput(Message(StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom(), (ref StunMessageBuilder _) => { }), stranger, Now, UtcNow));
            var challenge = Assert.Single(Pump()).Command;
            Assert.Equal(401, Inspect(challenge).Error);
            ModelIssue(challenge);
        }

        // ---- time -------------------------------------------------------------------------------------------------

        private long? ModelEarliest()
        {
            long? earliest = null;
            void Min(long t) => earliest = earliest is null || t < earliest ? t : earliest;
            foreach (var a in _allocations.OfType<ModelAllocation>())
            {
                Min(a.Expiry);
                a.Channels.Values.ToList().ForEach(ch => Min(ch.Deadline));
                a.Permissions.Values.ToList().ForEach(Min);
            }

            _nonces.ForEach(n => Min(n.Due));
            _busy.Values.ToList().ForEach(Min);
            return earliest;
        }

        private void ModelExpire(long now)
        {
            var freed = new List<int>();
            for (int c = 0; c < Clients; c++)
            {
                if (_allocations[c] is { } a && a.Expiry <= now)
                {
                    freed.Add(a.Port);
                    _allocations[c] = null;
                }
            }

            foreach (var a in _allocations.OfType<ModelAllocation>())
            {
                foreach (var (number, channel) in a.Channels.ToList())
                {
                    if (channel.Bound && channel.Expiry <= now)
                    {
                        channel.Bound = false;
                    }

                    if (!channel.Bound && channel.Deadline <= now)
                    {
                        a.Channels.Remove(number);
                    }
                }

                foreach (var (ip, due) in a.Permissions.ToList())
                {
                    if (due <= now)
                    {
                        a.Permissions.Remove(ip);
                    }
                }
            }

            _nonces.RemoveAll(n => n.Due <= now);
            foreach (var (port, due) in _busy.ToList())
            {
                if (due <= now)
                {
                    _busy.Remove(port);
                }
            }

            var events = Pump();
            Assert.All(events, e => Assert.Equal(TurnServerCommandKind.FreeAllocation, e.Command.Kind));
            Assert.Equal(freed.Order(), events.Select(e => e.Command.Port).Order());
        }

        /// <summary>The host's timer loop: wake at each deadline up to <paramref name="seconds"/> from now.</summary>
        public void Advance(long seconds)
        {
            long target = T + (seconds * Second);
            while (Server.PollTimeout() is { } deadline && deadline.Ticks <= target)
            {
                Assert.Equal(ModelEarliest(), deadline.Ticks);
                Now = deadline;
                Server.HandleTimeout(deadline);
                ModelExpire(deadline.Ticks);
                CheckTables();
            }

            long? next = ModelEarliest();
            Assert.True(next is null || next > target, "a deadline the server does not know about");
            Assert.Equal(next, Server.PollTimeout()?.Ticks);
            Now = TimeSpan.FromTicks(target);
        }

        // ---- invariants -------------------------------------------------------------------------------------------

        private int ChannelsInModel => _allocations.OfType<ModelAllocation>().Sum(a => a.Channels.Count);

        private int PermissionsInModel => _allocations.OfType<ModelAllocation>().Sum(a => a.Permissions.Count);

        public void CheckTables()
        {
            int bound = _allocations.OfType<ModelAllocation>().Sum(a => a.Channels.Values.Count(ch => ch.Bound));

            // Within every bound...
            Assert.InRange(Server.AllocationCount, 0, Ports);
            Assert.InRange(Server.ChannelCount, 0, MaxChannels);
            Assert.InRange(Server.PermissionCount, 0, TotalPermissions);
            Assert.InRange(Server.NonceCount, 0, MaxNonces);
            Assert.InRange(Server.BusyPortCount, 0, Ports);
            Assert.All(_allocations.OfType<ModelAllocation>(), a => Assert.InRange(a.Permissions.Count, 0, PerAllocation));

            // ...and exactly what the model holds (nothing expired early, nothing left behind).
            Assert.Equal(AllocationsInModel, Server.AllocationCount);
            Assert.Equal(bound, Server.BoundChannelCount);
            Assert.Equal(bound, Server.Forwarder.PeerRouteCount);
            Assert.Equal(bound, Server.Forwarder.ClientRouteCount);
            Assert.Equal(PermissionsInModel, Server.Forwarder.PermissionCount);
            Assert.Equal(ChannelsInModel, Server.ChannelCount);
            Assert.Equal(PermissionsInModel, Server.PermissionCount);
            Assert.Equal(_nonces.Count, Server.NonceCount);
            Assert.Equal(_busy.Count, Server.BusyPortCount);
            Assert.Equal(AllocationsInModel + ChannelsInModel + PermissionsInModel + _nonces.Count + _busy.Count, Server.DeadlineCount);
            Assert.Equal(_allocations.OfType<ModelAllocation>().Select(a => a.Port).ToHashSet(), _open);
            Assert.Equal(_relayed, Server.RelayedBytes);
            Assert.Equal(ModelEarliest(), Server.PollTimeout()?.Ticks);
        }

        public void CheckEmpty()
        {
            Assert.Equal(0, Server.AllocationCount);
            Assert.Equal(0, Server.BoundChannelCount);
            Assert.Equal(0, Server.ChannelCount);
            Assert.Equal(0, Server.PermissionCount);
            Assert.Equal(0, Server.NonceCount);
            Assert.Equal(0, Server.BusyPortCount);
            Assert.Equal(0, Server.DeadlineCount);
            Assert.Equal(0, Server.Forwarder.PeerRouteCount + Server.Forwarder.ClientRouteCount + Server.Forwarder.PermissionCount);
            Assert.Empty(_open);
            Assert.Null(Server.PollTimeout());
        }
    }

    [Property(MaxTest = 60, EndSize = 600)]
    public void Tables_stay_bounded_and_every_expiry_is_on_time_over_simulated_hours(byte[] script, int seed, byte takenMask)
    {
        script ??= [];
        var taken = Enumerable.Range(0, Ports).Where(i => (takenMask & 0b010101 & (1 << i)) != 0).Select(i => Low + i).ToHashSet();
        var h = new Harness(seed, taken);
        for (int step = 0; step + 3 < script.Length && step < 4 * 150; step += 4)
        {
            int c = script[step + 1] % Clients;
            bool hostile = c >= 3;
            byte a = script[step + 2], b = script[step + 3];
            switch (script[step] % 12)
            {
                case 0 or 1:
                    h.Allocate(c, AllocateLifetimes[a % AllocateLifetimes.Length]);
                    break;
                case 2:
                    h.Refresh(c, RefreshLifetimes[a % RefreshLifetimes.Length]);
                    break;
                case 3 or 4:
                    h.ChannelBind(c, Numbers[a % Numbers.Length], b % ChannelPeers.Length);
                    break;
                case 5:
                {
                    IPEndPoint[] peers = b % 16 == 0 ? []
                        : b % 16 == 1 ? [new IPEndPoint(PeerIps[a % PeerIps.Length], 4000), Ipv6Peer]
                        : Enumerable.Range(0, hostile ? 3 + (a % 4) : 1 + (a % 3)).Select(i => new IPEndPoint(PeerIps[(b + (i * 3)) % PeerIps.Length], 4000 + i)).ToArray();
                    h.CreatePermission(c, peers);
                    break;
                }

                case 6:
                    h.ChannelData(c, h.PickNumber(c, a), b % 40);
                    break;
                case 7:
                {
                    var (port, peer) = h.PickPeerSource(a, b);
                    h.PeerData(port, peer, 1 + (b % 30));
                    break;
                }

                case 8:
                    h.SendIndication(c, h.PickSendPeer(c, b), a % 30);
                    break;
                case 9:
                    h.NonceFlood();
                    break;
                case 11 when b % 2 == 0:
                    h.JumpWallClock(a);
                    break;
                default:
                    h.Advance(TimeSteps[a % TimeSteps.Length]);
                    break;
            }

            h.CheckTables();
        }

        // Past every lifetime (nonces: 1 h, allocations: 1 h, channels: 15 min, busy ports: 1 min) nothing is left.
        h.Advance(3 * 3600);
        h.CheckTables();
        h.CheckEmpty();
    }
}
