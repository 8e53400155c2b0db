using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Firezone.Snownet.Stun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.Turn;

/// <summary>
/// The Firezone relay's TURN server as a sans-IO state machine (UDP only). Feed it client datagrams, peer datagrams and
/// timeouts with the current (monotonic) time; poll <see cref="TryPollCommand"/> for control-plane output (responses to send,
/// allocation sockets to open or close) and <see cref="PollTimeout"/> for the next deadline. The ChannelData data path
/// is <see cref="Forwarder"/>, which receive threads may use concurrently without a lock.
/// </summary>
/// <remarks>
/// <para><b>Threading.</b> Everything on this class is single-threaded: one caller at a time (the control plane). The
/// exceptions are <see cref="Forwarder"/> (whose methods any number of threads may call concurrently with anything) and
/// the counters <see cref="AllocationCount"/>, <see cref="BoundChannelCount"/> and <see cref="RelayedBytes"/>, which may
/// be read from any thread.</para>
/// <para><b>Upstream behaviour</b> (relay.md §3–§8): stateless credentials, 100-use nonces whose use is consumed before
/// the MESSAGE-INTEGRITY check, 438 for unknown or used-up nonces, 600 s channel lifetime with 300 s cooldown, the error
/// codes and signing rules of upstream, CreatePermission without an allocation is a no-op success.</para>
/// <para><b>Deliberate differences.</b> Channel numbers 0x4000–0x7FFF are accepted (RFC 5766 range; upstream:
/// 0x4000–0x4FFF). CreatePermission installs real RFC 8656 permissions (IP only, 300 s) and Send/Data indications are
/// relayed through them (upstream drops Send indications and never emits Data indications); CreatePermission needs at
/// least one XOR-PEER-ADDRESS (400 before authentication), answers 443 for a peer family the allocation does not serve
/// and is all-or-nothing. Attributes after MESSAGE-INTEGRITY are ignored as RFC 8489 §14.5 says (upstream honours
/// them, so an on-path attacker could append e.g. a XOR-PEER-ADDRESS behind the integrity of a replayed request); the
/// codec (<see cref="StunMessage"/>) never shows them. Nonces expire 1 hour after issue
/// (<see cref="TurnServerOptions.NonceLifetime"/>; upstream: never). Wall-clock time for username expiry is the
/// <c>utcNow</c> passed to <c>HandleClientInput</c> (upstream reads the clock inside the server). Attribute-level decoding errors are answered with
/// 400 (upstream: 400 or 500), and only for requests. A host that cannot open an allocation socket reports it through
/// <see cref="HandleAllocationFailed(int, AddressFamily, bool, TimeSpan)"/>: a port taken by another process is
/// retried on other ports, otherwise the Allocate is answered 508 (upstream's binary exits).</para>
/// <para><b>Time.</b> Every <c>now</c> is a monotonic <see cref="TimeSpan"/> since an origin the host chooses (e.g.
/// <c>TimeProvider.GetElapsedTime(start)</c>); every lifetime and timer (allocations, channels, permissions, nonces,
/// busy ports) is measured on it, so a wall-clock jump shifts none of them. The wall clock enters in one place only:
/// the <c>utcNow</c> of <c>HandleClientInput</c>, against which the expiry in a USERNAME
/// (<c>&lt;unix seconds&gt;:&lt;salt&gt;</c>) is checked.</para>
/// <para><b>Expiry.</b> Every timed item (allocations, channels — bound until their expiry, deleted 300 s later —,
/// permissions, nonces, busy-port marks) has exactly one entry in one indexed min-heap (<see cref="DeadlineQueue"/>), so
/// <see cref="PollTimeout"/> is O(1), a refresh is O(log n) and <see cref="HandleTimeout"/> touches only what is due.
/// Items due at the same instant run in the order of relay.md §7: allocations, then channel unbinds, then channel
/// deletions (then permissions, nonces and busy ports).</para>
/// <para><b>Bounds</b> on every table a remote peer can grow:
/// allocations ≤ the port range (<see cref="TurnServerOptions.LowestPort"/>–<see cref="TurnServerOptions.HighestPort"/>,
/// 16,384 by default) minus busy ports;
/// channels (bound + cooling) ≤ <see cref="TurnServerOptions.MaxChannels"/> (262,144) in total and ≤ 16,384 per allocation
/// (the channel-number range);
/// permissions ≤ <see cref="TurnServerOptions.MaxPermissionsPerAllocation"/> (64) per allocation and
/// ≤ <see cref="TurnServerOptions.MaxPermissions"/> (100,000) in total;
/// nonces ≤ <see cref="TurnServerOptions.MaxNonces"/> (100,000), each for at most <see cref="TurnServerOptions.NonceLifetime"/>;
/// pending Allocate responses ≤ one per allocation;
/// busy-port marks ≤ the port range, each for <see cref="BusyPortHold"/> (60 s);
/// the deadline heap ≤ the sum of all of these (one entry per item);
/// the forwarder ≤ two routes per bound channel;
/// the scratch set of one CreatePermission ≤ the XOR-PEER-ADDRESS attributes one datagram can hold (about 5,400);
/// the command queue holds what the calls since the last drain produced (a host drains it after every call).</para>
/// </remarks>
public sealed partial class TurnServer
{
    /// <summary>Allocation lifetime when the request carries no LIFETIME.</summary>
    public static readonly TimeSpan DefaultAllocationLifetime = TimeSpan.FromSeconds(600);

    /// <summary>Requested lifetimes are capped at this.</summary>
    public static readonly TimeSpan MaxAllocationLifetime = TimeSpan.FromSeconds(3600);

    /// <summary>Lifetime of a channel binding.</summary>
    public static readonly TimeSpan ChannelLifetime = TimeSpan.FromSeconds(600);

    /// <summary>After expiry a channel's number and peer stay reserved this long.</summary>
    public static readonly TimeSpan ChannelCooldown = TimeSpan.FromSeconds(300);

    /// <summary>Lifetime of a CreatePermission permission (RFC 8656).</summary>
    public static readonly TimeSpan PermissionLifetime = TimeSpan.FromSeconds(300);

    /// <summary>How long a port the host reported taken is skipped by port draws (and counted as used).</summary>
    public static readonly TimeSpan BusyPortHold = TimeSpan.FromSeconds(60);

    private const int MaxResponseSize = 1024;

    // Tie-breaks for deadlines at the same instant (relay.md §7 order first).
    private const int RankAllocation = 0;
    private const int RankChannelUnbind = 1;
    private const int RankChannelDelete = 2;
    private const int RankPermission = 3;
    private const int RankNonce = 4;
    private const int RankBusyPort = 5;

    private readonly Action<Span<byte>> _random;
    private readonly ILogger _logger;
    private readonly Dictionary<AddressKey, RelayAllocation> _allocationsByClient = new();
    private readonly Dictionary<int, RelayAllocation> _allocationsByPort = new();
    private readonly Dictionary<int, BusyPort> _busyPorts = new();
    private readonly DeadlineQueue _deadlines = new();
    private readonly NonceStore _nonces;
    private readonly TurnServerCommandQueue _commands = new();
    private readonly HashSet<AddressKey> _peerScratch = new();
    private readonly int _maxPermissionsPerAllocation;
    private readonly int _maxPermissions;
    private readonly int _maxChannels;
    private readonly int _maxPortAttempts;
    private int _allocationCount;
    private int _boundChannelCount;
    private int _channelCount;
    private int _permissionCount;
    private long _relayedBytes;
    private long _timeoutItemsHandled;

    /// <summary>Creates a server. At least one public address must be configured.</summary>
    public TurnServer(TurnServerOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.PublicIPv4 is null && options.PublicIPv6 is null)
        {
            throw new ArgumentException("At least one of PublicIPv4 and PublicIPv6 is required.", nameof(options));
        }

        if (options.PublicIPv4 is { AddressFamily: not AddressFamily.InterNetwork } || options.PublicIPv6 is { AddressFamily: not AddressFamily.InterNetworkV6 })
        {
            throw new ArgumentException("PublicIPv4 must be IPv4 and PublicIPv6 must be IPv6.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPermissionsPerAllocation, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPermissions, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxChannels, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPortAttempts, 1, nameof(options));
        _random = options.Random ?? RandomNumberGenerator.Fill;
        _logger = logger ?? NullLogger.Instance;
        _maxPermissionsPerAllocation = options.MaxPermissionsPerAllocation;
        _maxPermissions = options.MaxPermissions;
        _maxChannels = options.MaxChannels;
        _maxPortAttempts = options.MaxPortAttempts;
        _nonces = new NonceStore(_deadlines, options.MaxNonces, options.NonceLifetime, RankNonce);
        PublicIPv4 = options.PublicIPv4;
        PublicIPv6 = options.PublicIPv6;
        ListenPort = options.ListenPort;
        LowestPort = options.LowestPort;
        HighestPort = options.HighestPort;
        if (options.AuthSecret is { } secret)
        {
            AuthSecret = secret;
        }
        else
        {
            Span<byte> bytes = stackalloc byte[32];
            _random(bytes);
            AuthSecret = Convert.ToHexStringLower(bytes);
        }
    }

    /// <summary>The stamp secret credentials are derived from (sent to the portal on join).</summary>
    public string AuthSecret { get; }

    /// <summary>Public IPv4 address, if served.</summary>
    public IPAddress? PublicIPv4 { get; }

    /// <summary>Public IPv6 address, if served.</summary>
    public IPAddress? PublicIPv6 { get; }

    /// <summary>The listening port.</summary>
    public int ListenPort { get; }

    /// <summary>Lowest allocation port.</summary>
    public int LowestPort { get; }

    /// <summary>Highest allocation port.</summary>
    public int HighestPort { get; }

    /// <summary>The thread-safe ChannelData data path (see <see cref="RelayForwarder"/>); the control plane keeps it up to date.</summary>
    public RelayForwarder Forwarder { get; } = new();

    /// <summary>Number of allocations. Safe to read from any thread.</summary>
    public int AllocationCount => Volatile.Read(ref _allocationCount);

    /// <summary>Number of bound channels (cooling-down channels excluded). Safe to read from any thread.</summary>
    public int BoundChannelCount => Volatile.Read(ref _boundChannelCount);

    /// <summary>
    /// Total payload bytes relayed in both directions through <see cref="HandleClientInput(ReadOnlySpan{byte}, SocketAddress, TimeSpan, DateTimeOffset)"/>
    /// and <see cref="HandlePeerTraffic(ReadOnlySpan{byte}, SocketAddress, int, TimeSpan)"/> (not through
    /// <see cref="Forwarder"/>, which does not count). Safe to read from any thread.
    /// </summary>
    public long RelayedBytes => Volatile.Read(ref _relayedBytes);

    /// <summary>Live nonces (at most <see cref="TurnServerOptions.MaxNonces"/>).</summary>
    internal int NonceCount => _nonces.Count;

    /// <summary>Channels, bound or cooling down (at most <see cref="TurnServerOptions.MaxChannels"/>).</summary>
    internal int ChannelCount => _channelCount;

    /// <summary>Permissions over all allocations (at most <see cref="TurnServerOptions.MaxPermissions"/>).</summary>
    internal int PermissionCount => _permissionCount;

    /// <summary>Ports currently marked busy.</summary>
    internal int BusyPortCount => _busyPorts.Count;

    /// <summary>Entries in the deadline heap (one per timed item).</summary>
    internal int DeadlineCount => _deadlines.Count;

    /// <summary>How many timed items <see cref="HandleTimeout"/> has taken off the heap and handled, ever.</summary>
    internal long TimeoutItemsHandled => _timeoutItemsHandled;

    private int PortCount => Math.Max(0, HighestPort - LowestPort + 1);

    /// <summary>Registers a nonce with 100 uses and no expiry (test hook, as upstream's "add nonce").</summary>
    internal void AddNonce(Guid nonce) => _nonces.Add(nonce, null);

    /// <summary>Registers a nonce with 100 uses issued at <paramref name="now"/> (it expires like an issued one).</summary>
    internal void AddNonce(Guid nonce, TimeSpan now) => _nonces.Add(nonce, now.Ticks);

    /// <summary>
    /// Takes the next control-plane command, in order. A host must execute each one before polling the next: for
    /// CreateAllocation, bind synchronously and, on failure, call
    /// <see cref="HandleAllocationFailed(int, AddressFamily, bool, TimeSpan)"/> before polling again (the retry on
    /// another port is then the next command, ahead of the Allocate response, which carries the port finally used).
    /// </summary>
    public bool TryPollCommand(out TurnServerCommand command)
    {
        while (_commands.TryDequeue(out var queued))
        {
            command = queued.Command;
            if (queued.Pending is { } pending)
            {
                command = CompleteAllocateResponse(pending, command);
            }
            else if (command.Kind == TurnServerCommandKind.CreateAllocation && queued.Allocation is { } allocation)
            {
                if (allocation.Generation != queued.Generation)
                {
                    continue; // void: the allocation moved to another port or failed since this was queued
                }

                allocation.PolledFamilies |= RelayAllocation.FamilyFlag(command.Family);
            }

            return true;
        }

        command = default;
        return false;
    }

    /// <summary>
    /// The earliest instant (monotonic, like every <c>now</c>) <see cref="HandleTimeout"/> should run, in O(1); null
    /// when nothing is scheduled. It may lie in the past: run <see cref="HandleTimeout"/> then.
    /// </summary>
    public TimeSpan? PollTimeout() => _deadlines.TryPeek(out long due) ? TimeSpan.FromTicks(due) : null;

    /// <summary>A datagram received on the listening port from <paramref name="client"/>.</summary>
    /// <param name="datagram">The datagram.</param>
    /// <param name="client">Its sender.</param>
    /// <param name="now">The current instant (monotonic): every lifetime and timer is measured on it.</param>
    /// <param name="utcNow">The wall clock, read only to check the expiry in a request's USERNAME.</param>
    /// <returns>Non-null when a payload in <paramref name="datagram"/> must be sent to a peer from an allocation socket.</returns>
    public RelayToPeer? HandleClientInput(ReadOnlySpan<byte> datagram, IPEndPoint client, TimeSpan now, DateTimeOffset utcNow)
    {
        ArgumentNullException.ThrowIfNull(client);
        return HandleClientInput(datagram, AddressKey.From(client), client, null, now, utcNow);
    }

    /// <summary>Allocation-free variant for hosts that receive into a <see cref="SocketAddress"/>.</summary>
    /// <param name="datagram">The datagram.</param>
    /// <param name="client">Its sender.</param>
    /// <param name="now">The current instant (monotonic): every lifetime and timer is measured on it.</param>
    /// <param name="utcNow">The wall clock, read only to check the expiry in a request's USERNAME.</param>
    /// <returns>Non-null when a payload in <paramref name="datagram"/> must be sent to a peer from an allocation socket.</returns>
    public RelayToPeer? HandleClientInput(ReadOnlySpan<byte> datagram, SocketAddress client, TimeSpan now, DateTimeOffset utcNow)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AddressKey.TryFrom(client, out var key) ? HandleClientInput(datagram, key, null, client, now, utcNow) : null;
    }

    private RelayToPeer? HandleClientInput(ReadOnlySpan<byte> datagram, AddressKey clientKey, IPEndPoint? client, SocketAddress? clientAddress, TimeSpan now, DateTimeOffset utcNow)
    {
        if (datagram.IsEmpty)
        {
            return null;
        }

        byte first = datagram[0];
        if (first >= 0x40 && first <= 0x7F)
        {
            if (!Forwarder.TryRelayToPeer(datagram, clientKey, out var relay))
            {
                return null;
            }

            CountRelayed(relay.PayloadLength);
            return relay;
        }

        if (first > 3)
        {
            return null;
        }

        client ??= ToEndPoint(clientAddress!);
        return HandleStun(datagram, clientKey, client, now, utcNow);
    }

    private static IPEndPoint ToEndPoint(SocketAddress address) =>
        (IPEndPoint)(address.Family == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0)).Create(address);

    private void CountRelayed(int bytes) => Volatile.Write(ref _relayedBytes, _relayedBytes + bytes);

    /// <summary>A datagram received on allocation port <paramref name="allocationPort"/> from <paramref name="peer"/> at <paramref name="now"/> (monotonic).</summary>
    /// <returns>Non-null when the datagram must be sent to a client as ChannelData.</returns>
    public RelayToClient? HandlePeerTraffic(ReadOnlySpan<byte> datagram, IPEndPoint peer, int allocationPort, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return HandlePeerTraffic(datagram, AddressKey.From(peer), peer, null, allocationPort, now);
    }

    /// <summary>Allocation-free variant for hosts that receive into a <see cref="SocketAddress"/>.</summary>
    /// <returns>
    /// Non-null when the datagram must be sent to a client as ChannelData. A datagram from a peer with a permission
    /// but no channel is queued as a Data indication instead (a SendMessage command).
    /// </returns>
    public RelayToClient? HandlePeerTraffic(ReadOnlySpan<byte> datagram, SocketAddress peer, int allocationPort, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return AddressKey.TryFrom(peer, out var key) ? HandlePeerTraffic(datagram, key, null, peer, allocationPort, now) : null;
    }

    private RelayToClient? HandlePeerTraffic(ReadOnlySpan<byte> datagram, AddressKey peerKey, IPEndPoint? peer, SocketAddress? peerAddress, int port, TimeSpan now)
    {
        if (Forwarder.TryRelayToClient(datagram.Length, peerKey, port, out var relay))
        {
            CountRelayed(datagram.Length);
            return relay;
        }

        TryDeliverDataIndication(datagram, peerKey, peer, peerAddress, port, now);
        return null;
    }

    /// <summary>
    /// Runs the expiries due at or before <paramref name="now"/> (monotonic), earliest first; only the items that are
    /// due are touched.
    /// </summary>
    public void HandleTimeout(TimeSpan now)
    {
        long ticks = now.Ticks;
        while (_deadlines.TryDequeueDue(ticks, out var entry))
        {
            _timeoutItemsHandled++;
            switch (entry)
            {
                case RelayAllocation allocation:
                    LogAllocationExpired(_logger, allocation.Client, allocation.Port);
                    DeleteAllocation(allocation, freeSockets: true);
                    break;
                case RelayChannel { Bound: true } channel:
                    UnbindChannel(channel);
                    break;
                case RelayChannel channel:
                    DeleteChannel(channel);
                    break;
                case RelayPermission permission:
                    DeletePermission(permission);
                    break;
                case NonceStore.Entry nonce:
                    _nonces.Expire(nonce);
                    break;
                case BusyPort busy:
                    _busyPorts.Remove(busy.Port);
                    break;
            }
        }
    }

    /// <summary>Deletes an allocation with its channels and permissions; with <paramref name="freeSockets"/> queues FreeAllocation per family.</summary>
    private void DeleteAllocation(RelayAllocation allocation, bool freeSockets)
    {
        _allocationsByClient.Remove(allocation.ClientKey);
        _allocationsByPort.Remove(allocation.Port);
        _deadlines.Remove(allocation);
        allocation.Deleted = true;
        DeleteChannels(allocation);
        DeletePermissions(allocation);
        if (freeSockets)
        {
            if (allocation.HasIPv4)
            {
                _commands.Enqueue(new QueuedCommand(Free(allocation.Port, AddressFamily.InterNetwork)));
            }

            if (allocation.HasIPv6)
            {
                _commands.Enqueue(new QueuedCommand(Free(allocation.Port, AddressFamily.InterNetworkV6)));
            }
        }

        Volatile.Write(ref _allocationCount, _allocationsByClient.Count);
    }

    private static TurnServerCommand Free(int port, AddressFamily family) =>
        new() { Kind = TurnServerCommandKind.FreeAllocation, Port = port, Family = family };

    private static TurnServerCommand Create(int port, AddressFamily family) =>
        new() { Kind = TurnServerCommandKind.CreateAllocation, Port = port, Family = family };

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocation of {Client} on port {Port} expired")]
    private static partial void LogAllocationExpired(ILogger logger, IPEndPoint client, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created allocation for {Client} on port {Port} (IPv4: {IPv4}, IPv6: {IPv6}, lifetime {Lifetime} s)")]
    private static partial void LogAllocationCreated(ILogger logger, IPEndPoint client, int port, bool ipv4, bool ipv6, uint lifetime);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} from {Client} answered with error {Code}")]
    private static partial void LogErrorResponse(ILogger logger, StunMethod method, IPEndPoint client, int code);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropping {Method} from {Client}: its USERNAME cannot be used to sign the error response")]
    private static partial void LogUnsignable(ILogger logger, StunMethod method, IPEndPoint client);
}
