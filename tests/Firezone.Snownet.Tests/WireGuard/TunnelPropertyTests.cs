using System.Buffers.Binary;
using System.Net;
using Firezone.Snownet.WireGuard;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.WireGuard.TunnelHandshakeTests;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>
/// Two of our tunnels over a simulated lossy, duplicating, reordering network with simulated time, driven by the
/// sans-IO contract (timers at PollTimeout, PollTransmit drained after every call).
/// </summary>
public class TunnelPropertyTests
{
    private sealed record InFlight(TimeSpan At, long Order, byte[] Bytes, uint SenderLocal, uint SenderRemote);

    private sealed class Simulation
    {
        private readonly Random _rng;
        private readonly int _lossPct, _dupPct, _maxDelayMs, _garbagePct;
        private readonly List<InFlight>[] _toward = [[], []]; // index = receiving side
        private readonly Tunnel[] _tunnels;
        private readonly byte[] _buf = new byte[2048];
        private long _order;
        public readonly HashSet<ulong> Sent = [];
        public readonly HashSet<ulong> Delivered = [];
        public string? Violation;

        public Simulation(int seed, int lossPct, int dupPct, int maxDelayMs, int garbagePct)
        {
            _rng = new Random(seed);
            (_lossPct, _dupPct, _maxDelayMs, _garbagePct) = (lossPct, dupPct, maxDelayMs, garbagePct);
            var (a, b) = Pair((uint)_rng.Next(1, 1 << 24), (uint)_rng.Next(1, 1 << 24));
            _tunnels = [a, b];
        }

        public TimeSpan Now { get; private set; } = T0;

        private void Emit(int from, TunnelResult r, TimeSpan now)
        {
            if (r.Kind != TunnelResultKind.WriteToNetwork) return;
            var t = _tunnels[from];
            var bytes = _buf.AsSpan(0, r.Length).ToArray();
            (uint Local, uint Remote) item = (t.CurrentLocalIndex, t.CurrentRemoteIndex);
            if (_rng.Next(100) >= _lossPct)
                _toward[1 - from].Add(new InFlight(now + TimeSpan.FromMilliseconds(_rng.Next(_maxDelayMs + 1)), _order++, bytes, item.Local, item.Remote));
            if (_rng.Next(100) < _dupPct)
                _toward[1 - from].Add(new InFlight(now + TimeSpan.FromMilliseconds(_rng.Next(_maxDelayMs + 1)), _order++, bytes, item.Local, item.Remote));
            if (_rng.Next(100) < _garbagePct)
            {
                var mangled = (byte[])bytes.Clone();
                mangled[_rng.Next(mangled.Length)] ^= (byte)(1 << _rng.Next(8));
                _toward[1 - from].Add(new InFlight(now, _order++, mangled, 0, 0));
            }
        }

        /// <summary>Drains <see cref="Tunnel.PollTransmit"/>, as the contract asks after every call.</summary>
        private void Flush(int side, TimeSpan now)
        {
            for (var i = 0; i < 300; i++)
            {
                var more = _tunnels[side].PollTransmit(_buf, now);
                if (more.Kind == TunnelResultKind.Done) return;
                if (more.Kind != TunnelResultKind.WriteToNetwork) { Violation ??= $"PollTransmit: {more.Error}"; return; }
                Emit(side, more, now);
            }
            Violation ??= "PollTransmit never ran dry";
        }

        public void SendPacket(int side, ulong id)
        {
            var packet = Icmp4.EchoRequest(IPAddress.Parse("198.18.104.1"), IPAddress.Parse("198.18.104.2"), 1, (ushort)id, new byte[16]);
            BinaryPrimitives.WriteUInt64BigEndian(packet.AsSpan(28), id);
            Sent.Add(id);
            Emit(side, _tunnels[side].Encapsulate(packet, _buf, Now), Now);
            Flush(side, Now);
        }

        public void Step(TimeSpan dt, bool tick)
        {
            Now += dt;
            for (var side = 0; side < 2; side++)
            {
                var due = _toward[side].Where(x => x.At <= Now).OrderBy(x => x.At).ThenBy(x => x.Order).ToList();
                foreach (var d in due)
                {
                    _toward[side].Remove(d);
                    Deliver(side, d);
                }
                if (_rng.Next(100) < _garbagePct)
                {
                    var garbage = new byte[_rng.Next(0, 200)];
                    _rng.NextBytes(garbage);
                    if (garbage.Length > 0) garbage[0] = (byte)_rng.Next(0, 6);
                    Deliver(side, new InFlight(Now, _order++, garbage, 0, 0));
                }
                // Timers run when the tunnel asks (PollTimeout) and, to test that early calls are harmless, on ticks.
                if (tick || _tunnels[side].PollTimeout() <= Now)
                {
                    _tunnels[side].HandleTimeout(Now);
                    Flush(side, Now);
                    if (_tunnels[side].PollTimeout() <= Now)
                    {
                        _tunnels[side].HandleTimeout(Now); // one expiry may uncover another at the same instant
                        Flush(side, Now);
                        if (_tunnels[side].PollTimeout() <= Now) Violation ??= $"PollTimeout stuck at {_tunnels[side].PollTimeout()} (now {Now})";
                    }
                }
            }
        }

        private void Deliver(int side, InFlight d)
        {
            var t = _tunnels[side];
            var r = t.Decapsulate(d.Bytes, default, _buf, Now);
            switch (r.Kind)
            {
                case TunnelResultKind.WriteToNetwork:
                    Emit(side, r, Now);
                    break;
                case TunnelResultKind.WriteToTunnelV4:
                    if (r.Length < 36) { Violation ??= "short packet"; break; }
                    var id = BinaryPrimitives.ReadUInt64BigEndian(_buf.AsSpan(28));
                    if (!Sent.Contains(id)) Violation ??= $"packet {id} was never sent";
                    if (!Delivered.Add(id)) Violation ??= $"packet {id} delivered twice";
                    if (t.LastReceiveSession != (d.SenderRemote, d.SenderLocal))
                        Violation ??= $"session mismatch: receiver {t.LastReceiveSession}, sender ({d.SenderLocal:X}, {d.SenderRemote:X})";
                    break;
                case TunnelResultKind.WriteToTunnelV6:
                    Violation ??= "unexpected IPv6 packet";
                    break;
            }
            Flush(side, Now);
        }

        public int InFlightCount => _toward[0].Count + _toward[1].Count;
    }

    [Property(MaxTest = 60)]
    public Property Every_packet_is_delivered_at_most_once_in_an_agreed_session(int seed, byte loss, byte dup, ushort delay, byte garbage)
    {
        var sim = new Simulation(seed, loss % 40, dup % 40, delay % 600, garbage % 10);
        ulong next = 1;
        var rng = new Random(seed ^ 0x5EED);
        for (var step = 0; step < 600; step++) // 60 s of simulated time in 100 ms steps
        {
            for (var side = 0; side < 2; side++)
                if (rng.Next(100) < 30) sim.SendPacket(side, (ulong)side << 32 | next++);
            sim.Step(TimeSpan.FromMilliseconds(100), tick: step % 10 == 0);
            if (sim.Violation is not null) break;
        }
        return (sim.Violation is null).Label(sim.Violation ?? "")
            .And(sim.Delivered.IsSubsetOf(sim.Sent));
    }

    /// <summary>Liveness counterpart: without loss or garbage every packet arrives (exactly once).</summary>
    [Property(MaxTest = 30)]
    public Property Without_loss_every_packet_arrives_exactly_once(int seed, byte dup, ushort delay)
    {
        var sim = new Simulation(seed, 0, dup % 40, delay % 600, 0);
        ulong next = 1;
        var rng = new Random(seed ^ 0x5EED);
        for (var step = 0; step < 300; step++)
        {
            for (var side = 0; side < 2; side++)
                if (rng.Next(100) < 30) sim.SendPacket(side, (ulong)side << 32 | next++);
            sim.Step(TimeSpan.FromMilliseconds(100), tick: step % 10 == 0);
        }
        for (var step = 0; step < 100 && (sim.InFlightCount > 0 || sim.Delivered.Count < sim.Sent.Count); step++)
            sim.Step(TimeSpan.FromMilliseconds(100), tick: step % 10 == 0);
        return (sim.Violation is null).Label(sim.Violation ?? "")
            .And(sim.Delivered.SetEquals(sim.Sent)).Label($"delivered {sim.Delivered.Count} of {sim.Sent.Count}");
    }

    [Property(MaxTest = 300)]
    public bool Garbage_datagrams_never_throw(byte[] garbage, byte type, bool fixLength)
    {
        var (a, b) = Pair();
        Establish(a, b, T0);
        var buf = new byte[2048];
        var datagram = garbage;
        if (fixLength)
        {
            var len = (type % 4) switch { 0 => 148, 1 => 92, 2 => 64, _ => Math.Max(32, garbage.Length) };
            datagram = new byte[len];
            garbage.AsSpan(0, Math.Min(len, garbage.Length)).CopyTo(datagram);
            datagram[0] = (byte)(type % 4 + 1);
            datagram[1] = datagram[2] = datagram[3] = 0;
            if (type % 4 == 3) BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(4), b.CurrentLocalIndex);
        }
        var r = b.Decapsulate(datagram, new byte[] { 1, 2, 3, 4 }, buf, T0);
        var r2 = b.Decapsulate(datagram, default, buf.AsSpan(0, 10).ToArray(), T0); // tiny destination buffer
        return r.Kind is TunnelResultKind.Error or TunnelResultKind.Done
            && r2.Kind is TunnelResultKind.Error or TunnelResultKind.Done
            && b.HasCurrentSession;
    }
}
