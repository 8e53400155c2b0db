using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Firezone.Snownet.Stun;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Snownet.Turn;

/// <summary>
/// The Firezone relay's TURN server as a sans-IO state machine (UDP only). Feed it client datagrams, peer datagrams and
/// timeouts with the current time; poll <see cref="TryPollCommand"/> for control-plane output (responses to send,
/// allocation sockets to open or close) and <see cref="PollTimeout"/> for the next deadline. The per-packet data path
/// returns a small value instead of queueing, so the host can forward from its receive buffer.
/// </summary>
/// <remarks>
/// Behaviour follows Firezone's relay (stateless credentials, 100-use nonces, 600 s channel lifetime with 300 s
/// cooldown, the error codes and signing rules of upstream). Deliberate extensions, so that standard TURN clients work
/// too: channel numbers 0x4000–0x7FFF are accepted (RFC 5766 range; upstream: 0x4000–0x4FFF), CreatePermission installs
/// real RFC 8656 permissions (IP only, 300 s) and Send/Data indications are relayed through them (upstream drops Send
/// indications and never emits Data indications). A host that fails to open an allocation socket reports it through
/// <see cref="HandleAllocationFailed"/>, which deletes the allocation and turns its pending success into 508.
/// Wall-clock time for username expiry is the <c>now</c> passed in (upstream reads the clock inside the server).
/// Attribute-level decoding errors are answered with 400 (upstream: 400 or 500), and only for requests.
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

    private const int MaxResponseSize = 1024;

    private readonly Action<Span<byte>> _random;
    private readonly ILogger _logger;
    private readonly Dictionary<AddressKey, RelayAllocation> _allocationsByClient = new();
    private readonly Dictionary<int, RelayAllocation> _allocationsByPort = new();
    private readonly Dictionary<(int Port, AddressKey Peer), RelayChannel> _boundChannels = new();
    private readonly NonceStore _nonces = new();
    private readonly Queue<TurnServerCommand> _commands = new();
    private readonly Dictionary<int, (byte[] Failure, IPEndPoint Client)> _pendingAllocationFailures = new();
    private DateTimeOffset? _deadline;
    private bool _deadlineDirty;
    private long _relayedBytes;

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

        _random = options.Random ?? RandomNumberGenerator.Fill;
        _logger = logger ?? NullLogger.Instance;
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

    /// <summary>Number of allocations.</summary>
    public int AllocationCount => _allocationsByClient.Count;

    /// <summary>Number of bound channels (cooling-down channels excluded).</summary>
    public int BoundChannelCount => _boundChannels.Count;

    /// <summary>Total payload bytes relayed in both directions.</summary>
    public long RelayedBytes => _relayedBytes;

    private int PortCount => Math.Max(0, HighestPort - LowestPort + 1);

    /// <summary>Takes the next control-plane command, in FIFO order.</summary>
    public bool TryPollCommand(out TurnServerCommand command)
    {
        if (_commands.TryDequeue(out command))
        {
            if (command.Kind == TurnServerCommandKind.SendMessage && command.PendingAllocationPort != 0)
            {
                _pendingAllocationFailures.Remove(command.PendingAllocationPort);
            }

            return true;
        }

        return false;
    }

    /// <summary>The earliest instant <see cref="HandleTimeout"/> should run; null when nothing is scheduled.</summary>
    public DateTimeOffset? PollTimeout()
    {
        if (_deadlineDirty)
        {
            DateTimeOffset? earliest = null;
            foreach (var allocation in _allocationsByClient.Values)
            {
                earliest = Min(earliest, allocation.Expiry);
                foreach (var channel in allocation.ChannelsByNumber.Values)
                {
                    earliest = Min(earliest, channel.Bound ? channel.Expiry : channel.Expiry + ChannelCooldown);
                }
            }

            _deadline = earliest;
            _deadlineDirty = false;
        }

        return _deadline;
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset b) => a is null || b < a ? b : a;

    /// <summary>Registers a nonce with 100 uses (test hook, as upstream's "add nonce").</summary>
    internal void AddNonce(Guid nonce) => _nonces.Add(nonce);

    /// <summary>Live nonces (at most <see cref="NonceStore.DefaultCapacity"/>).</summary>
    internal int NonceCount => _nonces.Count;

    /// <summary>A datagram received on the listening port from <paramref name="client"/>.</summary>
    /// <returns>Non-null when a payload in <paramref name="datagram"/> must be sent to a peer from an allocation socket.</returns>
    public RelayToPeer? HandleClientInput(ReadOnlySpan<byte> datagram, IPEndPoint client, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(client);
        return HandleClientInput(datagram, AddressKey.From(client), client, null, now);
    }

    /// <summary>Allocation-free variant for hosts that receive into a <see cref="SocketAddress"/>.</summary>
    /// <returns>Non-null when a payload in <paramref name="datagram"/> must be sent to a peer from an allocation socket.</returns>
    public RelayToPeer? HandleClientInput(ReadOnlySpan<byte> datagram, SocketAddress client, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AddressKey.TryFrom(client, out var key) ? HandleClientInput(datagram, key, null, client, now) : null;
    }

    private RelayToPeer? HandleClientInput(ReadOnlySpan<byte> datagram, AddressKey clientKey, IPEndPoint? client, SocketAddress? clientAddress, DateTimeOffset now)
    {
        if (datagram.IsEmpty)
        {
            return null;
        }

        byte first = datagram[0];
        if (first >= 0x40 && first <= 0x7F)
        {
            return HandleChannelData(datagram, clientKey);
        }

        if (first > 3)
        {
            return null;
        }

        client ??= ToEndPoint(clientAddress!);
        return HandleStun(datagram, clientKey, client, now);
    }

    private static IPEndPoint ToEndPoint(SocketAddress address) =>
        (IPEndPoint)(address.Family == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0)).Create(address);

    private RelayToPeer? HandleChannelData(ReadOnlySpan<byte> datagram, AddressKey clientKey)
    {
        if (!ChannelData.TryParse(datagram, out var frame)
            || !_allocationsByClient.TryGetValue(clientKey, out var allocation)
            || !allocation.ChannelsByNumber.TryGetValue(frame.Channel, out var channel)
            || !channel.Bound)
        {
            return null;
        }

        CountRelayed(frame.Payload.Length);
        return new RelayToPeer(allocation.Port, channel.Peer, channel.PeerSocketAddress, ChannelData.HeaderLength, frame.Payload.Length);
    }

    private void CountRelayed(int bytes)
    {
        _relayedBytes += bytes;
        TurnServerMetrics.DataRelayed.Add(bytes);
    }

    /// <summary>A datagram received on allocation port <paramref name="allocationPort"/> from <paramref name="peer"/>.</summary>
    /// <returns>Non-null when the datagram must be sent to a client as ChannelData.</returns>
    public RelayToClient? HandlePeerTraffic(ReadOnlySpan<byte> datagram, IPEndPoint peer, int allocationPort, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return HandlePeerTraffic(datagram, AddressKey.From(peer), peer, null, allocationPort, now);
    }

    /// <summary>Allocation-free variant for hosts that receive into a <see cref="SocketAddress"/>.</summary>
    /// <returns>Non-null when the datagram must be sent to a client as ChannelData.</returns>
    public RelayToClient? HandlePeerTraffic(ReadOnlySpan<byte> datagram, SocketAddress peer, int allocationPort, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return AddressKey.TryFrom(peer, out var key) ? HandlePeerTraffic(datagram, key, null, peer, allocationPort, now) : null;
    }

    private RelayToClient? HandlePeerTraffic(ReadOnlySpan<byte> datagram, AddressKey peerKey, IPEndPoint? peer, SocketAddress? peerAddress, int port, DateTimeOffset now)
    {
        if (_boundChannels.TryGetValue((port, peerKey), out var channel))
        {
            if (datagram.Length > ushort.MaxValue)
            {
                return null;
            }

            CountRelayed(datagram.Length);
            return new RelayToClient(channel.Allocation.Client, channel.Allocation.ClientSocketAddress, channel.Number);
        }

        // RFC 8656 extension: a peer the client permitted via CreatePermission gets its data delivered in a Data indication.
        if (_allocationsByPort.TryGetValue(port, out var allocation)
            && allocation.Permissions.TryGetValue(peerKey.IpOnly, out var permissionExpiry)
            && permissionExpiry > now
            && datagram.Length <= 65_000)
        {
            peer ??= ToEndPoint(peerAddress!);
            var buffer = new byte[datagram.Length + 64];
            var builder = new StunMessageBuilder(buffer, StunMethod.Data, StunClass.Indication, NewTransactionId());
            builder.AddXorPeerAddress(peer);
            builder.AddData(datagram);
            CountRelayed(datagram.Length);
            _commands.Enqueue(new TurnServerCommand { Kind = TurnServerCommandKind.SendMessage, Payload = builder.ToArray(), Destination = allocation.Client });
        }

        return null;
    }

    private TransactionId NewTransactionId()
    {
        Span<byte> bytes = stackalloc byte[TransactionId.Length];
        _random(bytes);
        return new TransactionId(bytes);
    }

    /// <summary>Runs expiries due at <paramref name="now"/> (pass the deadline that fired).</summary>
    public void HandleTimeout(DateTimeOffset now)
    {
        List<RelayAllocation>? expired = null;
        foreach (var allocation in _allocationsByClient.Values)
        {
            if (allocation.Expiry <= now)
            {
                (expired ??= []).Add(allocation);
            }
        }

        if (expired is not null)
        {
            foreach (var allocation in expired)
            {
                LogAllocationExpired(_logger, allocation.Client, allocation.Port);
                DeleteAllocation(allocation);
            }
        }

        List<RelayChannel>? removed = null;
        foreach (var allocation in _allocationsByClient.Values)
        {
            foreach (var channel in allocation.ChannelsByNumber.Values)
            {
                if (channel.Bound && channel.Expiry <= now)
                {
                    channel.Bound = false;
                    _boundChannels.Remove((allocation.Port, channel.PeerKey));
                    _deadlineDirty = true;
                }

                if (!channel.Bound && channel.Expiry + ChannelCooldown <= now)
                {
                    (removed ??= []).Add(channel);
                }
            }

            if (allocation.Permissions.Count > 0)
            {
                foreach (var (ip, expiry) in allocation.Permissions)
                {
                    if (expiry <= now)
                    {
                        allocation.Permissions.Remove(ip);
                    }
                }
            }
        }

        if (removed is not null)
        {
            foreach (var channel in removed)
            {
                channel.Allocation.ChannelsByNumber.Remove(channel.Number);
                channel.Allocation.ChannelsByPeer.Remove(channel.PeerKey);
            }

            _deadlineDirty = true;
        }
    }

    /// <summary>
    /// The host could not open the socket of allocation <paramref name="port"/>: the allocation is deleted (its sockets
    /// freed) and, if its success response has not been polled yet, that response becomes a 508 Insufficient Capacity.
    /// </summary>
    public void HandleAllocationFailed(int port, DateTimeOffset now)
    {
        if (!_allocationsByPort.TryGetValue(port, out var allocation))
        {
            return;
        }

        LogAllocationFailed(_logger, allocation.Client, port);
        DeleteAllocation(allocation);
        if (_pendingAllocationFailures.Remove(port, out var failure))
        {
            int count = _commands.Count;
            for (int i = 0; i < count; i++)
            {
                var command = _commands.Dequeue();
                if (command.Kind == TurnServerCommandKind.SendMessage && command.PendingAllocationPort == port)
                {
                    command = command with { Payload = failure.Failure, PendingAllocationPort = 0 };
                }

                _commands.Enqueue(command);
            }
        }
    }

    private void DeleteAllocation(RelayAllocation allocation)
    {
        _allocationsByClient.Remove(allocation.ClientKey);
        _allocationsByPort.Remove(allocation.Port);
        foreach (var channel in allocation.ChannelsByNumber.Values)
        {
            _boundChannels.Remove((allocation.Port, channel.PeerKey));
        }

        allocation.ChannelsByNumber.Clear();
        allocation.ChannelsByPeer.Clear();
        allocation.Permissions.Clear();
        if (allocation.HasIPv4)
        {
            _commands.Enqueue(new TurnServerCommand { Kind = TurnServerCommandKind.FreeAllocation, Port = allocation.Port, Family = AddressFamily.InterNetwork });
        }

        if (allocation.HasIPv6)
        {
            _commands.Enqueue(new TurnServerCommand { Kind = TurnServerCommandKind.FreeAllocation, Port = allocation.Port, Family = AddressFamily.InterNetworkV6 });
        }

        TurnServerMetrics.Allocations.Add(-1);
        _deadlineDirty = true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocation of {Client} on port {Port} expired")]
    private static partial void LogAllocationExpired(ILogger logger, IPEndPoint client, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Allocation of {Client} on port {Port} failed: the host could not open its socket")]
    private static partial void LogAllocationFailed(ILogger logger, IPEndPoint client, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created allocation for {Client} on port {Port} (IPv4: {IPv4}, IPv6: {IPv6}, lifetime {Lifetime} s)")]
    private static partial void LogAllocationCreated(ILogger logger, IPEndPoint client, int port, bool ipv4, bool ipv6, uint lifetime);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} from {Client} answered with error {Code}")]
    private static partial void LogErrorResponse(ILogger logger, StunMethod method, IPEndPoint client, int code);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropping {Method} from {Client}: its USERNAME cannot be used to sign the error response")]
    private static partial void LogUnsignable(ILogger logger, StunMethod method, IPEndPoint client);
}
