using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Firezone.Connlib.Tunnel;

namespace Firezone.Connlib.Tests.Sessions;

/// <summary>The sessions' data path in steady state: allocation-free tunnel threads, and the metrics it feeds.</summary>
public sealed class SessionDataPathTests
{
    private static Task<long> AllocatedOnLoop(TunnelLoop loop)
    {
        var result = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.True(loop.Post(() => result.SetResult(GC.GetAllocatedBytesForCurrentThread())));
        return result.Task;
    }

    private static async Task PingBurst(SessionWorld world, int count, ushort firstSequence)
    {
        int answered = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (int i = 0; i < count; i++)
        {
            Assert.True(world.ClientTun.TryInject(SessionWorld.Ping(SessionWorld.ResourceHost, (ushort)(firstSequence + i), 1000)));
            if (i % 50 == 49 || i == count - 1)
            {
                // Let the replies come back before the next batch (the in-memory device holds 1000 packets).
                while (answered < i + 1 && await world.ClientTun.ReadWrittenAsync(cts.Token) is { } reply)
                {
                    answered += SessionWorld.IsEchoReplyFrom(reply, SessionWorld.ResourceHost) ? 1 : 0;
                }
            }
        }
    }

    [Fact]
    public async Task The_tunnel_threads_allocate_nothing_per_packet_in_steady_state()
    {
        await using var world = await SessionWorld.StartAsync();
        using var stop = new CancellationTokenSource();
        var resourceHost = world.AnswerAtGateway(new ConcurrentQueue<byte[]>(), stop.Token);
        Assert.NotNull(await world.SendUntilAnsweredAsync(SessionWorld.Ping(SessionWorld.ResourceHost, 1),
            p => SessionWorld.IsEchoReplyFrom(p, SessionWorld.ResourceHost), TimeSpan.FromSeconds(20)));
        await PingBurst(world, 300, 1000); // warm up: caches, pools, JIT

        long clientBefore = await AllocatedOnLoop(world.Client.Tunnel);
        long gatewayBefore = await AllocatedOnLoop(world.Gateway.Tunnel);
        const int packets = 2000;
        await PingBurst(world, packets, 10_000);
        long client = await AllocatedOnLoop(world.Client.Tunnel) - clientBefore;
        long gateway = await AllocatedOnLoop(world.Gateway.Tunnel) - gatewayBefore;

        TestContext.Current.TestOutputHelper?.WriteLine($"allocated on the tunnel threads for {packets} round trips: client {client} B, gateway {gateway} B");
        // Each ping crosses each loop twice (request and reply): one object per packet would be at least 24 B × 2 ×
        // 2000 = 96 KB. Timers (ICE keepalives and STUN to the relay) allocate a little now and then, more the longer
        // the burst takes on a loaded machine (64 B alone, up to ~4 KB with the whole suite running): bounded by time,
        // not by packets, so the bound is 8 B per round trip — far below any per-packet allocation.
        Assert.True(client < 8 * packets, $"client tunnel thread: {client} bytes for {packets} round trips");
        Assert.True(gateway < 8 * packets, $"gateway tunnel thread: {gateway} bytes for {packets} round trips");
        await stop.CancelAsync();
        await resourceHost;
    }

    [Fact]
    public async Task Metrics_count_connections_handshakes_packets_and_bytes_each_way_through_observable_instruments()
    {
        await using var world = await SessionWorld.StartAsync();
        using var stop = new CancellationTokenSource();
        var resourceHost = world.AnswerAtGateway(new ConcurrentQueue<byte[]>(), stop.Token);
        Assert.NotNull(await world.SendUntilAnsweredAsync(SessionWorld.Ping(SessionWorld.ResourceHost, 1),
            p => SessionWorld.IsEchoReplyFrom(p, SessionWorld.ResourceHost), TimeSpan.FromSeconds(20)));
        await PingBurst(world, 10, 100);

        var seen = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (world.ClientMeters.Meters.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"/{tag.Value}";
            }

            seen[key] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal("Firezone.Connlib.Client", Assert.Single(world.ClientMeters.Meters).Name);
        Assert.True(seen["connlib.packets/tun_read"] >= 11);
        Assert.True(seen["connlib.packets/tun_written"] >= 11);
        Assert.True(seen["connlib.packets/network_sent"] >= 11);
        Assert.True(seen["connlib.packets/network_received"] >= 11);
        Assert.True(seen["connlib.bytes/tun_read"] >= 10 * 1000);
        Assert.True(seen["connlib.handshakes"] >= 1);
        Assert.True(seen["connlib.connections"] >= 1);
        Assert.True(seen.ContainsKey("connlib.drops/oversize_datagram"));
        Assert.True(seen.ContainsKey("connlib.dns_queries"));
        await stop.CancelAsync();
        await resourceHost;
    }
}
