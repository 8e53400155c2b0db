using System.Net;
using Firezone.Connlib.Tcp;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>Link impairments: each packet is lost, duplicated or delayed by an extra random amount (which reorders).</summary>
public sealed record LinkProfile(double Loss = 0, double Duplicate = 0, double Reorder = 0, TimeSpan? Delay = null, TimeSpan? ReorderJitter = null)
{
    public TimeSpan BaseDelay => Delay ?? TimeSpan.FromMilliseconds(10);
    public TimeSpan Jitter => ReorderJitter ?? TimeSpan.FromMilliseconds(30);
}

/// <summary>
/// Two <see cref="TcpSocketSet"/>s (A and B) joined by a simulated link in simulated time: a seeded RNG decides loss,
/// duplication and reordering; the clock jumps to the next delivery or timer.
/// </summary>
internal sealed class SimulatedLink
{
    private readonly Random _rng;
    private readonly LinkProfile _profile;
    private readonly PriorityQueue<(byte[] Packet, bool ToB), (TimeSpan, long)> _inFlight = new();
    private readonly byte[] _buffer = new byte[1400];
    private long _order;

    public SimulatedLink(int seed, LinkProfile profile, TcpOptions? options = null, bool ipv6 = false)
    {
        _rng = new Random(seed);
        _profile = profile;
        var rngA = new Random(seed * 31 + 1);
        var rngB = new Random(seed * 31 + 2);
        A = new TcpSocketSet(options ?? new TcpOptions(), b => rngA.NextBytes(b));
        B = new TcpSocketSet(options ?? new TcpOptions(), b => rngB.NextBytes(b));
        AddressA = ipv6 ? IPAddress.Parse("2001:2::1") : IPAddress.Parse("198.18.0.1");
        AddressB = ipv6 ? IPAddress.Parse("2001:2::2") : IPAddress.Parse("198.18.0.2");
    }

    public TcpSocketSet A { get; }
    public TcpSocketSet B { get; }
    public IPAddress AddressA { get; }
    public IPAddress AddressB { get; }
    public TimeSpan Now { get; private set; }
    public int PacketsSent { get; private set; }
    /// <summary>Optional tap: sees (and may mutate) every packet put on the link; return false to drop it.</summary>
    public Func<byte[], bool, bool>? Tap { get; set; }

    public TcpEndpoint EndpointA(ushort port) => TcpEndpoint.From(AddressA, port);
    public TcpEndpoint EndpointB(ushort port) => TcpEndpoint.From(AddressB, port);

    /// <summary>Moves every queued transmit of both sides onto the link.</summary>
    public void Flush()
    {
        Drain(A, toB: true);
        Drain(B, toB: false);
    }

    private void Drain(TcpSocketSet set, bool toB)
    {
        int n;
        while ((n = set.PollTransmit(_buffer)) > 0)
        {
            PacketsSent++;
            byte[] packet = _buffer.AsSpan(0, n).ToArray();
            if (Tap is { } tap && !tap(packet, toB)) continue;
            if (_rng.NextDouble() < _profile.Loss) continue;
            Schedule(packet, toB);
            if (_rng.NextDouble() < _profile.Duplicate) Schedule(packet.ToArray(), toB);
        }
    }

    private void Schedule(byte[] packet, bool toB)
    {
        TimeSpan at = Now + _profile.BaseDelay;
        if (_rng.NextDouble() < _profile.Reorder) at += _profile.Jitter * _rng.NextDouble();
        _inFlight.Enqueue((packet, toB), (at, _order++));
    }

    /// <summary>Advances to the next delivery or timer and processes it; false if nothing is scheduled at all.</summary>
    public bool Step()
    {
        Flush();
        TimeSpan? next = null;
        if (_inFlight.TryPeek(out _, out var pri)) next = pri.Item1;
        foreach (var set in new[] { A, B })
            if (set.PollTimeout() is { } t && (next is null || t < next)) next = t;
        if (next is null) return false;
        if (next > Now) Now = next.Value;
        while (_inFlight.TryPeek(out var item, out var p) && p.Item1 <= Now)
        {
            _inFlight.Dequeue();
            (item.ToB ? B : A).HandleInput(item.Packet, Now);
        }
        A.HandleTimeout(Now);
        B.HandleTimeout(Now);
        Flush();
        return true;
    }

    /// <summary>Delivers every packet in flight immediately (no timers), in order.</summary>
    public void DeliverAll()
    {
        for (int round = 0; round < 1000; round++)
        {
            Flush();
            if (_inFlight.Count == 0) return;
            while (_inFlight.TryDequeue(out var item, out _)) (item.ToB ? B : A).HandleInput(item.Packet, Now);
        }
    }

    public void AdvanceTo(TimeSpan t)
    {
        Now = t;
        A.HandleTimeout(Now);
        B.HandleTimeout(Now);
    }
}
