using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Stun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.Turn;

/// <summary>
/// Sans-IO TURN client for one relay (snownet spec §6; RFC 8656, long-term credentials of RFC 8489 §9.2).
/// It discovers our server-reflexive address(es) with Binding, allocates an IPv4 and (if the relay can) an IPv6
/// relayed address, keeps the allocation alive, binds channels to peers and frames data as ChannelData.
/// </summary>
/// <remarks>
/// Feed it datagrams from the relay (<see cref="HandleInput"/>, <see cref="TryDecapsulate"/>), time
/// (<see cref="HandleTimeout"/>) and commands (<see cref="BindChannel"/>, <see cref="Refresh"/>); drain
/// <see cref="PollTransmit"/>, <see cref="PollEvent"/> and <see cref="PollTimeout"/> after each of them (the sans-IO
/// contract of this assembly). Every <c>now</c> is a monotonic <see cref="TimeSpan"/> since an origin the driver
/// chooses; randomness (transaction ids) comes from the delegate given at construction.
/// Deliberate departures from upstream snownet, each covered by a test:
/// <list type="bullet">
/// <item>Requests sent before the relay handed out a NONCE carry no credentials (RFC 8489 §9.2.3.1); upstream signs
/// them without NONCE, which coturn rejects with an unsigned 400.</item>
/// <item>Refresh carries no REQUESTED-TRANSPORT / ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §7.1; coturn answers 420).</item>
/// <item>Unsigned 401/438 challenges are accepted (standard servers such as coturn do not sign them; RFC 8489 §9.2.4).
/// A challenge can only redirect us to another nonce, and only with a transaction id we chose at random.</item>
/// <item>A 401/438 without NONCE is not retried (upstream would retry it forever, each time with a fresh backoff).</item>
/// <item>Allocation expiry and channel refresh instants are part of <see cref="PollTimeout"/>.</item>
/// <item>A peer whose ChannelBind went unanswered keeps its channel number on the next attempt.</item>
/// </list>
/// </remarks>
internal sealed partial class Allocation
{
    private readonly ILogger _logger;
    private readonly Action<Span<byte>> _random;
    private readonly string _username;
    private readonly string _password;
    private readonly Queue<Transmit> _transmits = new();
    private readonly Queue<AllocationEvent> _events = new();
    private readonly Dictionary<TransactionId, InFlightRequest> _inFlight = new();
    private readonly AllocationChannels _channels = new();
    private readonly LinkedList<IPEndPoint> _bufferedChannelBindings = new();
    private readonly Queue<IPEndPoint> _boundPeers = new();
    private readonly List<TransactionId> _scratchIds = new();
    private readonly List<TransactionId> _scratchInvalidated = new();
    private readonly List<(ushort Number, IPEndPoint Peer)> _scratchChannels = new();

    private AllocationCredentials? _credentials;
    private IPEndPoint? _activeSocket;
    private AllocationCandidate? _srflxV4;
    private AllocationCandidate? _srflxV6;
    private AllocationCandidate? _relayedV4;
    private AllocationCandidate? _relayedV6;
    private (TimeSpan ReceivedAt, TimeSpan Lifetime)? _lifetime;
    private AllocationFreeReason? _explicitFailure;

    /// <summary>
    /// Creates the allocation and queues a Binding request to every address of <paramref name="server"/>.
    /// </summary>
    /// <param name="server">The relay's address(es).</param>
    /// <param name="username">Long-term USERNAME.</param>
    /// <param name="password">Long-term password.</param>
    /// <param name="realm">Expected REALM (<c>firezone</c> for Firezone relays).</param>
    /// <param name="software">SOFTWARE attribute value, e.g. <c>snownet; session=&lt;64 hex&gt;</c>.</param>
    /// <param name="now">The current instant (monotonic, see <see cref="Deadline"/>).</param>
    /// <param name="random">Fills buffers with random bytes: every transaction id comes from it (production: the OS
    /// CSPRNG; simulations: a seeded source).</param>
    /// <param name="logger">Optional logger.</param>
    public Allocation(RelaySocket server, string username, string password, string realm, string software, TimeSpan now, Action<Span<byte>> random, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(random);
        Server = server;
        Software = software;
        _username = username;
        _password = password;
        _logger = logger ?? NullLogger.Instance;
        _random = random;
        _credentials = new AllocationCredentials(username, password, realm, StunCredentials.LongTermKey(username, realm, password));
        SendBindingRequests(now);
    }

    /// <summary>
    /// The SOFTWARE value snownet sends: <c>snownet; session=</c> followed by the session id, the upper-case hex of
    /// SHA-256 over the ASCII prefix <c>SESSION-ID</c> and the Node's 32-byte public key (snownet spec §1.2).
    /// </summary>
    public static string SoftwareFor(ReadOnlySpan<byte> publicKey)
    {
        var input = new byte[10 + publicKey.Length];
        "SESSION-ID"u8.CopyTo(input);
        publicKey.CopyTo(input.AsSpan(10));
        return "snownet; session=" + Convert.ToHexString(SHA256.HashData(input));
    }

    /// <summary>The relay's address(es).</summary>
    public RelaySocket Server { get; }

    /// <summary>SOFTWARE value sent with every request.</summary>
    public string Software { get; }

    /// <summary>The relay address chosen by the first Binding success; authenticated traffic and ChannelData go there.</summary>
    public IPEndPoint? ActiveSocket => _activeSocket;

    /// <summary>Our IPv4 server-reflexive candidate, if a Binding over IPv4 succeeded.</summary>
    public AllocationCandidate? ServerReflexiveV4 => _srflxV4;

    /// <summary>Our IPv6 server-reflexive candidate, if a Binding over IPv6 succeeded.</summary>
    public AllocationCandidate? ServerReflexiveV6 => _srflxV6;

    /// <summary>Our IPv4 relayed candidate, while allocated.</summary>
    public AllocationCandidate? RelayedV4 => _relayedV4;

    /// <summary>Our IPv6 relayed candidate, while allocated.</summary>
    public AllocationCandidate? RelayedV6 => _relayedV6;

    /// <summary>True while the relay holds an allocation for us (at least one relayed address).</summary>
    public bool HasAllocation => _relayedV4 is not null || _relayedV6 is not null;

    /// <summary>False once the relay rejected our credentials for good.</summary>
    public bool HasCredentials => _credentials is not null;

    /// <summary>The channel table (read-only use: tests, diagnostics).</summary>
    internal AllocationChannels Channels => _channels;

    /// <summary>Responses to our requests that were ignored (integrity missing or wrong, method mismatch).</summary>
    public long IgnoredResponses { get; private set; }

    /// <summary>ChannelData from the relay that was dropped (malformed, unknown or unconfirmed channel, no relayed address).</summary>
    public long DroppedChannelData { get; private set; }

    /// <summary>Number of requests waiting for a response.</summary>
    internal int InFlightCount => _inFlight.Count;

    /// <summary>Number of peers waiting for the allocation before their channel can be bound.</summary>
    internal int BufferedChannelBindingCount => _bufferedChannelBindings.Count;

    /// <summary>
    /// Nothing left to do: no relayed address, no request in flight, no queued transmit and nothing scheduled.
    /// A suspended allocation ignores <see cref="BindChannel"/> and only revives through <see cref="Refresh"/>.
    /// </summary>
    public bool IsSuspended => !HasAllocation && _inFlight.Count == 0 && _transmits.Count == 0 && PollTimeout() is null;

    /// <summary>True if <paramref name="address"/> is one of the relay's addresses.</summary>
    public bool Matches(IPEndPoint address) => Server.Matches(address);

    /// <summary>
    /// True if this allocation was created for exactly this relay configuration (update_relays keeps it untouched);
    /// otherwise the relay was rebooted, moved or re-keyed and the allocation must be replaced.
    /// </summary>
    public bool HasSameConfiguration(RelaySocket server, string username, string password) =>
        Server.Equals(server) && _username == username && _password == password;

    /// <summary>The current relayed candidates (IPv4 first), e.g. to invalidate them when the relay is removed.</summary>
    public IEnumerable<AllocationCandidate> RelayCandidates()
    {
        if (_relayedV4 is { } v4)
        {
            yield return v4;
        }

        if (_relayedV6 is { } v6)
        {
            yield return v6;
        }
    }

    /// <summary>
    /// Next datagram to send, if any: always to one of the relay's addresses, from any local interface
    /// (<see cref="Transmit.Source"/> is null). Its payload is never reused by the allocation.
    /// </summary>
    public Transmit? PollTransmit() => _transmits.TryDequeue(out var t) ? t : null;

    /// <summary>Next candidate event, if any.</summary>
    public AllocationEvent? PollEvent() => _events.TryDequeue(out var e) ? e : null;

    /// <summary>
    /// Next peer whose ChannelBind was just confirmed, if any (the Node re-checks the ICE pairs through it at once
    /// instead of waiting for their next retransmission). At most <see cref="MaxBoundPeers"/> are kept, oldest dropped.
    /// </summary>
    public IPEndPoint? PollChannelBound() => _boundPeers.TryDequeue(out var p) ? p : null;

    /// <summary>Bound of the queue behind <see cref="PollChannelBound"/>.</summary>
    internal const int MaxBoundPeers = 64;

    private void ReportChannelBound(IPEndPoint peer)
    {
        if (_boundPeers.Count == MaxBoundPeers)
        {
            _boundPeers.Dequeue();
        }

        _boundPeers.Enqueue(peer);
    }

    /// <summary>
    /// The next instant <see cref="HandleTimeout"/> must run: request retransmissions, the allocation refresh (while
    /// no Refresh is in flight), the allocation's expiry and the next channel refresh. Null if nothing is scheduled.
    /// </summary>
    public TimeSpan? PollTimeout()
    {
        TimeSpan? earliest = null;
        var refreshInFlight = false;
        foreach (var request in _inFlight.Values)
        {
            earliest = Deadline.Min(earliest, request.Deadline);
            refreshInFlight |= request.Request.Kind == TurnRequestKind.Refresh;
        }

        if (_lifetime is { } lifetime)
        {
            earliest = Deadline.Min(earliest, lifetime.ReceivedAt + lifetime.Lifetime);
            if (!refreshInFlight && CanAuthenticate)
            {
                earliest = Deadline.Min(earliest, lifetime.ReceivedAt + (lifetime.Lifetime / 2));
            }
        }

        if (CanAuthenticate)
        {
            foreach (var (number, record) in _channels)
            {
                if (record.Bound && record.LastReceived > record.BoundAt && !ChannelBindInFlight(number))
                {
                    earliest = Deadline.Min(earliest, record.BoundAt + AllocationConstants.ChannelRefreshThreshold);
                }
            }
        }

        return earliest;
    }

    /// <summary>
    /// Handles a STUN response from the relay. Returns false if the datagram is not from this relay, not STUN, or
    /// not a response to a request of ours in flight (the caller drops it then); true if it was consumed (even when it
    /// was ignored because its MESSAGE-INTEGRITY did not verify).
    /// </summary>
    /// <param name="datagram">The datagram.</param>
    /// <param name="from">Sender of the datagram.</param>
    /// <param name="local">Local address the datagram arrived on (base of the server-reflexive candidate).</param>
    /// <param name="now">The current instant.</param>
    public bool HandleInput(ReadOnlySpan<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now)
    {
        if (!Server.Matches(from))
        {
            return false;
        }

        if (!AllocationWire.TryPeekTransactionId(datagram, out var id))
        {
            return false;
        }

        if (!_inFlight.TryGetValue(id, out var request))
        {
            LogUnknownTransaction(id);
            return false;
        }

        if (!AllocationWire.TryReadResponse(datagram, _credentials?.Key, out var response))
        {
            return false;
        }

        if (response.Method != AllocationWire.MethodOf(request.Request.Kind))
        {
            LogMethodMismatch(response.TransactionId);
            IgnoredResponses++;
            return true;
        }

        if (request.Request.Kind != TurnRequestKind.Binding && !IsAuthentic(response))
        {
            LogIntegrityFailure(request.Request.Kind, response.TransactionId);
            IgnoredResponses++;
            return true;
        }

        _inFlight.Remove(response.TransactionId);

        if (response.ErrorCode is { } code)
        {
            HandleError(request, response, code, now);
        }
        else
        {
            HandleSuccess(request, response, local, now);
        }

        return true;
    }

    /// <summary>
    /// Decodes ChannelData from the relay. On success <paramref name="peer"/> is the sender as seen by the relay,
    /// <paramref name="relayedAddress"/> our relayed address of the peer's family (the ICE "destination") and
    /// <paramref name="payload"/> the payload's range inside <paramref name="datagram"/> (cut to the length field).
    /// Data on unknown or unconfirmed channels, or from a family we have no relayed address for, is dropped (false).
    /// </summary>
    public bool TryDecapsulate(ReadOnlySpan<byte> datagram, IPEndPoint from, TimeSpan now, out IPEndPoint peer, out IPEndPoint relayedAddress, out Range payload)
    {
        peer = null!;
        relayedAddress = null!;
        payload = default;
        if (!Server.Matches(from))
        {
            return false;
        }

        if (!AllocationWire.TryReadChannelData(datagram, out var channel, out payload))
        {
            DroppedChannelData++;
            return false;
        }

        if (_channels.ReceivedOn(channel, now) is not { } p)
        {
            LogUnknownChannel(channel);
            DroppedChannelData++;
            return false;
        }

        if (RelayedFor(p.AddressFamily) is not { } relayed)
        {
            DroppedChannelData++;
            return false;
        }

        peer = p;
        relayedAddress = relayed.Address;
        return true;
    }

    /// <summary>
    /// Frames <paramref name="payload"/> as ChannelData for <paramref name="peer"/>, addressed to the relay. Null when
    /// no confirmed, unexpired channel to that peer exists (payload is never buffered; the caller drops it). The
    /// transmit's payload is a new array (the hot path is <see cref="WriteChannelDataHeader"/>, which copies nothing).
    /// </summary>
    public Transmit? EncodeToPeer(IPEndPoint peer, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        if (_activeSocket is not { } relay || _channels.ConnectedChannelToPeer(peer, now) is not { } channel)
        {
            return null;
        }

        return new Transmit(null, relay, AllocationWire.EncodeChannelData(channel, payload));
    }

    /// <summary>
    /// In-place variant of <see cref="EncodeToPeer"/>: <paramref name="packet"/> holds the payload from offset 4; the
    /// 4-byte ChannelData header is written in front of it. Returns the relay address to send
    /// <c>packet[..(4 + payloadLength)]</c> to, or null when no usable channel exists.
    /// </summary>
    public IPEndPoint? WriteChannelDataHeader(IPEndPoint peer, Span<byte> packet, int payloadLength, TimeSpan now)
    {
        if (_activeSocket is not { } relay || _channels.ConnectedChannelToPeer(peer, now) is not { } channel)
        {
            return null;
        }

        AllocationWire.WriteChannelDataHeader(packet, channel, payloadLength);
        return relay;
    }

    /// <summary>
    /// Asks for a channel to <paramref name="peer"/> (snownet spec §6.8): nothing if one is usable, in flight or
    /// buffered; buffered (up to 100 peers, oldest dropped) while no allocation exists; ignored if suspended or if we
    /// have no relayed address of the peer's family; otherwise a ChannelBind is sent.
    /// </summary>
    public void BindChannel(IPEndPoint peer, TimeSpan now)
    {
        if (IsSuspended)
        {
            LogSuspendedBind(peer);
            return;
        }

        if (_channels.ConnectedChannelToPeer(peer, now) is not null || ChannelBindInFlight(peer) || _bufferedChannelBindings.Contains(peer))
        {
            return;
        }

        if (!HasAllocation)
        {
            if (_bufferedChannelBindings.Count == AllocationConstants.BufferedChannelBindings)
            {
                _bufferedChannelBindings.RemoveFirst();
            }

            _bufferedChannelBindings.AddLast(peer);
            return;
        }

        if (RelayedFor(peer.AddressFamily) is null)
        {
            LogNoRelayedAddressForPeer(peer);
            return;
        }

        if (_channels.NewChannelToPeer(peer, now) is not { } channel)
        {
            LogChannelsExhausted(peer);
            return;
        }

        AuthenticateAndQueue(TurnRequest.ChannelBind(peer, channel), AllocationBackoff.StartAt(now), now);
    }

    /// <summary>
    /// Liveness probe / revival (snownet spec §6.7): nothing while the first Allocate is in flight; a suspended
    /// allocation starts over with Binding requests; otherwise an authenticated Refresh is sent (unless one is in flight).
    /// </summary>
    public void Refresh(TimeSpan now)
    {
        if (!HasAllocation && InFlight(TurnRequestKind.Allocate))
        {
            return;
        }

        if (IsSuspended)
        {
            _activeSocket = null;
            SendBindingRequests(now);
            return;
        }

        if (!InFlight(TurnRequestKind.Refresh))
        {
            AuthenticateAndQueue(TurnRequest.Refresh, AllocationBackoff.StartAt(now), now);
        }
    }

    /// <summary>
    /// Timers (snownet spec §6.6–§6.8): allocation expiry, allocation refresh, channel refresh, retransmissions.
    /// </summary>
    public void HandleTimeout(TimeSpan now)
    {
        if (_lifetime is { } lifetime && now >= lifetime.ReceivedAt + lifetime.Lifetime)
        {
            LogAllocationExpired();
            InvalidateAllocation();
        }

        if (_lifetime is { } live && now >= live.ReceivedAt + (live.Lifetime / 2) && !InFlight(TurnRequestKind.Refresh))
        {
            AuthenticateAndQueue(TurnRequest.Refresh, AllocationBackoff.StartAt(now), now);
        }

        _scratchChannels.Clear();
        _channels.CollectDueForRefresh(now, _scratchChannels);
        foreach (var (number, peer) in _scratchChannels)
        {
            if (!ChannelBindInFlight(number))
            {
                AuthenticateAndQueue(TurnRequest.ChannelBind(peer, number), AllocationBackoff.StartAt(now), now);
            }
        }

        _scratchIds.Clear();
        foreach (var (id, request) in _inFlight)
        {
            if (request.Deadline <= now)
            {
                _scratchIds.Add(id);
            }
        }

        foreach (var id in _scratchIds)
        {
            if (!_inFlight.Remove(id, out var request))
            {
                continue; // removed by an invalidation earlier in this loop
            }

            var backoff = request.Backoff;
            var resent = false;
            if (backoff.TryAdvance(now))
            {
                if (request.Request.Kind == TurnRequestKind.Binding)
                {
                    // Unauthenticated: same message, same transaction id, same address.
                    request.SentAt = now;
                    request.Backoff = backoff;
                    _inFlight[id] = request;
                    _transmits.Enqueue(new Transmit(null, request.Destination, request.Payload));
                    resent = true;
                }
                else
                {
                    resent = AuthenticateAndQueue(request.Request, backoff, now);
                }
            }

            if (resent)
            {
                continue;
            }

            LogRequestAbandoned(request.Request.Kind, request.Destination);
            if (request.Request.Kind == TurnRequestKind.Refresh)
            {
                // The relay stopped answering: forget it until someone calls Refresh.
                _activeSocket = null;
                InvalidateAllocation();
            }
        }
    }

    /// <summary>
    /// Whether the Node may remove this allocation (snownet spec §6.10), and why. Null while it is still useful.
    /// </summary>
    public AllocationFreeReason? CanBeFreed()
    {
        if (_explicitFailure is { } failure)
        {
            return failure;
        }

        if (_events.Count > 0 || _transmits.Count > 0 || _inFlight.Count > 0)
        {
            return null;
        }

        if (_activeSocket is null)
        {
            return AllocationFreeReason.NoResponseReceived;
        }

        if (_credentials is null)
        {
            return AllocationFreeReason.AuthenticationError;
        }

        return null;
    }

    private bool CanAuthenticate => _activeSocket is not null && _credentials is not null;

    private void SendBindingRequests(TimeSpan now)
    {
        if (Server.V4 is { } v4)
        {
            SendBinding(v4, now);
        }

        if (Server.V6 is { } v6)
        {
            SendBinding(v6, now);
        }
    }

    private void SendBinding(IPEndPoint destination, TimeSpan now)
    {
        var id = TransactionId.NewRandom(_random);
        var payload = AllocationWire.EncodeBinding(id, Software);
        _inFlight[id] = new InFlightRequest(TurnRequest.Binding, destination, payload, carriedNonce: false, sentAt: now, AllocationBackoff.StartAt(now));
        _transmits.Enqueue(new Transmit(null, destination, payload));
    }

    /// <summary>
    /// Encodes <paramref name="request"/> with a fresh transaction id and, once a NONCE is known, USERNAME, REALM, NONCE
    /// and MESSAGE-INTEGRITY; records it as in flight and queues it to the active socket. False if we have no active
    /// socket or no credentials.
    /// </summary>
    private bool AuthenticateAndQueue(TurnRequest request, AllocationBackoff backoff, TimeSpan now)
    {
        if (_activeSocket is not { } destination || _credentials is not { } credentials)
        {
            LogCannotAuthenticate(request.Kind);
            return false;
        }

        var id = TransactionId.NewRandom(_random);
        var payload = AllocationWire.EncodeAuthenticated(request, id, Software, credentials);
        _inFlight[id] = new InFlightRequest(request, destination, payload, carriedNonce: credentials.Nonce is not null, sentAt: now, backoff);
        _transmits.Enqueue(new Transmit(null, destination, payload));
        return true;
    }

    /// <summary>
    /// The allocation is gone: relayed candidates become invalid (IPv4 first), channels and authenticated requests in
    /// flight are forgotten. Binding requests keep running (they do not depend on the allocation).
    /// </summary>
    private void InvalidateAllocation()
    {
        if (_relayedV4 is { } v4)
        {
            _events.Enqueue(new AllocationEvent(AllocationEventKind.Invalid, v4));
            _relayedV4 = null;
        }

        if (_relayedV6 is { } v6)
        {
            _events.Enqueue(new AllocationEvent(AllocationEventKind.Invalid, v6));
            _relayedV6 = null;
        }

        _lifetime = null;
        _channels.Clear();

        _scratchInvalidated.Clear();
        foreach (var (id, request) in _inFlight)
        {
            if (request.Request.Kind != TurnRequestKind.Binding)
            {
                _scratchInvalidated.Add(id);
            }
        }

        foreach (var id in _scratchInvalidated)
        {
            _inFlight.Remove(id);
        }
    }

    private void Update(ref AllocationCandidate? slot, AllocationCandidate candidate)
    {
        if (slot is { } old && old == candidate)
        {
            return;
        }

        _events.Enqueue(new AllocationEvent(AllocationEventKind.New, candidate));
        if (slot is { } previous)
        {
            _events.Enqueue(new AllocationEvent(AllocationEventKind.Invalid, previous));
        }

        slot = candidate;
    }

    private void UpdateRelayed(ref AllocationCandidate? slot, IPEndPoint? address)
    {
        if (address is null)
        {
            if (slot is { } gone)
            {
                _events.Enqueue(new AllocationEvent(AllocationEventKind.Invalid, gone));
                slot = null;
            }

            return;
        }

        Update(ref slot, new AllocationCandidate(AllocationCandidateKind.Relayed, address, address));
    }

    private AllocationCandidate? RelayedFor(AddressFamily family) =>
        family == AddressFamily.InterNetworkV6 ? _relayedV6 : _relayedV4;

    private bool InFlight(TurnRequestKind kind)
    {
        foreach (var request in _inFlight.Values)
        {
            if (request.Request.Kind == kind)
            {
                return true;
            }
        }

        return false;
    }

    private bool ChannelBindInFlight(IPEndPoint peer)
    {
        foreach (var request in _inFlight.Values)
        {
            if (request.Request.Kind == TurnRequestKind.ChannelBind && peer.Equals(request.Request.Peer))
            {
                return true;
            }
        }

        return false;
    }

    private bool ChannelBindInFlight(ushort number)
    {
        foreach (var request in _inFlight.Values)
        {
            if (request.Request.Kind == TurnRequestKind.ChannelBind && request.Request.Channel == number)
            {
                return true;
            }
        }

        return false;
    }

    private sealed class InFlightRequest(TurnRequest request, IPEndPoint destination, byte[] payload, bool carriedNonce, TimeSpan sentAt, AllocationBackoff backoff)
    {
        public TurnRequest Request { get; } = request;

        public IPEndPoint Destination { get; } = destination;

        public byte[] Payload { get; } = payload;

        public bool CarriedNonce { get; } = carriedNonce;

        public TimeSpan SentAt { get; set; } = sentAt;

        public AllocationBackoff Backoff { get; set; } = backoff;

        public TimeSpan Deadline => SentAt + Backoff.CurrentWait;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Response with unknown transaction id {TransactionId}")]
    private partial void LogUnknownTransaction(TransactionId transactionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Response {TransactionId} does not match the method of our request")]
    private partial void LogMethodMismatch(TransactionId transactionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring {Kind} response {TransactionId}: MESSAGE-INTEGRITY missing or wrong")]
    private partial void LogIntegrityFailure(TurnRequestKind kind, TransactionId transactionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ChannelData on unknown or unconfirmed channel {Channel}")]
    private partial void LogUnknownChannel(ushort channel);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Allocation is suspended; not binding a channel to {Peer}")]
    private partial void LogSuspendedBind(IPEndPoint peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "No relayed address of the family of {Peer}; not binding a channel")]
    private partial void LogNoRelayedAddressForPeer(IPEndPoint peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "All channel numbers are in use; not binding a channel to {Peer}")]
    private partial void LogChannelsExhausted(IPEndPoint peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocation expired")]
    private partial void LogAllocationExpired();

    [LoggerMessage(Level = LogLevel.Information, Message = "Giving up on {Kind} request to {Destination}")]
    private partial void LogRequestAbandoned(TurnRequestKind kind, IPEndPoint destination);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Kind} response lacks {Attribute}")]
    private partial void LogMissingAttribute(string attribute, TurnRequestKind kind);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Talking to relay at {Relay}")]
    private partial void LogActiveSocket(IPEndPoint relay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocated {RelayedV4} / {RelayedV6} for {Lifetime}")]
    private partial void LogAllocated(string relayedV4, string relayedV6, TimeSpan lifetime);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Kind} failed with error {Code}")]
    private partial void LogErrorResponse(TurnRequestKind kind, int code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay rejected our credentials")]
    private partial void LogAuthenticationFailed();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay uses realm {Realm}, expected {Expected}")]
    private partial void LogWrongRealm(string realm, string expected);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cannot send {Kind}: no active relay socket or no credentials")]
    private partial void LogCannotAuthenticate(TurnRequestKind kind);
}
