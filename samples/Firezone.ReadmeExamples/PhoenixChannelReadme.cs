using System.Text.Json.Nodes;
using Firezone.PhoenixChannel;
using Firezone.PhoenixChannel.Backoff;
using Microsoft.Extensions.Logging;

namespace ReadmeExamples;

/// <summary>The code blocks of src/Firezone.PhoenixChannel/README.md.</summary>
public static class PhoenixChannelReadme
{
    public static async Task QuickStart(string token, System.Net.IPAddress ip, string stampSecretHex, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        #region readme: src/Firezone.PhoenixChannel/README.md
        await using var channel = new PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = LoginUrl.Relay(new Uri("wss://api.example.com"), token, publicIPv4: ip),
            Topic = "relay",
            UserAgent = UserAgent.ForRelay("0.1.0"),
            JoinPayload = new JsonObject { ["stamp_secret"] = stampSecretHex },
            ReconnectPolicy = ReconnectPolicy.Relay,          // gives up after 15 min of continuous failure
        }, loggerFactory.CreateLogger<PhoenixChannel>());

        await channel.ConnectAsync(cancellationToken: ct);   // clients/gateways pass [new("public_key", key)]
        ulong id = channel.Send("some_event", new { SomeField = 1 }); // snake_case on the wire
        await foreach (var e in channel.ReadEventsAsync(ct))
        {
            switch (e)
            {
                case ChannelEvent.InboundMessage m: /* m.Event, m.Deserialize<T>() */ break;
                case ChannelEvent.SuccessResponse r when r.Ref == id: break;
                case ChannelEvent.HeartbeatSent: break;
                case ChannelEvent.Failed f: /* f.Error.IsAuthenticationError → sign in again */ break;
            }
        }
        #endregion
    }
}
