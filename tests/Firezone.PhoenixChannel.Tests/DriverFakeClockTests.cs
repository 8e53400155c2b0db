using System.Collections.Concurrent;
using Firezone.PhoenixChannel.Backoff;
using Firezone.PhoenixChannel.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Firezone.PhoenixChannel.Tests;

/// <summary>The real driver loop on a <see cref="FakeTimeProvider"/> with a scripted transport: no real waiting.</summary>
public sealed class DriverFakeClockTests
{
    private sealed class ScriptedTransport : IWebSocketTransport
    {
        public ConcurrentQueue<(Uri Url, IConnectionSink Sink)> Attempts { get; } = new();
        public Func<int, bool> Accept { get; set; } = _ => true;
        public ConcurrentQueue<string> Sent { get; } = new();

        public Task<IWebSocketConnection> ConnectAsync(Uri url, IConnectionSink sink, CancellationToken cancellationToken)
        {
            Attempts.Enqueue((url, sink));
            return Accept(Attempts.Count)
                ? Task.FromResult<IWebSocketConnection>(new Connection(this, sink))
                : Task.FromException<IWebSocketConnection>(new TransportConnectException("refused"));
        }

        private sealed class Connection(ScriptedTransport t, IConnectionSink sink) : IWebSocketConnection
        {
            public Task SendAsync(string text, CancellationToken cancellationToken)
            {
                t.Sent.Enqueue(text);
                if (text.Contains("\"heartbeat\"", StringComparison.Ordinal))
                {
                    var r = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("ref").GetUInt64();
                    sink.OnText("{\"topic\":\"phoenix\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}},\"ref\":" + r + "}");
                }
                return Task.CompletedTask;
            }

            public Task CloseAsync(CancellationToken cancellationToken) => Task.CompletedTask;
            public void Dispose() { }
        }
    }

    private static async Task<T> NextAsync<T>(PhoenixChannel channel) where T : ChannelEvent
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var e in channel.ReadEventsAsync(cts.Token))
        {
            if (e is T match) return match;
        }
        throw new InvalidOperationException();
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    [Fact]
    public async Task Relay_drop_after_16_fake_minutes_of_heartbeats_is_retried_after_the_backoff_delay()
    {
        var time = new FakeTimeProvider();
        var transport = new ScriptedTransport();
        await using var channel = new PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = LoginUrl.Relay(new Uri("ws://portal.test"), "t"),
            Topic = "relay",
            UserAgent = UserAgent.ForRelay("0.1.0"),
            ReconnectPolicy = ReconnectPolicy.Relay,
            TimeProvider = time,
            RandomSeed = 3,
        }, transport, null);

        await channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        int Heartbeats() => transport.Sent.Count(s => s.Contains("\"heartbeat\"", StringComparison.Ordinal));
        for (var i = 0; i < 32; i++) // 16 minutes of 30 s heartbeats, each answered.
        {
            // Count heartbeats, not frames: the join may be written after ConnectAsync returns, and counting it as the
            // first heartbeat advanced the clock again before the heartbeat timer was armed (31 of 32, now and then).
            var before = Heartbeats();
            time.Advance(TimeSpan.FromSeconds(30));
            await Until(() => Heartbeats() > before);
        }
        Assert.Equal(32, Heartbeats());

        transport.Attempts.Last().Sink.OnClosed("connection reset");
        var retry = await NextAsync<ChannelEvent.Reconnecting>(channel);
        Assert.InRange(retry.RetryIn, TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(0.75));
        Assert.Single(transport.Attempts);

        time.Advance(retry.RetryIn);
        await NextAsync<ChannelEvent.Connected>(channel);
        Assert.Equal(2, transport.Attempts.Count);
    }

    [Fact]
    public async Task Transient_connect_failures_back_off_on_the_fake_clock_until_success()
    {
        var time = new FakeTimeProvider();
        var transport = new ScriptedTransport { Accept = n => n >= 4 };
        await using var channel = new PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = LoginUrl.Gateway(new Uri("ws://portal.test"), "t", "g", "gw"),
            Topic = "gateway",
            UserAgent = UserAgent.ForConnlib("1.4.2"),
            TimeProvider = time,
            RandomSeed = 5,
            ReconnectPolicy = ReconnectPolicy.Gateway with { RandomizationFactor = 0 },
        }, transport, null);

        var connect = channel.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        foreach (var expected in new[] { 0.5, 0.75, 1.125 })
        {
            var retry = await NextAsync<ChannelEvent.Reconnecting>(channel);
            Assert.Equal(TimeSpan.FromSeconds(expected), retry.RetryIn);
            time.Advance(retry.RetryIn - TimeSpan.FromMilliseconds(1));
            await Task.Delay(50, TestContext.Current.CancellationToken);
            Assert.False(connect.IsCompleted);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }
        await connect;
        Assert.Equal(4, transport.Attempts.Count);
    }
}
