using System.Net;
using System.Security.Cryptography;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Turn;
using Firezone.Snownet.WireGuard;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet;

/// <summary>
/// Firezone's peer-to-peer connection engine ("snownet"), sans-IO: TURN allocations on the relays it is given, one ICE
/// agent and one WireGuard tunnel per connection, and the state machine that turns ICE nominations into WireGuard
/// paths. It never touches a socket, a clock or a thread: feed it received datagrams (<see cref="Decapsulate"/>),
/// outgoing IP packets (<see cref="Encapsulate"/>), signalling and time (<see cref="HandleTimeout"/>), and drain
/// <see cref="PollTransmit"/>, <see cref="PollEvent"/> and <see cref="PollTimeout"/> after every call.
/// </summary>
/// <remarks>
/// <para>Two kinds exist: <see cref="ClientNode"/> (ICE controlling, creates offers, starts the WireGuard handshake) and
/// <see cref="ServerNode"/> (ICE controlled, answers). A node is single-threaded: one caller at a time.</para>
/// <para>Time is a monotonic <see cref="TimeSpan"/> since an origin the driver chooses (e.g.
/// <c>TimeProvider.GetElapsedTime(start)</c>). The wall-clock time given at construction anchors WireGuard's TAI64N
/// timestamps only, so a wall-clock jump shifts no timer.</para>
/// <para>Buffers passed to <see cref="Encapsulate"/> and <see cref="Decapsulate"/> must hold at least
/// <see cref="BufferSize"/> (1336) bytes: a 1280-byte IP packet, 32 bytes of WireGuard overhead, 20 bytes of NAT46
/// headroom and a 4-byte ChannelData header. Neither allocates per packet in steady state.</para>
/// </remarks>
public abstract partial class Node : IDisposable
{
    /// <summary>The size of the buffers <see cref="Encapsulate"/> and <see cref="Decapsulate"/> need (MAX_DATAGRAM_PAYLOAD).</summary>
    public const int BufferSize = 1336;

    /// <summary>The largest IP packet the tunnel carries (the TUN MTU).</summary>
    public const int MaxPacketSize = 1280;

    /// <summary>A client connection without an answer fails after this (HANDSHAKE_TIMEOUT).</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(20);

    internal const int EncryptOffset = 4;
    internal const int DecryptOffset = 20;
    internal static readonly TimeSpan CandidateTimeout = TimeSpan.FromSeconds(10);
    internal static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(10);
    internal static readonly TimeSpan WireGuardTick = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan IdleWireGuardTick = TimeSpan.FromSeconds(30);
    internal static readonly TimeSpan PersistentKeepalive = TimeSpan.FromSeconds(25);
    internal static readonly TimeSpan RateLimiterResetInterval = TimeSpan.FromSeconds(1);

    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SeededRandom _random;
    private readonly IceRole _role;
    private readonly DateTimeOffset _wallClockAtZero;
    private readonly IndexGenerator _indices;
    private readonly CandidateSet _shared = new();
    private readonly SortedTable<RelayId, Allocation> _allocations = new();
    private readonly SortedTable<ConnectionId, InitialConnection> _initial = new();
    private readonly SortedTable<ConnectionId, Connection> _connections = new();
    private readonly Queue<NodeEvent> _events = new();
    private readonly TransmitQueue _transmits = new();
    private readonly Dictionary<IPEndPoint, Connection> _routes = new();
    private readonly byte[] _scratch = new byte[BufferSize];
    private byte[] _privateKey = new byte[X25519.KeyLength];
    private byte[] _publicKey = new byte[X25519.KeyLength];
    private string _software = string.Empty;
    private RateLimiter _rateLimiter = null!;
    private TimeSpan? _nextRateLimiterReset;
    private long _stunBytesToRelays;
    private TimeSpan _lastNow;
    private bool _routesDirty = true;
    private bool _disposed;

    /// <summary>Creates a node from a 32-byte seed (every random choice of the node derives from it).</summary>
    private protected Node(IceRole role, ReadOnlySpan<byte> seed, TimeSpan now, DateTimeOffset utcNow, ILoggerFactory? loggerFactory)
    {
        _role = role;
        _random = new SeededRandom(seed);
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Firezone.Snownet.Node");
        _wallClockAtZero = utcNow - now;
        _lastNow = now;
        Span<byte> indexSeed = stackalloc byte[8];
        _random.Fill(indexSeed);
        uint start = (BitConverter.ToUInt32(indexSeed) & 0xFF_FFFF) | 1;
        uint mask = BitConverter.ToUInt32(indexSeed[4..]) & 0xFF_FFFF;
        _indices = new IndexGenerator(start, mask);
        NewIdentity();
    }

    /// <summary>The node's static WireGuard public key (32 bytes; changes on <see cref="Reset"/>).</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>Connections, pending (a client's offers without an answer yet) and established.</summary>
    public int ConnectionCount => _initial.Count + _connections.Count;

    /// <summary>
    /// The id of an established connection to the peer with <paramref name="publicKey"/> whose WireGuard session is up.
    /// </summary>
    public bool TryGetConnectionId(ReadOnlySpan<byte> publicKey, out ConnectionId connection)
    {
        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            if (c.RemotePublicKey.AsSpan().SequenceEqual(publicKey) && c.Tunnel.HasCurrentSession)
            {
                connection = c.Id;
                return true;
            }
        }

        connection = default;
        return false;
    }

    /// <summary>The nominated path of a connection (tests and diagnostics), or null.</summary>
    internal PeerSocket? PathOf(ConnectionId connection) => _connections.TryGetValue(connection, out var c) ? c.Peer : null;

    /// <summary>The state of a connection (tests and diagnostics), or null when there is no established connection.</summary>
    internal ConnectionState? StateOf(ConnectionId connection) => _connections.TryGetValue(connection, out var c) ? c.State : null;

    /// <summary>The ICE agent of a pending or established connection (tests and diagnostics).</summary>
    internal IceAgent? AgentOf(ConnectionId connection) =>
        _initial.TryGetValue(connection, out var i) ? i.Agent : _connections.TryGetValue(connection, out var c) ? c.Agent : null;

    /// <summary>The WireGuard tunnel of an established connection (tests and diagnostics).</summary>
    internal Tunnel? TunnelOf(ConnectionId connection) => _connections.TryGetValue(connection, out var c) ? c.Tunnel : null;

    /// <summary>The relay a connection sampled (tests and diagnostics).</summary>
    internal RelayId? RelayOf(ConnectionId connection) =>
        _initial.TryGetValue(connection, out var i) ? i.Relay : _connections.TryGetValue(connection, out var c) ? c.Relay : null;

    /// <summary>The node's allocation for a relay (tests and diagnostics).</summary>
    internal Allocation? AllocationOf(RelayId relay) => _allocations.TryGetValue(relay, out var a) ? a : null;

    /// <summary>The node's counters (snownet spec §8).</summary>
    public NodeStatistics GetStatistics()
    {
        var connections = new Dictionary<ConnectionId, ConnectionStatistics>();
        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            connections[c.Id] = new ConnectionStatistics(c.StunBytesDirect, c.StunBytesRelayed);
        }

        return new NodeStatistics(_stunBytesToRelays, connections);
    }

    /// <summary>
    /// Forgets everything for a network change (snownet spec §4.11): allocations (nothing is sent to the relays, so the
    /// caller must rebind its UDP sockets to new ports), queued transmits and events, candidates, and every connection
    /// (a <see cref="ConnectionClosed"/> each); a new static key, rate limiter and session id. Give the node its relays
    /// again with <see cref="UpdateRelays"/>.
    /// </summary>
    public void Reset(TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = Later(now);
        _allocations.Clear();
        _transmits.Clear();
        _events.Clear();
        for (int i = 0; i < _initial.Count; i++)
        {
            _events.Enqueue(new ConnectionClosed(_initial.KeyAt(i)));
        }

        for (int i = 0; i < _connections.Count; i++)
        {
            var c = _connections.ValueAt(i);
            _events.Enqueue(new ConnectionClosed(c.Id));
            c.Dispose();
        }

        _initial.Clear();
        _connections.Clear();
        _shared.Clear();
        _routesDirty = true;
        _nextRateLimiterReset = null;
        NewIdentity();
        LogReset(_logger, Convert.ToBase64String(_publicKey));
    }

    /// <summary>
    /// Adds a local host candidate by hand (the node also learns one from the local address of every received
    /// datagram). False when the address cannot be a candidate (unspecified, multicast, IPv4 broadcast or link-local).
    /// </summary>
    public bool AddLocalHostCandidate(IPEndPoint address)
    {
        ArgumentNullException.ThrowIfNull(address);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return ObserveLocal(address);
    }

    /// <summary>The next event, or null.</summary>
    public NodeEvent? PollEvent() => _events.TryDequeue(out var e) ? e : null;

    /// <summary>
    /// The next datagram to send, or null: relay (TURN) traffic first, in relay-id order, then what the connections
    /// produced, in order. Its payload is valid until the next call on the node.
    /// </summary>
    public Transmit? PollTransmit()
    {
        for (int i = 0; i < _allocations.Count; i++)
        {
            if (_allocations.ValueAt(i).PollTransmit() is { } relayTransmit)
            {
                _stunBytesToRelays += relayTransmit.Payload.Length;
                return relayTransmit;
            }
        }

        return _transmits.TryDequeue(out var transmit) ? transmit : null;
    }

    /// <summary>Releases the WireGuard tunnels' key material.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (int i = 0; i < _connections.Count; i++)
        {
            _connections.ValueAt(i).Dispose();
        }

        _connections.Clear();
        _initial.Clear();
        _transmits.Clear();
        CryptographicOperations.ZeroMemory(_privateKey);
        GC.SuppressFinalize(this);
    }

    private void NewIdentity()
    {
        _privateKey = new byte[X25519.KeyLength];
        _publicKey = new byte[X25519.KeyLength];
        _random.Fill(_privateKey);
        X25519.PublicKeyOf(_privateKey, _publicKey);
        _rateLimiter = new RateLimiter(_publicKey);
        _software = Allocation.SoftwareFor(_publicKey);
    }

    private TimeSpan Later(TimeSpan now) => now > _lastNow ? now : _lastNow;

    private protected static IceCredentials ToIce(Credentials credentials) => new(credentials.Username, credentials.Password);

    private protected static Credentials FromIce(IceCredentials credentials) => new(credentials.Ufrag, credentials.Password);

    /// <summary>A relay for a new connection, uniformly among the current allocations.</summary>
    /// <exception cref="NoTurnServersException">No allocation at all.</exception>
    private protected RelayId SampleRelay()
    {
        if (_allocations.Count == 0)
        {
            throw new NoTurnServersException();
        }

        return _allocations.KeyAt(_random.Next(_allocations.Count));
    }

    private protected IceAgent NewAgent(IceCredentials local)
    {
        var agent = new IceAgent(_role, local, _random.Fill);
        agent.SetTimings(IceTimings.Default);
        return agent;
    }

    private protected IceCredentials RandomCredentials() => IceCredentials.Random(_random.Fill);

    /// <summary>Creates, seeds and registers an established connection (replacing any with that id, silently).</summary>
    private protected void Establish(ConnectionId id, IceAgent agent, ReadOnlySpan<byte> remotePublicKey, ReadOnlySpan<byte> presharedKey, RelayId relay, TimeSpan now)
    {
        if (remotePublicKey.Length != X25519.KeyLength || presharedKey.Length != 32)
        {
            throw new ArgumentException("WireGuard public and preshared keys are 32 bytes.");
        }

        var tunnel = new Tunnel(_privateKey, remotePublicKey, presharedKey, PersistentKeepalive, _indices.Next(), _rateLimiter, now,
            _wallClockAtZero, _random.Fill, _loggerFactory.CreateLogger<Tunnel>());
        var connection = new Connection(id, agent, tunnel, remotePublicKey.ToArray(), relay, now);
        if (_connections.Set(id, connection) is { } replaced)
        {
            replaced.Dispose();
        }

        _routesDirty = true;
        Seed(id, agent, relay);
        agent.HandleTimeout(now);
        LogConnectionCreated(_logger, id, relay, _role);
    }

    /// <summary>
    /// Seeds a new agent (spec §4.4.2): every shared candidate (srflx: signalled only, never added), then the relay
    /// candidates (IPv4, IPv6) of the connection's own relay.
    /// </summary>
    private void Seed(ConnectionId id, IceAgent agent, RelayId relay)
    {
        foreach (var candidate in _shared.All())
        {
            if (candidate.Kind == CandidateKind.ServerReflexive || agent.AddLocalCandidate(candidate))
            {
                _events.Enqueue(new NewIceCandidate(id, candidate.ToSdpString()));
            }
        }

        if (_allocations.TryGetValue(relay, out var allocation))
        {
            foreach (var relayed in allocation.RelayCandidates())
            {
                var candidate = Candidate.Relayed(relayed.Address);
                if (agent.AddLocalCandidate(candidate))
                {
                    _events.Enqueue(new NewIceCandidate(id, candidate.ToSdpString()));
                }
            }
        }
    }

    private protected bool RemoveInitial(ConnectionId id) => _initial.Remove(id, out _);

    private protected bool HasInitial(ConnectionId id) => _initial.ContainsKey(id);

    private protected bool TryTakeInitial(ConnectionId id, out InitialConnection initial) => _initial.Remove(id, out initial);

    private protected void AddInitial(ConnectionId id, InitialConnection initial) => _initial.Set(id, initial);

    private protected bool RemoveEstablished(ConnectionId id)
    {
        if (!_connections.Remove(id, out var connection))
        {
            return false;
        }

        connection.Dispose();
        _routesDirty = true;
        return true;
    }

    private protected bool TryGetEstablished(ConnectionId id, out Connection connection) => _connections.TryGetValue(id, out connection);

    private protected byte[] RandomKey()
    {
        var key = new byte[32];
        _random.Fill(key);
        return key;
    }

    private protected void UpdateLastNow(TimeSpan now) => _lastNow = Later(now);

    private protected ILogger Logger => _logger;

    /// <summary>
    /// The shared part of <c>upsert_connection</c> (spec §2.2): a no-op while a pending offer has that id or when an
    /// established connection already uses <paramref name="local"/>; otherwise a new connection replaces the old.
    /// </summary>
    /// <exception cref="NoTurnServersException">No relay to sample.</exception>
    public void UpsertConnection(ConnectionId connection, ReadOnlySpan<byte> remotePublicKey, ReadOnlySpan<byte> presharedKey, Credentials local, Credentials remote, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = Later(now);
        if (_initial.ContainsKey(connection))
        {
            LogUpsertIgnored(_logger, connection, "a pending offer has this id");
            return;
        }

        if (_connections.TryGetValue(connection, out var existing) && existing.Agent.LocalCredentials == ToIce(local))
        {
            return;
        }

        var relay = SampleRelay();
        var agent = NewAgent(ToIce(local));
        agent.SetRemoteCredentials(ToIce(remote), now);
        Establish(connection, agent, remotePublicKey, presharedKey, relay, now);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node reset; new public key {PublicKey}")]
    private static partial void LogReset(ILogger logger, string publicKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created connection {Connection} (relay {Relay}, {Role})")]
    private static partial void LogConnectionCreated(ILogger logger, ConnectionId connection, RelayId relay, IceRole role);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Upsert of connection {Connection} ignored: {Reason}")]
    private static partial void LogUpsertIgnored(ILogger logger, ConnectionId connection, string reason);
}
