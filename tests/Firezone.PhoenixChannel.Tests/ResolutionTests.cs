using System.Net;
using System.Net.Sockets;
using Firezone.DevPortal;
using Firezone.PhoenixChannel.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.PhoenixChannel.Tests;

/// <summary>The portal host is resolved on every attempt; when resolution fails the last good addresses are used.</summary>
public sealed class ResolutionTests
{
    [Fact]
    public async Task Host_is_resolved_on_every_attempt_and_falls_back_to_the_last_good_addresses()
    {
        await using var server = new PortalServer();
        await server.StartAsync(TestContext.Current.CancellationToken);
        var lookups = 0;
        Task<IPAddress[]> Resolve(string host, CancellationToken _)
        {
            Assert.Equal("portal.test", host);
            return ++lookups == 1
                ? Task.FromResult(new[] { IPAddress.Loopback })
                : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.TryAgain)); // DNS is down.
        }

        using var transport = new WebsocketClientTransport("relay/0.1.0", TimeSpan.FromSeconds(5), NullLogger.Instance, Resolve);
        await using var channel = new PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = LoginUrl.Relay(new Uri($"ws://portal.test:{server.Port}"), "t"),
            Topic = "relay",
            UserAgent = "relay/0.1.0",
        }, transport, null);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await channel.ConnectAsync(cancellationToken: timeout.Token);
        channel.Connect(); // Drops the socket and attempts again at once: resolution fails now.
        await channel.ConnectAsync(cancellationToken: timeout.Token); // Only the last good address can make this succeed.

        Assert.True(lookups >= 2, $"resolved {lookups} times");
        Assert.True(server.ConnectionCount >= 2);
    }

    [Fact]
    public async Task Without_any_good_address_a_failed_resolution_is_a_transient_error()
    {
        using var transport = new WebsocketClientTransport("relay/0.1.0", TimeSpan.FromSeconds(5), NullLogger.Instance,
            (_, _) => Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound)));
        await using var channel = new PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = LoginUrl.Relay(new Uri("ws://portal.test:1"), "t"),
            Topic = "relay",
            UserAgent = "relay/0.1.0",
        }, transport, null);

        channel.Connect();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var e in channel.ReadEventsAsync(cts.Token))
        {
            var reconnecting = Assert.IsType<ChannelEvent.Reconnecting>(e);
            Assert.Contains("cannot connect", reconnecting.Error);
            break;
        }
    }
}
