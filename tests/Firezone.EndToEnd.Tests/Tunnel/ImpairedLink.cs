using System.Diagnostics;
using System.Threading.Channels;
using Firezone.Tun;
using Firezone.Tun.Linux;
using Firezone.Tun.Tests.Linux;

namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>Delay and random loss, each way.</summary>
/// <param name="OneWayDelay">Added to every packet in each direction (the round trip gets twice this).</param>
/// <param name="LossPercent">Share of packets dropped in each direction, 0–100.</param>
/// <param name="Seed">Seeds the loss decisions (userspace link only).</param>
internal sealed record Impairment(TimeSpan OneWayDelay, double LossPercent, int Seed = 14);

/// <summary>
/// A point-to-point link between two namespaces with <see cref="Impairment"/> in both directions. With the kernel's
/// <c>netem</c> qdisc available it is a veth pair with <c>tc qdisc … netem delay D loss L%</c> on both ends; without it
/// (this project's VMs run a kernel built without <c>CONFIG_NET_SCH_NETEM</c>) the same impairment in userspace: two
/// TUN devices (one per namespace, MTU 1500, read in epoll mode: straight into the pump's buffer) and a pump per direction that drops each packet with the given chance
/// and writes the rest to the other device after the delay, in order, with a 4,096-packet tail-drop queue (a router's
/// buffer). The inner device is named <c>eth0</c>; addresses and routes are the caller's.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ImpairedLink : IDisposable
{
    private const int QueueLimit = 4096;
    private readonly LinuxTun? _outer;
    private readonly LinuxTun? _inner;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];

    private ImpairedLink(string mode, LinuxTun? outer = null, LinuxTun? inner = null)
    {
        Mode = mode;
        _outer = outer;
        _inner = inner;
    }

    /// <summary>"tc netem" or "userspace TUN pump".</summary>
    public string Mode { get; }

    /// <summary>Packets the pumps dropped on purpose (userspace mode).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Packets the pumps delivered (userspace mode).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    private long _dropped;
    private long _delivered;

    /// <summary>Whether the running kernel has the netem qdisc (tried on a throw-away namespace's loopback).</summary>
    public static bool KernelHasNetem()
    {
        using var probe = NetNamespace.Create();
        return TunnelTopology.Run(probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").ExitCode == 0;
    }

    /// <summary>Links <paramref name="outer"/> (device <paramref name="outerName"/>) and <paramref name="inner"/> (device <c>eth0</c>), both up.</summary>
    public static ImpairedLink Create(NetNamespace outer, NetNamespace inner, string outerName, Impairment impairment)
    {
        string delay = $"{impairment.OneWayDelay.TotalMilliseconds:0}ms", loss = $"{impairment.LossPercent:0.##}%";
        if (KernelHasNetem())
        {
            NetNamespace.Ip($"link add {outerName} netns {outer.Name} type veth peer name eth0 netns {inner.Name}");
            foreach (var (ns, dev) in new[] { (outer, outerName), (inner, "eth0") })
            {
                ns.IpIn($"link set {dev} up");
                Assert.Equal(0, TunnelTopology.Run(ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", delay, "loss", loss).ExitCode);
            }

            return new ImpairedLink($"tc netem delay {delay} loss {loss} on both ends");
        }

        var outerTun = outer.Run(() => LinuxTun.Create(outerName, 1500, TunReadMode.Epoll));
        LinuxTun innerTun;
        try
        {
            innerTun = inner.Run(() => LinuxTun.Create("eth0", 1500, TunReadMode.Epoll));
        }
        catch
        {
            outerTun.Dispose();
            throw;
        }

        outer.IpIn($"link set {outerName} up");
        inner.IpIn("link set eth0 up");
        var link = new ImpairedLink($"userspace TUN pump, delay {delay} loss {loss} each way (no netem in this kernel)", outerTun, innerTun);
        link._pumps.Add(link.PumpAsync(outerTun, innerTun, impairment, new Random(impairment.Seed)));
        link._pumps.Add(link.PumpAsync(innerTun, outerTun, impairment, new Random(impairment.Seed + 1)));
        return link;
    }

    private Task PumpAsync(LinuxTun from, LinuxTun to, Impairment impairment, Random random)
    {
        var queue = Channel.CreateBounded<(long Due, byte[] Packet)>(new BoundedChannelOptions(QueueLimit) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = true });
        long delay = (long)(impairment.OneWayDelay.TotalSeconds * Stopwatch.Frequency);
        var token = _stop.Token;
        var read = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (!token.IsCancellationRequested)
            {
                await from.WaitReadableAsync(token);
                TunReadStatus status;
                while ((status = from.TryRead(buffer, out int length)) == TunReadStatus.Packet)
                {
                    if (random.NextDouble() * 100 < impairment.LossPercent)
                    {
                        Interlocked.Increment(ref _dropped);
                        continue;
                    }

                    queue.Writer.TryWrite((Stopwatch.GetTimestamp() + delay, buffer.AsSpan(0, length).ToArray()));
                }

                if (status == TunReadStatus.Closed)
                {
                    break;
                }
            }
        }, token);
        var write = Task.Run(async () =>
        {
            await foreach (var (due, packet) in queue.Reader.ReadAllAsync(token))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, token);
                }

                if (to.TryWrite(packet))
                {
                    Interlocked.Increment(ref _delivered);
                }
            }
        }, token);
        return Task.WhenAll(read, write);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll([.. _pumps], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // cancelled pumps
        }

        _outer?.Dispose();
        _inner?.Dispose();
        _stop.Dispose();
    }
}
