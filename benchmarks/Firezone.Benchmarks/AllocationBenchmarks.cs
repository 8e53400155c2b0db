using System.Net;
using BenchmarkDotNet.Attributes;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Turn;

namespace Firezone.Benchmarks;

/// <summary>
/// Hot path of the TURN client: framing an outgoing datagram as ChannelData in place, and decoding incoming ChannelData,
/// with one or many bound channels; plus the per-tick timer work of an idle allocation.
/// </summary>
[MemoryDiagnoser]
public class AllocationBenchmarks
{
    private static readonly TimeSpan Start = TimeSpan.FromHours(1); // monotonic
    private static readonly DateTimeOffset WallStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly IPEndPoint Relay = IPEndPoint.Parse("198.18.0.254:3478");
    private static readonly IPEndPoint Client = IPEndPoint.Parse("198.18.0.1:50000");

    private Allocation _allocation = null!;
    private IPEndPoint _peer = null!;
    private byte[] _outgoing = null!;
    private byte[] _incoming = null!;

    /// <summary>Number of bound channels (the benchmarked peer is the last one).</summary>
    [Params(1, 1000)]
    public int Channels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const string secret = "4c98bf59c99b3e467ecd7cf9d6b3e5279645fca59be67bc5bb4af3cf653761ab";
        var random = new Random(1);
        var server = new TurnServer(new TurnServerOptions
        {
            PublicIPv4 = Relay.Address,
            ListenPort = Relay.Port,
            LowestPort = 49152,
            HighestPort = 49160,
            AuthSecret = secret,
            Random = span => random.NextBytes(span),
        });
        var expiry = (ulong)WallStart.AddDays(1).ToUnixTimeSeconds();
        _allocation = new Allocation(
            RelaySocket.FromV4(Relay),
            FirezoneCredentials.MakeUsername(expiry, "benchSalt1"),
            FirezoneCredentials.ComputePassword(secret, expiry, "benchSalt1"),
            FirezoneCredentials.Realm,
            "snownet; session=BENCH",
            Start,
            RandomSource.Seeded(2));
        Pump(server);
        for (var i = 0; i < Channels; i++)
        {
            _peer = new IPEndPoint(IPAddress.Parse("198.18.1.1"), 1000 + i);
            _allocation.BindChannel(_peer, Start);
            Pump(server);
        }

        var channel = _allocation.Channels.ConnectedChannelToPeer(_peer, Start) ?? throw new InvalidOperationException("channel not bound");
        _outgoing = new byte[1316];
        _incoming = ChannelData.Encode(channel, new byte[1312]);
    }

    private void Pump(TurnServer server)
    {
        for (var i = 0; i < 100; i++)
        {
            var progress = false;
            while (_allocation.PollTransmit() is { } t)
            {
                server.HandleClientInput(t.Payload.Span, Client, Start, WallStart);
                progress = true;
            }

            while (server.TryPollCommand(out var command))
            {
                if (command.Kind == TurnServerCommandKind.SendMessage)
                {
                    _allocation.HandleInput(command.Payload, Relay, Client, Start);
                    progress = true;
                }
            }

            while (_allocation.PollEvent() is not null)
            {
            }

            if (!progress)
            {
                return;
            }
        }
    }

    /// <summary>Write the ChannelData header in front of a 1312-byte encrypted WireGuard datagram.</summary>
    [Benchmark]
    public IPEndPoint? FrameInPlace() => _allocation.WriteChannelDataHeader(_peer, _outgoing, 1312, Start + TimeSpan.FromSeconds(1));

    /// <summary>Decode a 1316-byte ChannelData datagram from the relay into peer, relayed address and payload.</summary>
    [Benchmark]
    public int Decapsulate() =>
        _allocation.TryDecapsulate(_incoming, Relay, Start + TimeSpan.FromSeconds(1), out _, out _, out var payload) ? payload.End.Value : -1;

    /// <summary>The timer work of a live allocation that has nothing due.</summary>
    [Benchmark]
    public TimeSpan? IdleTick()
    {
        _allocation.HandleTimeout(Start + TimeSpan.FromSeconds(2));
        return _allocation.PollTimeout();
    }
}
