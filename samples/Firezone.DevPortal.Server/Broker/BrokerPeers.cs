using System.Net;
using Firezone.Connlib.Messages;
using Firezone.DevPortal.Config;
using Firezone.Snownet;

namespace Firezone.DevPortal.Broker;

/// <summary>A joined session as the broker knows it.</summary>
internal abstract class BrokerPeer(long session, string topic)
{
    public long Session { get; } = session;

    public string Topic { get; } = topic;
}

internal sealed class ClientPeer(long session, ClientConfig config, Key publicKey, string name) : BrokerPeer(session, PortalMessages.ClientTopic)
{
    public ClientConfig Config { get; set; } = config;

    public Key PublicKey { get; } = publicKey;

    public string Name { get; } = name;
}

internal sealed class GatewayPeer(long session, GatewayConfig config, Key publicKey, IPAddress remoteIp, string name) : BrokerPeer(session, PortalMessages.GatewayTopic)
{
    public GatewayConfig Config { get; set; } = config;

    public Key PublicKey { get; } = publicKey;

    public IPAddress RemoteIp { get; } = remoteIp;

    public string Name { get; } = name;
}

internal sealed class RelayPeer(long session, RelayId id, string stampSecret, IReadOnlyList<IPEndPoint> addresses, string name) : BrokerPeer(session, PortalMessages.RelayTopic)
{
    public RelayId Id { get; } = id;

    public string StampSecret { get; } = stampSecret;

    /// <summary>IPv4 first, then IPv6 (the order connlib merges them in).</summary>
    public IReadOnlyList<IPEndPoint> Addresses { get; } = addresses;

    public string Name { get; } = name;
}

/// <summary>A client's request_connection waiting for the gateway's connection_ready.</summary>
internal sealed record PendingConnection(string GatewayRef, long ClientSession, ulong? ClientRef, Connlib.Model.ClientId ClientId,
    Connlib.Model.GatewayId GatewayId, Connlib.Model.ResourceId ResourceId, TimeSpan Deadline);
