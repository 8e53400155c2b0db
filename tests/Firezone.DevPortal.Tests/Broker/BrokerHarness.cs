using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.DevPortal.Broker;
using Firezone.DevPortal.Config;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>Drives a <see cref="DevPortalBroker"/> without sockets and decodes what it sends with Connlib's decoders (the oracle).</summary>
internal sealed class BrokerHarness
{
    public static readonly DateTimeOffset Wall = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _nextSession;

    public BrokerHarness(DevPortalConfig config) => Broker = new DevPortalBroker(config);

    public DevPortalBroker Broker { get; }

    public TimeSpan Now { get; set; } = TimeSpan.FromHours(1);

    public static Key NewKey() => new(RandomNumberGenerator.GetBytes(32));

    public static JsonElement Element(JsonNode? node) => node is null ? JsonDocument.Parse("null").RootElement.Clone() : JsonSerializer.SerializeToElement(node);

    public static JsonElement Element(PortalMessage message) => Element(message.ToPayload());

    public long NewSession() => ++_nextSession;

    public bool Join(long session, string mode, Dictionary<string, string> query, JsonNode? payload = null, ulong @ref = 0) =>
        Broker.Join(session, mode, mode, query, IPAddress.Parse("198.18.0.1"), Element(payload), @ref, Wall);

    public long JoinClient(string token, Key? key = null)
    {
        long s = NewSession();
        Assert.True(Join(s, "client", new() { ["token"] = token, ["public_key"] = (key ?? NewKey()).ToString(), ["name"] = "laptop" }));
        return s;
    }

    public long JoinGateway(string token, Key? key = null)
    {
        long s = NewSession();
        Assert.True(Join(s, "gateway", new() { ["token"] = token, ["public_key"] = (key ?? NewKey()).ToString(), ["name"] = "gw" }));
        return s;
    }

    public long JoinRelay(string token, string secret, string? ipv4 = "198.18.1.1", string? ipv6 = null, int port = 3478, string name = "relay-1")
    {
        long s = NewSession();
        var query = new Dictionary<string, string> { ["token"] = token, ["port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["name"] = name };
        if (ipv4 is not null) query["ipv4"] = ipv4;
        if (ipv6 is not null) query["ipv6"] = ipv6;
        Assert.True(Join(s, "relay", query, new JsonObject { ["stamp_secret"] = secret }));
        return s;
    }

    public void Send(long session, PortalMessage message, ulong @ref, string? topic = null) =>
        Broker.Message(session, topic ?? Topic(message), message.Event, Element(message), @ref, Now);

    /// <summary>The topic a message travels on: gateway messages on <c>gateway</c>, the rest on <c>client</c>.</summary>
    private static string Topic(PortalMessage message) =>
        message is ConnectionReady or FlowAuthorized or IceCandidatesForClients ? PortalMessages.GatewayTopic : PortalMessages.ClientTopic;

    public List<BrokerTransmit> Drain()
    {
        var list = new List<BrokerTransmit>();
        while (Broker.PollTransmit(out var t)) list.Add(t);
        return list;
    }

    /// <summary>The pushes to <paramref name="session"/> decoded as its component decodes them.</summary>
    public static List<PortalMessage> Pushes(IEnumerable<BrokerTransmit> transmits, long session) =>
        [.. transmits.Where(t => t.Session == session && t.Event != "phx_reply").Select(t =>
        {
            var decoded = PortalMessages.DecodePush(t.Topic, t.Event, Element(t.Payload));
            Assert.True(decoded.IsSuccess, $"{t.Event}: {decoded.Error}");
            return decoded.Message!;
        })];

    public static List<BrokerTransmit> Replies(IEnumerable<BrokerTransmit> transmits, long session) =>
        [.. transmits.Where(t => t.Session == session && t.Event == "phx_reply")];

    public static string ErrorReason(BrokerTransmit reply)
    {
        Assert.Equal("error", (string?)reply.Payload!["status"]);
        return (string)reply.Payload!["response"]!["reason"]!;
    }

    public static PortalMessage ClientReply(BrokerTransmit reply)
    {
        Assert.Equal("ok", (string?)reply.Payload!["status"]);
        var decoded = PortalMessages.DecodeClientReply(Element(reply.Payload!["response"]));
        Assert.True(decoded.IsSuccess, decoded.ToString());
        return decoded.Message!;
    }
}
