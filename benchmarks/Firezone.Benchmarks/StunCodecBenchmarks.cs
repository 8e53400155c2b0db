using System.Net;
using BenchmarkDotNet.Attributes;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.Benchmarks;

/// <summary>STUN/ChannelData parse and build, and the relay's per-packet fast path.</summary>
[MemoryDiagnoser]
public class StunCodecBenchmarks
{
    private static readonly byte[] SampleRequest = Convert.FromHexString(
        "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063" +
        "6c69656e74002400046e0001ff80290008932ff9b151263b3600060009657674" +
        "6a3a6836765920202000080014" + "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" + "80280004e57a3bcf");

    private static readonly byte[] Key = StunCredentials.ShortTermKey("VOkJxbRl1RmTxUk/WvJxBt");
    private readonly byte[] _buffer = new byte[1500];
    private readonly IPEndPoint _endPoint = new(IPAddress.Parse("192.0.2.1"), 32853);
    private readonly byte[] _frame = ChannelData.Encode(0x4000, new byte[1200]);
    private TurnServer _server = null!;
    private IPEndPoint _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        // A relay with one allocation and one bound channel, to measure HandleClientInput on ChannelData.
        var secret = new string('0', 64);
        _server = new TurnServer(new TurnServerOptions { PublicIPv4 = IPAddress.Parse("203.0.113.1"), AuthSecret = secret });
        _client = new IPEndPoint(IPAddress.Parse("198.51.100.1"), 40000);
        var now = TimeSpan.Zero; // monotonic
        var utcNow = DateTimeOffset.UtcNow;
        var nonce = Guid.NewGuid();
        _server.AddNonce(nonce);
        ulong expiry = (ulong)utcNow.ToUnixTimeSeconds() + 3600;
        string username = FirezoneCredentials.MakeUsername(expiry, "benchsalt1");
        byte[] key = StunCredentials.LongTermKey(username, "firezone", FirezoneCredentials.ComputePassword(secret, expiry, "benchsalt1"));
        foreach (var method in new[] { StunMethod.Allocate, StunMethod.ChannelBind })
        {
            var b = new StunMessageBuilder(_buffer, method, StunClass.Request, TransactionId.NewRandom());
            if (method == StunMethod.Allocate)
            {
                b.AddRequestedTransport();
            }
            else
            {
                b.AddChannelNumber(0x4000);
                b.AddXorPeerAddress(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 5000));
            }

            b.AddUsername(username);
            b.AddRealm("firezone");
            b.AddNonce(nonce.ToString());
            b.AddMessageIntegrity(key);
            _server.HandleClientInput(b.Message, _client, now, utcNow);
        }

        while (_server.TryPollCommand(out _))
        {
        }
    }

    [Benchmark]
    public bool ParseAndReadSampleRequest()
    {
        StunMessage.TryParse(SampleRequest, out var message, out _);
        message.TryGetPriority(out uint priority);
        return priority != 0 && message.HasUseCandidate == false;
    }

    [Benchmark]
    public bool ParseAndVerifyIntegrityAndFingerprint()
    {
        StunMessage.TryParse(SampleRequest, out var message, out _);
        return message.VerifyMessageIntegrity(Key) && message.VerifyFingerprint();
    }

    [Benchmark]
    public int BuildBindingResponse()
    {
        var builder = new StunMessageBuilder(_buffer, StunMethod.Binding, StunClass.SuccessResponse, default);
        builder.AddXorMappedAddress(_endPoint);
        return builder.Length;
    }

    [Benchmark]
    public int BuildSignedRequestWithFingerprint()
    {
        var builder = new StunMessageBuilder(_buffer, StunMethod.Binding, StunClass.Request, default);
        builder.AddUsername("evtj:h6vY");
        builder.AddPriority(0x6e0001ff);
        builder.AddIceControlled(0x932ff9b151263b36);
        builder.AddMessageIntegrity(Key);
        builder.AddFingerprint();
        return builder.Length;
    }

    [Benchmark]
    public int ParseChannelData() => ChannelData.TryParse(_frame, out var frame) ? frame.Payload.Length : 0;

    [Benchmark]
    public int RelayFastPathClientToPeer() => _server.HandleClientInput(_frame, _client, TimeSpan.FromSeconds(1), DateTimeOffset.UnixEpoch)?.PayloadLength ?? -1;
}
