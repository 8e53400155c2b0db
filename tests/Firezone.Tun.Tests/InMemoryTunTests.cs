using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Tests.Packets;

namespace Firezone.Tun.Tests;

public class InMemoryTunTests
{
    [Property]
    public Property Injected_packets_are_read_in_order_and_unchanged() => Prop.ForAll(
        Gen.ArrayOf(PacketGen.Bytes(1, 1280)).Select(a => a.Take(50).ToArray()).ToArbitrary(), packets =>
    {
        using var tun = new InMemoryTun();
        foreach (var p in packets) Assert.True(tun.TryInject(p));
        byte[] buffer = new byte[1280];
        foreach (var p in packets)
        {
            Assert.Equal(TunReadStatus.Packet, tun.TryRead(buffer, out int n));
            Assert.Equal(p, buffer.AsSpan(0, n).ToArray());
        }
        Assert.Equal(TunReadStatus.WouldBlock, tun.TryRead(buffer, out _));
    });

    [Fact]
    public void Written_packets_can_be_taken_in_order()
    {
        using var tun = new InMemoryTun("tun-test");
        Assert.Equal("tun-test", tun.Name);
        Assert.True(tun.TryWrite(new byte[] { 0x45, 1 }));
        Assert.True(tun.TryWrite(new byte[] { 0x60, 2 }));
        Assert.True(tun.TryTakeWritten(out var a));
        Assert.True(tun.TryTakeWritten(out var b));
        Assert.Equal(1, a[1]);
        Assert.Equal(2, b[1]);
        Assert.False(tun.TryTakeWritten(out _));
    }

    [Fact]
    public void A_full_queue_drops_and_counts()
    {
        using var tun = new InMemoryTun(capacity: 2);
        Assert.True(tun.TryInject(new byte[] { 1 }));
        Assert.True(tun.TryInject(new byte[] { 2 }));
        Assert.False(tun.TryInject(new byte[] { 3 }));
        Assert.Equal(1, tun.DroppedInbound);
        tun.TryWrite(new byte[] { 1 });
        tun.TryWrite(new byte[] { 2 });
        Assert.False(tun.TryWrite(new byte[] { 3 }));
        Assert.Equal(1, tun.DroppedOutbound);
    }

    [Fact]
    public async Task Readiness_completes_when_a_packet_arrives_and_honours_cancellation()
    {
        using var tun = new InMemoryTun();
        using var cts = new CancellationTokenSource();
        var wait = tun.WaitReadableAsync(cts.Token).AsTask();
        await Task.Delay(20, TestContext.Current.CancellationToken);
        Assert.False(wait.IsCompleted);
        tun.TryInject(new byte[] { 0x45 });
        await wait.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        tun.TryRead(new byte[10], out _);
        var cancelled = tun.WaitReadableAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Closing_the_device_drains_then_reports_closed()
    {
        using var tun = new InMemoryTun();
        tun.TryInject(new byte[] { 0x45, 7 });
        tun.Close();
        byte[] buffer = new byte[1280];
        Assert.Equal(2, await tun.ReadAsync(buffer, TestContext.Current.CancellationToken));
        Assert.Equal(0, await tun.ReadAsync(buffer, TestContext.Current.CancellationToken));
        Assert.Equal(TunReadStatus.Closed, tun.TryRead(buffer, out _));
    }

    [Fact]
    public void Disposed_device_reads_closed_and_refuses_writes()
    {
        var tun = new InMemoryTun();
        tun.Dispose();
        Assert.Equal(TunReadStatus.Closed, tun.TryRead(new byte[10], out _));
        Assert.Throws<ObjectDisposedException>(() => tun.TryWrite(new byte[] { 1 }));
    }
}
