using Firezone.Testing;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Tests.Ice.Simulation;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>One agent driven by hand-built STUN messages.</summary>
public class IceAgentTests
{
    private static readonly TimeSpan T0 = IceSimulation.Start;
    private static readonly IceCredentials Ours = new("aaaa", "ourpassword-0123456789");
    private static readonly IceCredentials Theirs = new("bbbb", "theirpassword-01234567");
    private static readonly IPEndPoint Local = new(IPAddress.Parse("198.18.1.1"), 5000);
    private static readonly IPEndPoint Remote = new(IPAddress.Parse("198.18.2.2"), 6000);

    private static IceAgent NewAgent(IceRole role = IceRole.Controlling, bool remoteCreds = true, IceCredentials? ours = null)
    {
        var agent = new IceAgent(role, ours ?? Ours, RandomSource.Seeded(1), tieBreaker: 42);
        agent.AddLocalCandidate(Candidate.Host(Local));
        if (remoteCreds)
        {
            agent.SetRemoteCredentials(Theirs, T0);
        }

        while (agent.PollEvent() is not null)
        {
        }

        return agent;
    }

    private static byte[] Request(string username, string password, bool controlling = false, ulong tieBreaker = 7,
        bool useCandidate = false, uint priority = 1862270719, bool str0mPadding = false, TransactionId? id = null)
    {
        Span<byte> buffer = stackalloc byte[512];
        var b = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.Request, id ?? TransactionId.NewRandom());
        b.AddUsername(username);
        if (str0mPadding)
        {
            b.AddAttribute(0x0000, ReadOnlySpan<byte>.Empty); // str0m's 4 extra zero bytes after a 4n-byte USERNAME
        }

        if (controlling)
        {
            b.AddIceControlling(tieBreaker);
        }
        else
        {
            b.AddIceControlled(tieBreaker);
        }

        b.AddPriority(priority);
        if (useCandidate)
        {
            b.AddUseCandidate();
        }

        b.AddMessageIntegrity(StunCredentials.ShortTermKey(password));
        b.AddFingerprint();
        return b.ToArray();
    }

    private static List<SentDatagram> Drain(IceAgent agent) => SentDatagram.Drain(agent);

    [Fact]
    public void Outgoing_check_carries_username_priority_role_integrity_and_fingerprint()
    {
        IceAgent agent = NewAgent();
        Assert.True(agent.AddRemoteCandidate(Candidate.Host(Remote)));
        agent.HandleTimeout(T0);
        SentDatagram t = Assert.Single(Drain(agent));
        Assert.Equal(Local, t.Source);
        Assert.Equal(Remote, t.Destination);
        Assert.True(StunMessage.TryParse(t.Payload, out StunMessage m));
        Assert.Equal(StunMethod.Binding, m.Method);
        Assert.Equal(StunClass.Request, m.Class);
        Assert.Equal("bbbb:aaaa", m.Username);
        Assert.True(m.TryGetPriority(out uint priority));
        Assert.Equal(1862270719u, priority); // prflx type 110, internal host local preference 65534, component 1
        Assert.True(m.TryGetIceControlling(out ulong tb));
        Assert.Equal(42ul, tb);
        Assert.False(m.HasUseCandidate);
        Assert.True(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Theirs.Password)));
        Assert.False(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Ours.Password)));
        Assert.True(m.VerifyFingerprint());
    }

    [Fact]
    public void Request_is_answered_with_xor_mapped_address_signed_with_the_responders_password()
    {
        IceAgent agent = NewAgent(IceRole.Controlled);
        var id = TransactionId.NewRandom();
        Assert.True(agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true, id: id), Remote, Local, T0));
        SentDatagram answer = Drain(agent).First(t => StunMessage.TryParse(t.Payload, out StunMessage x) && x.Class == StunClass.SuccessResponse);
        Assert.Equal(Local, answer.Source);
        Assert.Equal(Remote, answer.Destination);
        Assert.True(StunMessage.TryParse(answer.Payload, out StunMessage m));
        Assert.Equal(id, m.TransactionId);
        Assert.True(m.TryGetXorMappedAddress(out IPEndPoint mapped));
        Assert.Equal(Remote, mapped);
        Assert.Null(m.Username);
        Assert.True(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Ours.Password)));
        Assert.True(m.VerifyFingerprint());
        Assert.Equal(1, agent.RequestsAnswered);
    }

    [Fact]
    public void Answers_the_rfc5769_sample_request_with_the_rfc5769_mapped_address()
    {
        // RFC 5769 §2.1: USERNAME "evtj:h6vY" (space-padded), ICE-CONTROLLED, PRIORITY, SOFTWARE, MI, FINGERPRINT.
        var ours = new IceCredentials("evtj", "VOkJxbRl1RmTxUk/WvJxBt");
        var agent = new IceAgent(IceRole.Controlling, ours, RandomSource.Seeded(4), tieBreaker: 1);
        var local = new IPEndPoint(IPAddress.Parse("192.0.2.10"), 3478);
        agent.AddLocalCandidate(Candidate.Host(local));
        agent.SetRemoteCredentials(new IceCredentials("h6vY", "unused-remote-password"), T0);
        var from = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853); // the address of the RFC 5769 §2.2 response
        Assert.True(agent.HandleInput(Firezone.Snownet.Tests.Stun.Rfc5769Tests.SampleRequest, from, local, T0));
        Assert.Equal(0, agent.Dropped);
        SentDatagram answer = Drain(agent).First(t => StunMessage.TryParse(t.Payload, out StunMessage m) && m.Class == StunClass.SuccessResponse);
        Assert.True(StunMessage.TryParse(answer.Payload, out StunMessage response));
        Assert.True(response.TryGetAttributeValue(0x0020, out ReadOnlySpan<byte> xorMapped));
        Assert.Equal(Convert.FromHexString("0001a147e112a643"), xorMapped.ToArray());
        Assert.True(Firezone.Snownet.Tests.Stun.Rfc5769Tests.SampleRequest.AsSpan(8, 12).SequenceEqual(answer.Payload.AsSpan(8, 12)));
        Assert.True(response.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ours.Password)));
    }

    [Fact]
    public void Unknown_source_becomes_a_peer_reflexive_candidate_with_the_requests_priority_and_a_triggered_check()
    {
        IceAgent agent = NewAgent(IceRole.Controlled);
        agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true, priority: 1862270719), Remote, Local, T0);
        Candidate prflx = Assert.Single(agent.RemoteCandidates);
        Assert.Equal(CandidateKind.PeerReflexive, prflx.Kind);
        Assert.Equal(1862270719u, prflx.Priority);
        List<SentDatagram> sent = Drain(agent);
        Assert.Equal(2, sent.Count); // the response and the triggered check
        Assert.Contains(sent, t => StunMessage.TryParse(t.Payload, out StunMessage m) && m.Class == StunClass.Request && m.Username == "bbbb:aaaa");
        Assert.Contains(agent.Pairs, p => p.Remote.Address.Equals(Remote));
    }

    [Theory]
    [InlineData("aaaa:zzzz", "ourpassword-0123456789", true)]   // ours (our ufrag and password), wrong remote ufrag
    [InlineData("xxxx:bbbb", "ourpassword-0123456789", false)]  // not our ufrag: maybe another agent's
    [InlineData("aaaa:bbbb", "theirpassword-01234567", false)]  // keyed with the wrong password
    [InlineData("aaaabbbb", "ourpassword-0123456789", false)]   // no colon
    [InlineData("aaaaa:bbbb", "ourpassword-0123456789", false)] // our ufrag is only a prefix of theirs
    [InlineData("aaaa:bbbbb", "ourpassword-0123456789", true)]  // the peer ufrag extended by a byte
    [InlineData("aaaa:bbb", "ourpassword-0123456789", true)]    // the peer ufrag cut by a byte
    public void Unauthenticated_requests_are_dropped_silently_and_claimed_only_when_addressed_to_us(string username, string password, bool claimed)
    {
        IceAgent agent = NewAgent();
        Assert.Equal(claimed, agent.HandleInput(Request(username, password), Remote, Local, T0));
        Assert.Empty(Drain(agent));
        Assert.Equal(1, agent.Dropped);
        Assert.Empty(agent.RemoteCandidates);
    }

    [Fact]
    public void Corrupted_fingerprint_is_dropped_on_purpose_unlike_str0m()
    {
        IceAgent agent = NewAgent(IceRole.Controlled);
        byte[] request = Request("aaaa:bbbb", Ours.Password, controlling: true);
        request[^1] ^= 0xFF;
        Assert.False(agent.HandleInput(request, Remote, Local, T0));
        Assert.Empty(Drain(agent));
        Assert.Equal(1, agent.Dropped);
    }

    [Fact]
    public void Usernames_padded_the_str0m_way_are_tolerated()
    {
        // ufrags of 3 and 4 characters: USERNAME "abc:defg" is 8 bytes, a multiple of 4, and str0m appends a
        // zero-type, zero-length attribute (spec §11 item 20).
        var ours = new IceCredentials("abc", Ours.Password);
        var agent = new IceAgent(IceRole.Controlled, ours, RandomSource.Seeded(2), tieBreaker: 1);
        agent.AddLocalCandidate(Candidate.Host(Local));
        agent.SetRemoteCredentials(new IceCredentials("defg", Theirs.Password), T0);
        Drain(agent);
        agent.HandleInput(Request("abc:defg", Ours.Password, controlling: true, str0mPadding: true), Remote, Local, T0);
        Assert.Contains(Drain(agent), t => StunMessage.TryParse(t.Payload, out StunMessage m) && m.Class == StunClass.SuccessResponse);
        Assert.Equal(0, agent.Dropped);
    }

    [Fact]
    public void Our_usernames_use_rfc_padding()
    {
        var agent = new IceAgent(IceRole.Controlling, new IceCredentials("abc", Ours.Password), RandomSource.Seeded(2), tieBreaker: 1);
        agent.AddLocalCandidate(Candidate.Host(Local));
        agent.SetRemoteCredentials(new IceCredentials("defg", Theirs.Password), T0);
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        agent.HandleTimeout(T0);
        SentDatagram t = Assert.Single(Drain(agent));
        // Header 20 + USERNAME 4+8 + ICE-CONTROLLING 4+8 + PRIORITY 4+4 + MI 4+20 + FINGERPRINT 4+4: no extra bytes.
        Assert.Equal(20 + 12 + 12 + 8 + 24 + 8, t.Payload.Length);
        Assert.True(StunMessage.TryParse(t.Payload, out StunMessage m));
        foreach (StunAttribute a in m.Attributes)
        {
            Assert.NotEqual(0, a.Type);
        }
    }

    [Fact]
    public void Requests_before_remote_credentials_are_queued_and_answered_once_they_arrive()
    {
        IceAgent agent = NewAgent(IceRole.Controlled, remoteCreds: false);
        agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true), Remote, Local, T0);
        Assert.Empty(Drain(agent));
        agent.SetRemoteCredentials(Theirs, T0 + TimeSpan.FromSeconds(1));
        Assert.Contains(Drain(agent), t => StunMessage.TryParse(t.Payload, out StunMessage m) && m.Class == StunClass.SuccessResponse);
    }

    [Fact]
    public void Queued_requests_older_than_the_ice_timeout_are_dropped()
    {
        IceAgent agent = NewAgent(IceRole.Controlled, remoteCreds: false);
        agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true), Remote, Local, T0);
        agent.HandleTimeout(T0 + TimeSpan.FromSeconds(10));
        agent.SetRemoteCredentials(Theirs, T0 + TimeSpan.FromSeconds(10));
        Assert.Empty(Drain(agent));
    }

    [Fact]
    public void Non_stun_datagrams_are_not_for_the_agent()
    {
        IceAgent agent = NewAgent();
        byte[] wireguardInit = new byte[148];
        wireguardInit[0] = 1;
        Assert.False(agent.HandleInput(wireguardInit, Remote, Local, T0));
        Assert.False(agent.HandleInput([], Remote, Local, T0));
    }

    [Fact]
    public void Responses_with_unknown_transaction_or_bad_integrity_are_dropped_and_not_claimed()
    {
        IceAgent agent = NewAgent();
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        agent.HandleTimeout(T0);
        SentDatagram check = Assert.Single(Drain(agent));
        Assert.True(StunMessage.TryParse(check.Payload, out StunMessage req));
        TransactionId id = req.TransactionId;

        byte[] Response(TransactionId tid, string password)
        {
            Span<byte> buffer = stackalloc byte[256];
            var b = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, tid);
            b.AddXorMappedAddress(Local);
            b.AddMessageIntegrity(StunCredentials.ShortTermKey(password));
            b.AddFingerprint();
            return b.ToArray();
        }

        Assert.False(agent.HandleInput(Response(TransactionId.NewRandom(), Theirs.Password), Remote, Local, T0));
        Assert.False(agent.HandleInput(Response(id, Ours.Password), Remote, Local, T0));
        Assert.Equal(2, agent.Dropped);
        Assert.Equal(IceConnectionState.Checking, agent.State);

        Assert.True(agent.HandleInput(Response(id, Theirs.Password), Remote, Local, T0 + TimeSpan.FromMilliseconds(20)));
        Assert.Equal(IceConnectionState.Connected, agent.State);
        PairNominated nominated = Assert.Single(Events(agent).OfType<PairNominated>());
        Assert.Equal(Local, nominated.Source);
        Assert.Equal(Remote, nominated.Destination);
        // The controlling side immediately sends USE-CANDIDATE on the nominated pair.
        Assert.Contains(Drain(agent), t => StunMessage.TryParse(t.Payload, out StunMessage m) && m.HasUseCandidate);
    }

    [Fact]
    public void Controlled_side_selects_the_pair_the_peer_nominates()
    {
        IceAgent agent = NewAgent(IceRole.Controlled);
        agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true, useCandidate: true), Remote, Local, T0);
        PairNominated nominated = Assert.Single(Events(agent).OfType<PairNominated>());
        Assert.Equal(Local, nominated.Source);
        Assert.Equal(Remote, nominated.Destination);
        Assert.Equal(IceConnectionState.Connected, agent.State);
    }

    [Fact]
    public void Controlled_side_follows_the_latest_use_candidate_not_the_highest_priority_on_purpose()
    {
        // str0m picks the highest-priority nominated pair; both sides compute pair priorities from different
        // candidate priorities, so we follow the controlling side's latest USE-CANDIDATE instead.
        IceAgent agent = NewAgent(IceRole.Controlled);
        var low = new IPEndPoint(IPAddress.Parse("198.18.2.3"), 6000);
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        agent.AddRemoteCandidate(Candidate.Relayed(low));
        agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true, useCandidate: true), Remote, Local, T0);
        Assert.Equal(Remote, agent.SelectedPair!.Remote.Address);
        agent.HandleInput(Request("aaaa:bbbb", Ours.Password, controlling: true, useCandidate: true), low, Local, T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(low, agent.SelectedPair!.Remote.Address);
        Assert.True(agent.Pairs.First(p => p.Remote.Address.Equals(Remote)).Priority > agent.SelectedPair.Priority);
        Assert.Equal(2, Events(agent).OfType<PairNominated>().Count());
    }

    [Fact]
    public void Poll_timeout_is_now_while_output_is_pending()
    {
        IceAgent agent = NewAgent();
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        agent.HandleTimeout(T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), agent.PollTimeout());
        Drain(agent);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1.25), agent.PollTimeout());
    }

    [Fact]
    public void Remote_candidates_are_validated()
    {
        IceAgent agent = NewAgent();
        Assert.False(agent.AddRemoteCandidate(Candidate.Host(Remote) with { Component = 2 }));
        Assert.False(agent.AddRemoteCandidate(Candidate.Host(Remote) with { Transport = "tcp" }));
        Assert.False(agent.AddRemoteCandidate(Candidate.Host(Remote) with { Ufrag = "zzzz" }));
        Assert.False(agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(IPAddress.Any, 1))));
        Assert.False(agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse("169.254.0.1"), 1))));
        Assert.True(agent.AddRemoteCandidate(Candidate.Host(Remote) with { Ufrag = "bbbb" }));
        Assert.False(agent.AddRemoteCandidate(Candidate.Host(Remote)));
        Assert.True(agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 1))));
        Assert.Single(agent.Pairs); // accepted, but no IPv4/IPv6 cross pair
    }

    [Fact]
    public void Local_candidates_are_validated_and_srflx_is_signalled_but_not_paired()
    {
        var agent = new IceAgent(IceRole.Controlling, Ours, RandomSource.Seeded(3));
        Assert.False(agent.AddLocalCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse("224.0.0.5"), 1))));
        Assert.True(agent.AddLocalCandidate(Candidate.Host(Local)));
        Assert.False(agent.AddLocalCandidate(Candidate.Host(Local)));
        Assert.True(agent.AddLocalCandidate(Candidate.ServerReflexive(new IPEndPoint(IPAddress.Parse("198.18.9.9"), 40000), Local)));
        Assert.Equal(2, Events(agent).OfType<CandidateGathered>().Count());
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        Assert.Single(agent.Pairs);
        Assert.Equal(CandidateKind.Host, agent.Pairs[0].Local.Kind);
    }

    [Fact]
    public void Redundant_pairs_keep_the_higher_priority_and_the_checklist_holds_at_most_100()
    {
        IceAgent agent = NewAgent();
        agent.AddRemoteCandidate(Candidate.Relayed(Remote) with { Priority = 1000 });
        agent.AddRemoteCandidate(Candidate.PeerReflexive(Remote, Remote, 2000) with { Kind = CandidateKind.ServerReflexive });
        CandidatePair only = Assert.Single(agent.Pairs);
        Assert.Equal(2000u, only.Remote.Priority);

        for (int i = 0; i < 150; i++)
        {
            agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse($"198.18.3.{i % 250}"), 7000 + i)) with { Priority = (uint)(10_000 + i) });
        }

        Assert.Equal(Checklist.MaxPairs, agent.Pairs.Count);
        Assert.DoesNotContain(agent.Pairs, p => p.Remote.Priority < 10_050);
        for (int i = 1; i < agent.Pairs.Count; i++)
        {
            Assert.True(agent.Pairs[i - 1].Priority >= agent.Pairs[i].Priority);
        }
    }

    [Fact]
    public void Ta_paces_new_checks()
    {
        IceAgent agent = NewAgent();
        agent.SetTimings(IceTimings.Default with { Ta = TimeSpan.FromMilliseconds(50) });
        for (int i = 0; i < 3; i++)
        {
            agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(IPAddress.Parse($"198.18.4.{i + 1}"), 7000)));
        }

        agent.HandleTimeout(T0);
        Assert.Single(Drain(agent));
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(50), agent.PollTimeout());
        agent.HandleTimeout(T0 + TimeSpan.FromMilliseconds(49));
        Assert.Empty(Drain(agent));
        agent.HandleTimeout(T0 + TimeSpan.FromMilliseconds(50));
        Assert.Single(Drain(agent));
        agent.HandleTimeout(T0 + TimeSpan.FromMilliseconds(100));
        Assert.Single(Drain(agent));
    }

    [Fact]
    public void Frozen_pairs_wait_for_their_foundation()
    {
        // Two remote candidates with one foundation: the second pair starts Frozen (RFC 8445 §6.1.2.6).
        IceAgent agent = NewAgent();
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        agent.AddRemoteCandidate(Candidate.Host(new IPEndPoint(Remote.Address, Remote.Port + 1)));
        Assert.Equal(1, agent.Pairs.Count(p => p.State == CandidatePairState.Frozen));
        Assert.Equal(1, agent.Pairs.Count(p => p.State == CandidatePairState.Waiting));
    }

    [Fact]
    public void Nothing_scheduled_without_remote_credentials()
    {
        IceAgent agent = NewAgent(remoteCreds: false);
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        agent.HandleTimeout(T0);
        Assert.Empty(Drain(agent));
        Assert.Null(agent.PollTimeout());
    }

    [Fact]
    public void Ice_restart_with_new_credentials_reconnects_and_old_credentials_stop_working()
    {
        var sim = new IceSimulation(new Topology(new PeerSpec(NatType.PortRestricted, true), new PeerSpec(NatType.AddressRestricted, false), false, 0, 5, 20, 9));
        sim.RunFor(TimeSpan.FromSeconds(3));
        Assert.True(sim.SelectedPairsMatch(out string why), why);
        IceCredentials oldA = sim.A.LocalCredentials;

        var newA = new IceCredentials("nwA1", "newpassword-for-a-0123");
        var newB = new IceCredentials("nwB1", "newpassword-for-b-0123");
        sim.A.Restart(newA);
        sim.B.Restart(newB);
        Assert.Empty(sim.A.RemoteCandidates);
        Assert.Null(sim.A.SelectedPair);
        sim.A.SetRemoteCredentials(newB, sim.Now);
        sim.B.SetRemoteCredentials(newA, sim.Now);
        int nominationsBefore = sim.Events(0).Count(e => e.Event is PairNominated);
        sim.RunFor(TimeSpan.FromSeconds(3)); // candidates are re-gathered and re-signalled
        Assert.True(sim.SelectedPairsMatch(out why), why);
        Assert.True(sim.Events(0).Count(e => e.Event is PairNominated) > nominationsBefore);

        long dropped = sim.A.Dropped;
        sim.A.HandleInput(Request($"{oldA.Ufrag}:bbbb", oldA.Password, controlling: false), Remote, sim.Host[0], sim.Now);
        Assert.Equal(dropped + 1, sim.A.Dropped);
    }

    [Fact]
    public void Remote_credentials_changing_restarts_the_remote_side()
    {
        IceAgent agent = NewAgent();
        agent.AddRemoteCandidate(Candidate.Host(Remote));
        Assert.Single(agent.Pairs);
        agent.SetRemoteCredentials(new IceCredentials("cccc", "another-password-01234"), T0);
        Assert.Empty(agent.Pairs);
        Assert.Empty(agent.RemoteCandidates);
    }

    private static List<IceEvent> Events(IceAgent agent)
    {
        var list = new List<IceEvent>();
        while (agent.PollEvent() is { } e)
        {
            list.Add(e);
        }

        return list;
    }

    [Property(MaxTest = 300)]
    public Property Agent_never_throws_on_garbage_or_mutated_checks()
    {
        Gen<byte[]> garbage = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b));
        Gen<byte[]> mutated =
            from pos in Gen.Choose(0, 200)
            from value in Gen.Choose(0, 255)
            from cut in Gen.Choose(0, 1)
            select Mutate(Request("aaaa:bbbb", Ours.Password, controlling: true, useCandidate: true), pos, (byte)value, cut == 1);
        return Prop.ForAll(Gen.OneOf(garbage, mutated).ToArbitrary(), bytes =>
        {
            IceAgent agent = NewAgent(IceRole.Controlled);
            agent.AddRemoteCandidate(Candidate.Host(Remote));
            agent.HandleInput(bytes, Remote, Local, T0);
            agent.HandleTimeout(T0 + TimeSpan.FromSeconds(1));
            Drain(agent);
            return true;
        });
    }

    private static byte[] Mutate(byte[] message, int pos, byte value, bool truncate)
    {
        byte[] copy = (byte[])message.Clone();
        int i = pos % copy.Length;
        copy[i] = value;
        return truncate ? copy[..i] : copy;
    }
}
