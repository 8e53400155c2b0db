using Firezone.Connlib.Tcp;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>
/// The application on both ends of a <see cref="SimulatedLink"/>: B listens, A connects; each side writes its whole
/// stream, then closes (half-close: the other keeps sending), reads everything, and records how its socket ended.
/// </summary>
internal sealed class StreamExchange
{
    private readonly SimulatedLink _link;
    private readonly Side _a, _b;
    private const ushort ServerPort = 53;

    public StreamExchange(SimulatedLink link, byte[] fromA, byte[] fromB)
    {
        _link = link;
        _a = new Side(link.A, fromA);
        _b = new Side(link.B, fromB);
        link.B.Listen(link.EndpointB(ServerPort), 10);
        _a.Handle = link.A.Connect(link.EndpointA(0), link.EndpointB(ServerPort), link.Now)!.Value;
    }

    public byte[] ReceivedByA => _a.Received.ToArray();
    public byte[] ReceivedByB => _b.Received.ToArray();
    public TcpEventKind? EndOfA => _a.End;
    public TcpEventKind? EndOfB => _b.End;
    public bool Done => _a.Finished && _b.Finished;

    /// <summary>Runs until both sides finished or <paramref name="bound"/> of simulated time passed.</summary>
    public bool Run(TimeSpan bound)
    {
        while (_link.Now < bound)
        {
            Pump(_link.A, _a);
            Pump(_link.B, _b);
            if (Done) return true;
            if (!_link.Step()) { Pump(_link.A, _a); Pump(_link.B, _b); return Done; }
        }
        return Done;
    }

    private static void Pump(TcpSocketSet set, Side side)
    {
        while (set.TryPollEvent(out TcpEvent ev))
        {
            switch (ev.Kind)
            {
                case TcpEventKind.Accepted when side.Handle is null: side.Handle = ev.Handle; break;
                case TcpEventKind.Accepted: throw new InvalidOperationException("second accept");
                case TcpEventKind.Closed or TcpEventKind.Reset or TcpEventKind.TimedOut: side.End ??= ev.Kind; break;
            }
        }
        if (side.Handle is not { } h) return;
        while (side.Written < side.ToSend.Length)
        {
            if (set.Send(h, side.ToSend.AsSpan(side.Written), out int n) != TcpResult.Ok || n == 0) break;
            side.Written += n;
        }
        if (side.Written == side.ToSend.Length && !side.Closed)
        {
            side.Closed = true;
            set.Close(h);
        }
        Span<byte> buf = stackalloc byte[4096];
        while (true)
        {
            TcpResult r = set.Receive(h, buf, out int n);
            if (r == TcpResult.EndOfStream) { side.Eof = true; break; }
            if (r != TcpResult.Ok || n == 0) break;
            side.Received.AddRange(buf[..n]);
        }
    }

    private sealed class Side(TcpSocketSet set, byte[] toSend)
    {
        public TcpSocketSet Set { get; } = set;
        public byte[] ToSend { get; } = toSend;
        public TcpSocketHandle? Handle;
        public int Written;
        public bool Closed, Eof;
        public TcpEventKind? End;
        public List<byte> Received { get; } = [];
        public bool Finished => Eof && End is not null;
    }
}
