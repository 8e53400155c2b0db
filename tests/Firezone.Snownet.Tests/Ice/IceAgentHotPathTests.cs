using System.Net;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Stun;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>The check hot path: keyed MESSAGE-INTEGRITY, byte-wise USERNAME checks, pooled payloads, injected randomness.</summary>
public class IceAgentHotPathTests
{
    private static readonly TimeSpan T0 = TimeSpan.Zero;
    private static readonly IPEndPoint HostA = new(IPAddress.Parse("198.18.0.1"), 5000);
    private static readonly IPEndPoint HostB = new(IPAddress.Parse("198.18.0.2"), 5000);
    private static readonly IceCredentials CredsA = new("aaaa", "password-a-0123456789a");
    private static readonly IceCredentials CredsB = new("bbbb", "password-b-0123456789b");

    private static (IceAgent A, IceAgent B) Connected(int seed)
    {
        var a = new IceAgent(IceRole.Controlling, CredsA, RandomSource.Seeded(seed), tieBreaker: 2);
        var b = new IceAgent(IceRole.Controlled, CredsB, RandomSource.Seeded(seed + 1), tieBreaker: 1);
        a.AddLocalCandidate(Candidate.Host(HostA));
        b.AddLocalCandidate(Candidate.Host(HostB));
        a.SetRemoteCredentials(CredsB, T0);
        b.SetRemoteCredentials(CredsA, T0);
        a.AddRemoteCandidate(Candidate.Host(HostB));
        b.AddRemoteCandidate(Candidate.Host(HostA));
        a.HandleTimeout(T0);
        b.HandleTimeout(T0);
        for (int round = 0; round < 10; round++)
        {
            foreach (SentDatagram d in SentDatagram.Drain(a))
            {
                b.HandleInput(d.Payload, d.Source, d.Destination, T0);
            }

            foreach (SentDatagram d in SentDatagram.Drain(b))
            {
                a.HandleInput(d.Payload, d.Source, d.Destination, T0);
            }
        }

        while (a.PollEvent() is not null || b.PollEvent() is not null)
        {
        }

        Assert.Equal(IceConnectionState.Connected, a.State);
        Assert.Equal(IceConnectionState.Connected, b.State);
        return (a, b);
    }

    [Fact]
    public void Answering_a_consent_check_allocates_nothing_in_steady_state()
    {
        (IceAgent a, IceAgent b) = Connected(seed: 11);
        // A consent check from A, as B receives it on its host address (the same request may be answered again).
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(2));
        byte[] request = SentDatagram.Drain(a).First(d => StunMessage.TryParse(d.Payload, out StunMessage m) && m.Class == StunClass.Request).Payload;
        TimeSpan now = T0 + TimeSpan.FromSeconds(2);
        for (int i = 0; i < 100; i++) // warm up (JIT, tiering, queue and pool growth; B's own consent check goes out)
        {
            b.HandleInput(request, HostA, HostB, now);
            while (b.PollTransmit() is not null)
            {
            }
        }

        int answered = 0;

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            if (!b.HandleInput(request, HostA, HostB, now))
            {
                throw new InvalidOperationException("check refused");
            }

            while (b.PollTransmit() is { } t)
            {
                answered += t.Payload.Length > 0 ? 1 : 0;
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, answered);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_polled_payload_is_recycled_by_the_next_poll()
    {
        (IceAgent a, _) = Connected(seed: 3);
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(2));
        Transmit first = a.PollTransmit()!.Value;
        byte[] copy = first.Payload.ToArray();
        Assert.True(StunMessage.TryParse(first.Payload.Span, out _)); // valid until the next poll
        Assert.Null(a.PollTransmit());
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(4));
        Transmit second = a.PollTransmit()!.Value;
        // The buffer of the first payload is reused for the next check: a caller must copy to keep it.
        Assert.True(first.Payload.Span.Overlaps(second.Payload.Span));
        Assert.NotEqual(copy, first.Payload.ToArray());
    }

    [Fact]
    public void The_same_random_seed_replays_the_same_checks_byte_for_byte()
    {
        static List<byte[]> Run(int seed)
        {
            var agent = new IceAgent(IceRole.Controlling, IceCredentials.Random(RandomSource.Seeded(seed)), RandomSource.Seeded(seed));
            agent.AddLocalCandidate(Candidate.Host(HostA));
            agent.SetRemoteCredentials(CredsB, T0);
            agent.AddRemoteCandidate(Candidate.Host(HostB));
            agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse("198.18.0.3"), 5000)));
            var sent = new List<byte[]>();
            for (TimeSpan t = T0; t < T0 + TimeSpan.FromSeconds(10); t += TimeSpan.FromMilliseconds(250))
            {
                agent.HandleTimeout(t);
                sent.AddRange(SentDatagram.Drain(agent).Select(d => d.Payload));
            }

            return sent;
        }

        List<byte[]> first = Run(42), again = Run(42), other = Run(43);
        Assert.True(first.Count > 10);
        Assert.Equal(first, again); // tie-breaker, credentials and every transaction id come from the seed
        Assert.NotEqual(first, other);
    }

    /// <summary>
    /// Oracle: the keyed, reused HMAC of <see cref="CheckIntegrityKey"/> agrees with the STUN codec's one-shot
    /// HMAC-SHA1 (<see cref="StunMessage.VerifyMessageIntegrity"/>) on every check we encode, and decoding gives the
    /// encoded fields back; a key for another password never verifies.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property Keyed_integrity_agrees_with_the_one_shot_stun_hmac(NonEmptyString password, NonEmptyString otherPassword,
        byte[] usernameBytes, ulong tieBreaker, uint priority, bool useCandidate, byte kind, int port)
    {
        string pwd = password.Get.Length > 200 ? password.Get[..200] : password.Get;
        using var key = new CheckIntegrityKey(pwd);
        using var wrong = new CheckIntegrityKey(pwd + "!" + otherPassword.Get); // not just trailing zeros, which HMAC would pad away
        byte[] username = usernameBytes.Length > 300 ? usernameBytes[..300] : usernameBytes;
        username = System.Text.Encoding.UTF8.GetBytes(Convert.ToBase64String(username)); // valid UTF-8
        var mapped = new IPEndPoint(IPAddress.Parse("2001:db8::7"), (int)((uint)port % 65536));
        var check = new ConnectivityCheck
        {
            Kind = (CheckMessageKind)(kind % 3),
            TransactionId = TransactionId.NewRandom(RandomSource.Seeded(port)),
            Username = username,
            Priority = priority,
            Controlling = tieBreaker % 2 == 0,
            TieBreaker = tieBreaker,
            UseCandidate = useCandidate,
            MappedAddress = mapped,
            ErrorCode = 487,
        };
        var buffer = new byte[ConnectivityCheck.MaxEncodedLength];
        int length = StunConnectivityCheckCodec.Instance.Encode(in check, key, buffer);
        byte[] wire = buffer[..length];
        bool oneShot = StunMessage.TryParse(wire, out StunMessage m) && m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(pwd)) && m.VerifyFingerprint();
        bool decoded = StunConnectivityCheckCodec.Instance.TryDecode(wire, out ConnectivityCheck d);
        bool keyed = decoded && StunConnectivityCheckCodec.Instance.VerifyIntegrity(wire, in d, key);
        bool wrongKey = decoded && StunConnectivityCheckCodec.Instance.VerifyIntegrity(wire, in d, wrong);
        bool fields = decoded && d.Kind == check.Kind && d.TransactionId == check.TransactionId && check.Kind switch
        {
            CheckMessageKind.Request => wire.AsSpan(d.UsernameRange).SequenceEqual(username) && d.Priority == priority
                && d.Controlling == check.Controlling && d.TieBreaker == tieBreaker && d.UseCandidate == useCandidate,
            CheckMessageKind.Success => mapped.Equals(d.MappedAddress),
            _ => d.ErrorCode == 487,
        };
        return oneShot.Label("one-shot HMAC verifies")
            .And(keyed).Label("keyed HMAC verifies")
            .And(!wrongKey).Label("another password does not")
            .And(fields).Label("fields round-trip");
    }
}
