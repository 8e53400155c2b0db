using System.Net;
using Firezone.Connlib.Tcp;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Tcp;

/// <summary>A parsed outgoing segment of the engine.</summary>
internal sealed record Sent(uint Seq, uint Ack, byte Flags, ushort Window, ushort Mss, byte[] Payload, ushort SourcePort, ushort DestinationPort)
{
    public bool Syn => (Flags & TcpSegment.FlagSyn) != 0;
    public bool Fin => (Flags & TcpSegment.FlagFin) != 0;
    public bool Rst => (Flags & TcpSegment.FlagRst) != 0;
    public bool HasAck => (Flags & TcpSegment.FlagAck) != 0;
    public override string ToString() => $"seq {Seq} ack {Ack} flags {Flags:x2} win {Window} len {Payload.Length}";
}

/// <summary>
/// The engine under test (a <see cref="TcpSocketSet"/> at 198.18.0.1) and a hand-driven peer at 198.18.0.2: the test
/// writes the peer's segments field by field and reads back what the engine sent.
/// </summary>
internal sealed class RawPeer
{
    public static readonly IPAddress EngineAddress = IPAddress.Parse("198.18.0.1");
    public static readonly IPAddress PeerAddress = IPAddress.Parse("198.18.0.2");
    private readonly byte[] _buffer = new byte[1400];

    public RawPeer(TcpOptions? options = null, int seed = 1)
    {
        var rng = new Random(seed);
        Set = new TcpSocketSet(options ?? new TcpOptions(), b => rng.NextBytes(b));
    }

    public TcpSocketSet Set { get; }
    public TimeSpan Now { get; set; }

    public static TcpEndpoint Engine(ushort port) => TcpEndpoint.From(EngineAddress, port);
    public static TcpEndpoint Peer(ushort port) => TcpEndpoint.From(PeerAddress, port);

    /// <summary>Delivers a peer segment; returns what the engine did.</summary>
    public TcpInputResult Deliver(ushort peerPort, ushort enginePort, uint seq, uint ack, byte flags, ushort window = 65535,
        ReadOnlySpan<byte> payload = default, ushort mss = 0, IPAddress? from = null)
    {
        byte[] packet = new byte[1400];
        Span<byte> src = stackalloc byte[16], dst = stackalloc byte[16];
        (from ?? PeerAddress).TryWriteBytes(src, out int sn);
        EngineAddress.TryWriteBytes(dst, out _);
        int n = PacketBuilder.TcpFromAddressBytes(packet, src[..sn], dst[..4], peerPort, enginePort, seq, ack, flags, window, mss, payload);
        return Set.HandleInput(packet.AsSpan(0, n), Now);
    }

    /// <summary>Everything the engine wants to send now.</summary>
    public List<Sent> Drain()
    {
        var list = new List<Sent>();
        int n;
        while ((n = Set.PollTransmit(_buffer)) > 0)
        {
            Assert.Equal(IpParseError.None, IpPacket.TryParse(_buffer.AsSpan(0, n), out IpPacket ip));
            Assert.True(ip.ChecksumsValid());
            Assert.True(ip.TryGetTcp(out TcpSegment t));
            t.TryGetMaximumSegmentSize(out ushort mss);
            list.Add(new Sent(t.SequenceNumber, t.AcknowledgementNumber, t.Flags, t.Window, mss, t.Payload.ToArray(), t.SourcePort, t.DestinationPort));
        }
        return list;
    }

    public void Advance(TimeSpan by)
    {
        Now += by;
        Set.HandleTimeout(Now);
    }

    public List<TcpEvent> Events()
    {
        var list = new List<TcpEvent>();
        while (Set.TryPollEvent(out var e)) list.Add(e);
        return list;
    }

    public const byte Syn = TcpSegment.FlagSyn, Ack = TcpSegment.FlagAck, Fin = TcpSegment.FlagFin, Rst = TcpSegment.FlagRst, Psh = TcpSegment.FlagPsh;

    /// <summary>
    /// Passive open on engine port 53 from peer port 40000 with peer ISN <paramref name="peerIss"/>: returns the
    /// accepted handle and the engine's ISN.
    /// </summary>
    public (TcpSocketHandle Handle, uint EngineIss) AcceptOne(uint peerIss = 1000, ushort window = 65535)
    {
        Set.Listen(Engine(53), 10);
        Deliver(40000, 53, peerIss, 0, Syn, window, mss: 1240);
        Sent synAck = Assert.Single(Drain());
        Assert.True(synAck.Syn && synAck.HasAck);
        Assert.Equal(peerIss + 1, synAck.Ack);
        Deliver(40000, 53, peerIss + 1, synAck.Seq + 1, Ack, window);
        TcpEvent accepted = Assert.Single(Events());
        Assert.Equal(TcpEventKind.Accepted, accepted.Kind);
        return (accepted.Handle, synAck.Seq);
    }
}
