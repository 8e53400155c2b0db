using System.Net;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.PhoenixChannel;
using Firezone.PhoenixChannel.Backoff;
using Firezone.Snownet;

namespace Firezone.DevPortal.Tests.Host;

/// <summary>A client, gateway or relay played by a real <see cref="PhoenixChannel.PhoenixChannel"/> over WebSocket.</summary>
internal sealed class Component : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly List<ChannelEvent> _backlog = [];

    private Component(PhoenixChannel.PhoenixChannel channel, string topic)
    {
        Channel = channel;
        Topic = topic;
    }

    public PhoenixChannel.PhoenixChannel Channel { get; }

    public string Topic { get; }

    public Key PublicKey { get; } = Broker.BrokerHarness.NewKey();

    public static async Task<Component> ClientAsync(Uri api, string token, bool join = true)
    {
        var c = new Component(New(LoginUrl.Client(api, token, "device-" + token, "laptop"), "client", null), "client");
        await c.ConnectAsync(join, [new("public_key", c.PublicKey.ToString())]);
        return c;
    }

    public static async Task<Component> GatewayAsync(Uri api, string token)
    {
        var c = new Component(New(LoginUrl.Gateway(api, token, "gw-" + token, "gateway"), "gateway", null), "gateway");
        await c.ConnectAsync(true, [new("public_key", c.PublicKey.ToString())]);
        return c;
    }

    public static async Task<Component> RelayAsync(Uri api, string token, string secret, IPAddress ipv4, string name = "relay-1")
    {
        var c = new Component(New(LoginUrl.Relay(api, token, name, ipv4), "relay", new JsonObject { ["stamp_secret"] = secret }, ReconnectPolicy.Relay), "relay");
        await c.ConnectAsync(true, null);
        return c;
    }

    public ulong Send(PortalMessage message) => Channel.Send(message.Event, message.ToPayload());

    public ulong SendRaw(string @event, JsonNode payload) => Channel.Send(@event, payload);

    /// <summary>The next push of <paramref name="event"/>, decoded as the component decodes it (Connlib as oracle).</summary>
    public async Task<PortalMessage> PushAsync(string @event)
    {
        var message = (ChannelEvent.InboundMessage)await NextAsync(e => e is ChannelEvent.InboundMessage m && m.Event == @event);
        var decoded = PortalMessages.DecodePush(Topic, message.Event, message.Payload);
        Assert.True(decoded.IsSuccess, decoded.ToString());
        return decoded.Message!;
    }

    public async Task<T> PushAsync<T>(string @event) where T : PortalMessage => Assert.IsType<T>(await PushAsync(@event));

    public async Task<PortalMessage> ReplyAsync(ulong @ref)
    {
        var reply = (ChannelEvent.SuccessResponse)await NextAsync(e => e is ChannelEvent.SuccessResponse r && r.Ref == @ref || e is ChannelEvent.ErrorResponse x && x.Ref == @ref);
        var decoded = PortalMessages.DecodeClientReply(reply.Response);
        Assert.True(decoded.IsSuccess, decoded.ToString());
        return decoded.Message!;
    }

    public async Task<ChannelEvent.ErrorResponse> ErrorAsync(ulong @ref) =>
        Assert.IsType<ChannelEvent.ErrorResponse>(await NextAsync(e => e is ChannelEvent.ErrorResponse r && r.Ref == @ref || e is ChannelEvent.SuccessResponse s && s.Ref == @ref));

    public async Task<ChannelEvent> NextAsync(Func<ChannelEvent, bool> match)
    {
        for (int i = 0; i < _backlog.Count; i++)
        {
            if (match(_backlog[i]))
            {
                var found = _backlog[i];
                _backlog.RemoveAt(i);
                return found;
            }
        }

        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var e in Channel.ReadEventsAsync(cts.Token))
        {
            if (match(e)) return e;
            _backlog.Add(e);
        }

        throw new InvalidOperationException("event stream ended");
    }

    /// <summary>Whether a push of <paramref name="event"/> arrived (or arrives within <paramref name="wait"/>).</summary>
    public async Task<bool> ReceivedAsync(string @event, TimeSpan wait)
    {
        if (_backlog.Any(e => e is ChannelEvent.InboundMessage m && m.Event == @event)) return true;
        using var cts = new CancellationTokenSource(wait);
        try
        {
            await foreach (var e in Channel.ReadEventsAsync(cts.Token))
            {
                _backlog.Add(e);
                if (e is ChannelEvent.InboundMessage m && m.Event == @event) return true;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return false;
    }

    public async ValueTask DisposeAsync() => await Channel.DisposeAsync();

    private static PhoenixChannel.PhoenixChannel New(LoginUrl login, string topic, JsonNode? join, ReconnectPolicy? policy = null) => new(new PhoenixChannelOptions
    {
        LoginUrl = login,
        Topic = topic,
        UserAgent = topic == "relay" ? UserAgent.ForRelay("0.1.0") : UserAgent.ForConnlib("1.3.8"),
        JoinPayload = join,
        ReconnectPolicy = policy ?? ReconnectPolicy.Gateway,
        RandomSeed = 1,
    });

    private async Task ConnectAsync(bool waitForInit, IEnumerable<KeyValuePair<string, string>>? finish)
    {
        await Channel.ConnectAsync(finish, TestContext.Current.CancellationToken);
        if (waitForInit)
        {
            _backlog.Insert(0, await NextAsync(e => e is ChannelEvent.InboundMessage { Event: "init" }));
        }
    }
}
