using System.Net;
using Firezone.Connlib.Tunnel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Tests.Io;

/// <summary>The order of one event-loop iteration (tunnel spec §1), with a role that records what the loop asks of it.</summary>
public sealed class TunnelLoopOrderTests
{
    private sealed class RecordingLoop() : TunnelLoop("test", new TunnelIoOptions(null, IPAddress.Loopback, IPAddress.IPv6Loopback, 0), TimeProvider.System, NullLogger.Instance)
    {
        public List<string> Calls { get; } = [];

        public int Events { get; set; }

        public int Packets { get; set; }

        public int Transmits { get; set; }

        public int DnsQueries { get; set; }

        public int Timeouts { get; private set; }

        public TimeSpan? Deadline { get; set; } = TimeSpan.Zero;

        protected override bool PollEvent() => Take("event", () => Events-- > 0, () => Events++);

        protected override bool PollPacket() => Take("packet", () => Packets-- > 0, () => Packets++);

        protected override bool PollTransmit() => Take("transmit", () => Transmits-- > 0, () => Transmits++);

        protected override bool PollDnsQuery() => Take("dns", () => DnsQueries-- > 0, () => DnsQueries++);

        protected override TimeSpan? PollTimeout()
        {
            Calls.Add("poll_timeout");
            return Deadline;
        }

        protected override void HandleTimeout(TimeSpan now)
        {
            Timeouts++;
            Calls.Add("handle_timeout");
        }

        protected override void HandleTunPacket(byte[] slot, int offset, int length, TimeSpan now) => Calls.Add("tun");

        protected override void HandleDatagram(Span<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now) => Calls.Add("datagram");

        protected override bool HandleFinishedQuery(TimeSpan now) => false;

        private bool Take(string name, Func<bool> take, Action undo)
        {
            if (take())
            {
                Calls.Add(name);
                return true;
            }

            undo();
            return false;
        }
    }

    [Fact]
    public void One_iteration_does_events_then_tun_writes_then_transmits_then_dns_queries_then_the_timer_one_step_each()
    {
        using var loop = new RecordingLoop { Events = 2, Packets = 1, Transmits = 2, DnsQueries = 1 };
        for (int i = 0; i < 7; i++)
        {
            loop.Iterate();
        }

        Assert.Equal(["event", "event", "packet", "transmit", "transmit", "dns", "poll_timeout", "handle_timeout"], loop.Calls);
    }

    [Fact]
    public void A_due_timer_is_handled_only_when_nothing_else_is_pending()
    {
        using var loop = new RecordingLoop { Events = 1 };
        loop.Iterate();
        Assert.Equal(0, loop.Timeouts);
        loop.Iterate();
        Assert.Equal(1, loop.Timeouts);
    }

    [Fact]
    public void After_5000_iterations_without_waiting_the_loop_runs_the_timers_and_yields()
    {
        using var loop = new RecordingLoop { Events = int.MaxValue / 2, Deadline = null };
        for (int i = 0; i < 3 * TunnelLoop.YieldAfterIterations; i++)
        {
            loop.Iterate();
        }

        Assert.Equal(3, loop.Timeouts); // never otherwise: events kept it busy
        Assert.Equal(3 * (TunnelLoop.YieldAfterIterations - 1), loop.Calls.Count(c => c == "event"));
    }

    [Fact]
    public void A_received_datagram_is_handled_before_the_timer()
    {
        using var loop = new RecordingLoop();
        using var sender = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = loop.LocalPorts().V4;
        sender.SendTo([1, 2, 3], new IPEndPoint(IPAddress.Loopback, port));
        Thread.Sleep(50);

        loop.Iterate();

        Assert.Equal(["poll_timeout", "datagram"], loop.Calls);
    }
}
