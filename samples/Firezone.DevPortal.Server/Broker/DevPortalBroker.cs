using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.DevPortal.Broker;

/// <summary>
/// The dev portal's control plane without sockets: feed it joins, messages, leaves, config changes and time; poll the
/// frames it wants sent (<see cref="PollTransmit"/>). Speaks the 2024-11-29 protocol (phoenix-and-portal.md §6–§9):
/// a client's <c>request_connection</c> becomes the gateway's (deprecated) <c>request_connection</c> and its
/// <c>connection_ready</c> the client's reply; <c>reuse_connection</c> becomes <c>allow_access</c> (no reply, as
/// upstream). Not thread-safe: one caller at a time. For development and tests; not a production portal.
/// </summary>
/// <remarks>
/// Caps: at most <see cref="MaxPendingConnections"/> connection requests wait for gateways (beyond that a request gets
/// the error reply <c>retry_later</c>); the other tables are bounded by the config (one entry per configured client,
/// gateway, resource) and by the relays that joined.
/// </remarks>
public sealed partial class DevPortalBroker
{
    /// <summary>Requests waiting for a gateway's answer, at most.</summary>
    public const int MaxPendingConnections = 4096;

    /// <summary>Events waiting for <see cref="PollEvent"/>, at most (beyond that the oldest is dropped).</summary>
    public const int MaxQueuedEvents = 1024;

    /// <summary>The keepalive the portal tells clients (seconds).</summary>
    public const ulong PersistentKeepalive = 25;

    private readonly Action<Span<byte>> _random;
    private readonly ILogger _logger;
    private readonly Queue<BrokerTransmit> _transmits = new();
    private readonly Queue<BrokerEvent> _events = new();
    private readonly TunnelAddressPool _addresses = new();
    private readonly Dictionary<long, BrokerPeer> _sessions = [];
    private readonly Dictionary<ClientId, ClientPeer> _clients = [];
    private readonly Dictionary<GatewayId, GatewayPeer> _gateways = [];
    private readonly List<RelayPeer> _relays = [];
    private readonly Dictionary<string, PendingConnection> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<(GatewayId Gateway, ClientId Client, ResourceId Resource)> _access = [];
    private long _nextRef;

    /// <summary>Creates a broker for a (validated) config.</summary>
    /// <param name="config">The config; validated here.</param>
    /// <param name="random">Randomness for salts and refs (default: the system's CSPRNG).</param>
    /// <param name="logger">Where it says what it brokers.</param>
    public DevPortalBroker(DevPortalConfig config, Action<Span<byte>>? random = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        _random = random ?? RandomNumberGenerator.Fill;
        _logger = logger ?? NullLogger.Instance;
        _addresses.Assign(Config);
    }

    /// <summary>The config in force.</summary>
    public DevPortalConfig Config { get; private set; }

    /// <summary>The gateways joined now.</summary>
    public IReadOnlyCollection<GatewayId> OnlineGateways => _gateways.Keys;

    /// <summary>The clients joined now.</summary>
    public IReadOnlyCollection<ClientId> OnlineClients => _clients.Keys;

    /// <summary>The relays joined now, in join order.</summary>
    public IReadOnlyList<RelayId> OnlineRelays => [.. _relays.Select(r => r.Id)];

    /// <summary>The tunnel addresses of a configured client.</summary>
    public (IPAddress IPv4, IPAddress IPv6) AddressesOf(ClientConfig client) => _addresses[TunnelAddressPool.ClientKey(client)];

    /// <summary>The tunnel addresses of a configured gateway.</summary>
    public (IPAddress IPv4, IPAddress IPv6) AddressesOf(GatewayConfig gateway) => _addresses[TunnelAddressPool.GatewayKey(gateway)];

    /// <summary>Whether <paramref name="token"/> may open a socket on <paramref name="mode"/> (<c>client</c>, <c>gateway</c>, <c>relay</c>); false → 401.</summary>
    public bool IsKnownToken(string mode, string? token) => token is not null && mode switch
    {
        PortalMessages.ClientTopic => Config.Clients.Any(c => c.Token == token),
        PortalMessages.GatewayTopic => Config.Gateways.Any(g => g.Token == token),
        PortalMessages.RelayTopic => Config.Relays.Any(r => r.Token == token),
        _ => false,
    };

    /// <summary>The next frame to send, if any.</summary>
    public bool PollTransmit(out BrokerTransmit transmit) => _transmits.TryDequeue(out transmit!);

    /// <summary>The next thing the broker did, if any (for hosts that show it).</summary>
    public bool PollEvent(out BrokerEvent brokerEvent) => _events.TryDequeue(out brokerEvent!);

    /// <summary>When <see cref="HandleTimeout"/> should run next (the earliest pending request deadline), or null.</summary>
    public TimeSpan? PollTimeout() => _pending.Count == 0 ? null : _pending.Values.Min(p => p.Deadline);

    /// <summary>
    /// A <c>phx_join</c> on a session: checks it, replies (ok <c>{}</c> or an error) and, when accepted, sends the
    /// <c>init</c> (and tells clients and gateways about a relay that joined). Returns whether it was accepted.
    /// </summary>
    /// <param name="session">The session's id.</param>
    /// <param name="mode">The socket's path mode (<c>client</c>, <c>gateway</c>, <c>relay</c>).</param>
    /// <param name="topic">The join's topic.</param>
    /// <param name="query">The login query.</param>
    /// <param name="remote">The address the component connected from.</param>
    /// <param name="payload">The join payload.</param>
    /// <param name="ref">The join's ref.</param>
    /// <param name="utcNow">Wall clock (for credential expiry).</param>
    public bool Join(long session, string mode, string topic, IReadOnlyDictionary<string, string> query, IPAddress remote, JsonElement payload, ulong? @ref, DateTimeOffset utcNow)
    {
        ArgumentNullException.ThrowIfNull(query);
        string? reason = topic != mode ? "unmatched topic" : null;
        query.TryGetValue("token", out string? token);
        query.TryGetValue("name", out string? name);
        name ??= "unnamed";
        if (reason is null && !IsKnownToken(mode, token)) reason = "invalid token";

        if (reason is null && mode is PortalMessages.ClientTopic or PortalMessages.GatewayTopic
            && !(query.TryGetValue("public_key", out string? keyText) && Key.TryParse(keyText, out _)))
        {
            reason = "the login query needs public_key: the padded base64 of a 32-byte X25519 key";
        }

        GatewayConfig? gatewayConfig = null;
        if (reason is null && mode == PortalMessages.GatewayTopic)
        {
            query.TryGetValue("external_id", out string? externalId);
            var withToken = Config.Gateways.Where(g => g.Token == token).ToList();
            gatewayConfig = withToken.FirstOrDefault(g => g.ExternalId is not null && g.ExternalId == externalId)
                ?? withToken.FirstOrDefault(g => g.FirezoneId is null);
            if (gatewayConfig is null) reason = "no gateway of this token has that external_id (the SHA-256 hex of its firezone_id)";
        }

        if (reason is null && mode == PortalMessages.RelayTopic)
        {
            var join = PortalMessages.DecodeRelayJoin(payload);
            if (!join.TryGet<RelayJoin>(out var relayJoin) || relayJoin.StampSecret.Length == 0)
                reason = $"the relay join needs {{\"stamp_secret\": hex}}: {(join.IsSuccess ? "empty secret" : join.Error.Detail)}";
        }

        if (reason is not null)
        {
            BrokerLog.JoinRefused(_logger, mode, topic, reason);
            Reply(session, topic, @ref, error: reason);
            return false;
        }

        if (_sessions.ContainsKey(session)) Leave(session, utcNow);
        Reply(session, topic, @ref, new JsonObject());
        switch (mode)
        {
            case PortalMessages.ClientTopic:
                JoinClient(session, Config.Clients.First(c => c.Token == token), Key.Parse(query["public_key"]), name, utcNow);
                break;
            case PortalMessages.GatewayTopic:
                JoinGateway(session, gatewayConfig!, Key.Parse(query["public_key"]), remote, name, utcNow);
                break;
            default:
                JoinRelay(session, token!, query, ((RelayJoin)PortalMessages.DecodeRelayJoin(payload).Message!).StampSecret, name, utcNow);
                break;
        }

        return true;
    }

    /// <summary>A session's socket is gone (<paramref name="utcNow"/>: wall clock for the credentials of a relays_presence): its peers are told what they need (relays_presence, offline replies) and nothing else.</summary>
    public void Leave(long session, DateTimeOffset utcNow)
    {
        if (!_sessions.Remove(session, out var peer)) return;
        switch (peer)
        {
            case ClientPeer client:
                _clients.Remove(client.Config.Id);
                foreach (var pending in _pending.Values.Where(p => p.ClientSession == session).ToList())
                {
                    _pending.Remove(pending.GatewayRef);
                }

                BrokerLog.Left(_logger, "Client", client.Config.Id.ToString());
                Event(new BrokerEvent(BrokerEventKind.ClientLeft, client.Config.Id.Value, client.Name));
                break;
            case GatewayPeer gateway:
                _gateways.Remove(gateway.Config.Id);
                _access.RemoveWhere(a => a.Gateway == gateway.Config.Id);
                foreach (var pending in _pending.Values.Where(p => p.GatewayId == gateway.Config.Id).ToList())
                {
                    _pending.Remove(pending.GatewayRef);
                    BrokerLog.GatewayLeftPending(_logger, gateway.Config.Id.ToString(), pending.ClientId.ToString(), pending.ResourceId.ToString());
                    Event(new BrokerEvent(BrokerEventKind.ConnectionFailed, pending.ClientId.Value, string.Empty, gateway.Config.Id.Value, pending.ResourceId.Value, "the gateway left"));
                    Reply(pending.ClientSession, PortalMessages.ClientTopic, pending.ClientRef, error: "offline");
                }

                BrokerLog.Left(_logger, "Gateway", gateway.Config.Id.ToString());
                Event(new BrokerEvent(BrokerEventKind.GatewayLeft, gateway.Config.Id.Value, gateway.Name));
                break;
            case RelayPeer relay:
                _relays.Remove(relay);
                BrokerLog.Left(_logger, "Relay", relay.Id.ToString());
                Event(new BrokerEvent(BrokerEventKind.RelayLeft, relay.Id.Value, relay.Name));
                if (!_relays.Any(r => r.Id == relay.Id))
                {
                    PushPresence([relay.Id], _relays, utcNow);
                }

                break;
        }
    }

    /// <summary>
    /// An application message on <paramref name="topic"/> of a session (<paramref name="now"/>: monotonic time, for the
    /// gateway answer deadline). Malformed or unknown messages get an error reply naming the reason (and are logged);
    /// a topic the session has not joined gets <c>unmatched topic</c>; nothing else changes.
    /// </summary>
    public void Message(long session, string topic, string @event, JsonElement payload, ulong? @ref, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(@event);
        if (!_sessions.TryGetValue(session, out var peer) || peer.Topic != topic)
        {
            // Phoenix answers a topic the socket has not joined like this; the client then joins again.
            Reply(session, topic, @ref, error: "unmatched topic");
            return;
        }

        switch (peer)
        {
            case ClientPeer client:
                var fromClient = PortalMessages.DecodeFromClient(@event, payload);
                if (!fromClient.IsSuccess)
                {
                    Malformed(client, "Client", client.Config.Id.ToString(), @event, @ref, fromClient.Error);
                    return;
                }

                HandleClientMessage(client, fromClient.Message, @ref, now);
                break;
            case GatewayPeer gateway:
                var fromGateway = PortalMessages.DecodeFromGateway(@event, payload);
                if (!fromGateway.IsSuccess)
                {
                    Malformed(gateway, "Gateway", gateway.Config.Id.ToString(), @event, @ref, fromGateway.Error);
                    return;
                }

                HandleGatewayMessage(gateway, fromGateway.Message, @ref);
                break;
            case RelayPeer relay:
                Malformed(relay, "Relay", relay.Id.ToString(), @event, @ref, new MessageError(MessageErrorKind.UnknownEvent, @event, "relays send no messages"));
                break;
        }
    }

    /// <summary>Requests whose gateway did not answer within <see cref="DevPortalConfig.GatewayAnswerTimeout"/> get the error reply <c>offline</c>.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        foreach (var pending in _pending.Values.Where(p => p.Deadline <= now).ToList())
        {
            _pending.Remove(pending.GatewayRef);
            BrokerLog.GatewayTimedOut(_logger, pending.GatewayId.ToString(), pending.ClientId.ToString(), pending.ResourceId.ToString(), Config.GatewayAnswerTimeout);
            Event(new BrokerEvent(BrokerEventKind.ConnectionFailed, pending.ClientId.Value, string.Empty, pending.GatewayId.Value, pending.ResourceId.Value,
                $"the gateway did not answer within {Config.GatewayAnswerTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s"));
            Reply(pending.ClientSession, PortalMessages.ClientTopic, pending.ClientRef, error: "offline");
        }
    }

    private void Malformed(BrokerPeer peer, string kind, string id, string @event, ulong? @ref, MessageError error)
    {
        string reason = error.Kind == MessageErrorKind.UnknownEvent
            ? $"unknown event '{@event}'"
            : $"invalid payload: {error.Detail}";
        BrokerLog.Malformed(_logger, kind, id, @event, reason);
        Reply(peer.Session, peer.Topic, @ref, error: reason);
    }

    private void Reply(long session, string topic, ulong? @ref, JsonNode? ok = null, string? error = null) =>
        _transmits.Enqueue(new BrokerTransmit(session, topic, "phx_reply",
            error is null
                ? new JsonObject { ["status"] = "ok", ["response"] = ok ?? new JsonObject() }
                : new JsonObject { ["status"] = "error", ["response"] = new JsonObject { ["reason"] = error } },
            @ref));

    private void Event(BrokerEvent brokerEvent)
    {
        if (_events.Count >= MaxQueuedEvents) _events.Dequeue();
        _events.Enqueue(brokerEvent);
    }

    private void Push(BrokerPeer peer, PortalMessage message) => _transmits.Enqueue(new BrokerTransmit(peer.Session, peer.Topic, message.Event, message.ToPayload(), null));

    private string NewRef()
    {
        Span<byte> bytes = stackalloc byte[8];
        _random(bytes);
        return $"devportal.{++_nextRef}.{Convert.ToHexStringLower(bytes)}";
    }

    private static string Id(Guid id) => id.ToString("D");

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
}
