using System.Net;
using BenchmarkDotNet.Attributes;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Stun;

namespace Firezone.Benchmarks;

/// <summary>
/// ICE agent benchmarks. <c>AnswerChecks</c>: connectivity checks one agent processes per second (authenticated
/// Binding request in, HMAC-SHA1 + FINGERPRINT success response out), 64 checks per invoke; checks/s = 64 / Mean.
/// <c>TimeToNomination</c>: two fresh agents with 2 host + 1 relay candidates each on a zero-latency network, from
/// construction until both report the nominated pair (wall-clock CPU time; simulated time is 0).
/// <c>CodecOnly</c>: the STUN work inside one answered check (decode, verify, encode), for comparison.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- --filter *IceBenchmarks*</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(OpsPerSecondConfig))]
public class IceBenchmarks
{
    /// <summary>Adds an Op/s column (for AnswerChecks: checks per second).</summary>
    private sealed class OpsPerSecondConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public OpsPerSecondConfig() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.OperationsPerSecond);
    }

    private const int ChecksPerInvoke = 64;
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(1);
    private static readonly IPEndPoint HostA = new(IPAddress.Parse("198.18.0.1"), 5000);
    private static readonly IPEndPoint HostB = new(IPAddress.Parse("198.18.0.2"), 5000);

    private static readonly CheckIntegrityKey KeyB = new("password-b-0123456789b");
    private readonly byte[] _encoded = new byte[ConnectivityCheck.MaxEncodedLength];

    private IceAgent _responder = null!;
    private byte[][] _requests = null!;

    [GlobalSetup]
    public void Setup()
    {
        (IceAgent a, IceAgent b) = NewPair(withRelays: false);
        Connect(a, b);
        _responder = b;
        // Real requests from A (fresh transaction ids each), as B receives them on its host address.
        _requests = new byte[ChecksPerInvoke][];
        for (int i = 0; i < ChecksPerInvoke; i++)
        {
            TimeSpan now = T0 + TimeSpan.FromSeconds(2 * (i + 1));
            a.HandleTimeout(now);
            b.HandleTimeout(now);
            byte[]? request = null;
            foreach ((IPEndPoint source, IPEndPoint destination, byte[] payload) in Drain(a))
            {
                if (request is null && StunMessage.TryParse(payload, out StunMessage m) && m.Class == StunClass.Request)
                {
                    request = payload;
                }

                b.HandleInput(payload, source, destination, now);
            }

            foreach ((IPEndPoint source, IPEndPoint destination, byte[] payload) in Drain(b))
            {
                a.HandleInput(payload, source, destination, now);
            }

            _requests[i] = request ?? throw new InvalidOperationException("agent sent no consent check");
        }

        long answered = _responder.RequestsAnswered;
        int sent = AnswerChecks();
        if (_responder.RequestsAnswered - answered != ChecksPerInvoke || sent < ChecksPerInvoke)
        {
            throw new InvalidOperationException($"responder answered {_responder.RequestsAnswered - answered} of {ChecksPerInvoke} checks (dropped {_responder.Dropped})");
        }
    }

    [Benchmark(OperationsPerInvoke = ChecksPerInvoke)]
    public int AnswerChecks()
    {
        int sent = 0;
        TimeSpan now = T0 + TimeSpan.FromSeconds(130);
        foreach (byte[] request in _requests)
        {
            _responder.HandleInput(request, HostA, HostB, now);
            while (_responder.PollTransmit() is not null)
            {
                sent++;
            }
        }

        return sent;
    }

    /// <summary>The codec floor of <see cref="AnswerChecks"/>: decode, verify integrity, encode the response.</summary>
    [Benchmark(OperationsPerInvoke = ChecksPerInvoke)]
    public int CodecOnly()
    {
        int bytes = 0;
        var codec = StunConnectivityCheckCodec.Instance;
        foreach (byte[] request in _requests)
        {
            codec.TryDecode(request, out ConnectivityCheck check);
            codec.VerifyIntegrity(request, in check, KeyB);
            var response = new ConnectivityCheck { Kind = CheckMessageKind.Success, TransactionId = check.TransactionId, MappedAddress = HostA };
            bytes += codec.Encode(in response, KeyB, _encoded);
        }

        return bytes;
    }

    [Benchmark]
    public int TimeToNomination()
    {
        (IceAgent a, IceAgent b) = NewPair(withRelays: true);
        return Connect(a, b);
    }

    private static (IceAgent A, IceAgent B) NewPair(bool withRelays)
    {
        var credsA = new IceCredentials("aaaa", "password-a-0123456789a");
        var credsB = new IceCredentials("bbbb", "password-b-0123456789b");
        var a = new IceAgent(IceRole.Controlling, credsA, RandomSource.Seeded(1), tieBreaker: 2);
        var b = new IceAgent(IceRole.Controlled, credsB, RandomSource.Seeded(2), tieBreaker: 1);
        a.AddLocalCandidate(Candidate.Host(HostA));
        b.AddLocalCandidate(Candidate.Host(HostB));
        if (withRelays)
        {
            a.AddLocalCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse("198.18.1.1"), 5000)));
            b.AddLocalCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse("198.18.1.2"), 5000)));
            a.AddLocalCandidate(Candidate.Relayed(new IPEndPoint(IPAddress.Parse("198.18.2.1"), 6000)));
            b.AddLocalCandidate(Candidate.Relayed(new IPEndPoint(IPAddress.Parse("198.18.2.2"), 6000)));
        }

        a.SetRemoteCredentials(credsB, T0);
        b.SetRemoteCredentials(credsA, T0);
        return (a, b);
    }

    /// <summary>Zero-latency, lossless exchange until both sides nominated; returns datagrams exchanged.</summary>
    private static int Connect(IceAgent a, IceAgent b)
    {
        Signal(a, b);
        Signal(b, a);
        a.HandleTimeout(T0);
        b.HandleTimeout(T0);
        int datagrams = 0;
        bool nominatedA = false, nominatedB = false;
        for (int round = 0; round < 100 && !(nominatedA && nominatedB); round++)
        {
            datagrams += Deliver(a, b) + Deliver(b, a);
            nominatedA |= DrainEvents(a);
            nominatedB |= DrainEvents(b);
        }

        if (!(nominatedA && nominatedB))
        {
            throw new InvalidOperationException("no nomination");
        }

        return datagrams;
    }

    private static void Signal(IceAgent from, IceAgent to)
    {
        while (from.PollEvent() is { } e)
        {
            if (e is CandidateGathered g)
            {
                to.AddRemoteCandidate(g.Candidate);
            }
        }
    }

    private static int Deliver(IceAgent from, IceAgent to)
    {
        int n = 0;
        foreach ((IPEndPoint source, IPEndPoint destination, byte[] payload) in Drain(from))
        {
            // Every address is public and every path open: the peer sees our base as the source.
            to.HandleInput(payload, source, destination, T0);
            n++;
        }

        return n;
    }

    /// <summary>Copies every pending transmit (a payload is only valid until the agent's next poll).</summary>
    private static List<(IPEndPoint Source, IPEndPoint Destination, byte[] Payload)> Drain(IceAgent agent)
    {
        var list = new List<(IPEndPoint, IPEndPoint, byte[])>();
        while (agent.PollTransmit() is { } t)
        {
            list.Add((t.Source!, t.Destination, t.Payload.ToArray()));
        }

        return list;
    }

    private static bool DrainEvents(IceAgent agent)
    {
        bool nominated = false;
        while (agent.PollEvent() is { } e)
        {
            nominated |= e is PairNominated;
        }

        return nominated;
    }
}
