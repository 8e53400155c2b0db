using Microsoft.Extensions.Logging;

namespace Firezone.DevPortal.Broker;

internal static partial class BrokerLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Client {Client} ({Name}) joined: {Resources} resources, {Relays} relay addresses, tunnel {IPv4} / {IPv6}")]
    public static partial void ClientJoined(ILogger logger, string client, string name, int resources, int relays, string iPv4, string iPv6);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway {Gateway} ({Name}) of site {Site} joined from {RemoteIp}: {Relays} relay addresses, tunnel {IPv4} / {IPv6}")]
    public static partial void GatewayJoined(ILogger logger, string gateway, string name, string site, string remoteIp, int relays, string iPv4, string iPv6);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay {Relay} ({Name}) joined at {Addresses}; telling {Peers} clients and gateways")]
    public static partial void RelayJoined(ILogger logger, string relay, string name, string addresses, int peers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay {Relay} ({Name}) joined without a public address (no ipv4/ipv6 in its login query): it is not handed out")]
    public static partial void RelayWithoutAddress(ILogger logger, string relay, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} {Id} left")]
    public static partial void Left(ILogger logger, string kind, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Join refused ({Mode}, topic {Topic}): {Reason}")]
    public static partial void JoinRefused(ILogger logger, string mode, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {Client} prepare_connection {Resource} ({ResourceName}) -> gateway {Gateway} of site {Site}")]
    public static partial void Prepared(ILogger logger, string client, string resource, string resourceName, string gateway, string site);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {Client} {Event} for {Resource}: refused, {Reason}")]
    public static partial void Refused(ILogger logger, string client, string @event, string resource, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {Client} request_connection {Resource} ({ResourceName}) -> request_connection to gateway {Gateway} (ref {Ref})")]
    public static partial void ConnectionRequested(ILogger logger, string client, string resource, string resourceName, string gateway, string @ref);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {Client} reuse_connection {Resource} ({ResourceName}) -> allow_access on gateway {Gateway}")]
    public static partial void AccessAllowed(ILogger logger, string client, string resource, string resourceName, string gateway);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway {Gateway} connection_ready for client {Client}, resource {Resource}: connection details sent to the client")]
    public static partial void ConnectionReady(ILogger logger, string gateway, string client, string resource);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway {Gateway} did not answer client {Client}'s request for {Resource} within {Timeout}: the client gets an 'offline' error reply")]
    public static partial void GatewayTimedOut(ILogger logger, string gateway, string client, string resource, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway {Gateway} left with a request of client {Client} for {Resource} pending: the client gets an 'offline' error reply")]
    public static partial void GatewayLeftPending(ILogger logger, string gateway, string client, string resource);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{From} {Event}: {Count} candidates relayed to {To}")]
    public static partial void Candidates(ILogger logger, string from, string @event, int count, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed message from {Kind} {Id} (event {Event}): {Reason}; answered with an error reply")]
    public static partial void Malformed(ILogger logger, string kind, string id, string @event, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config applied: {Resources} resources, {Clients} clients, {Gateways} gateways; {Pushes} pushes to online peers")]
    public static partial void ConfigApplied(ILogger logger, int resources, int clients, int gateways, int pushes);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} {Id} is no longer in the config: sent disconnect (token_expired)")]
    public static partial void Removed(ILogger logger, string kind, string id);
}
