using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Snownet.Ice;

namespace Firezone.Snownet.Tests.Ice;

public class CandidateTests
{
    [Theory]
    [InlineData(CandidateKind.Host, "198.51.100.1", 2130706175u)]
    [InlineData(CandidateKind.Host, "2001:db8::1", 2130706431u)]
    [InlineData(CandidateKind.ServerReflexive, "198.51.100.1", 1694498559u)]
    [InlineData(CandidateKind.ServerReflexive, "2001:db8::1", 1694498815u)]
    [InlineData(CandidateKind.Relayed, "198.51.100.1", 50331391u)]
    [InlineData(CandidateKind.Relayed, "2001:db8::1", 50331647u)]
    public void Signalled_priorities_are_firezones(object kind, string ip, uint expected)
        => Assert.Equal(expected, CandidatePriority.Signalled((CandidateKind)kind, IPAddress.Parse(ip)));

    [Fact]
    public void Internal_local_preferences_follow_the_agent_table()
    {
        Assert.Equal(65535u, CandidatePriority.InternalLocalPreference(CandidateKind.Host, System.Net.Sockets.AddressFamily.InterNetworkV6, 0));
        Assert.Equal(65534u, CandidatePriority.InternalLocalPreference(CandidateKind.Host, System.Net.Sockets.AddressFamily.InterNetwork, 0));
        Assert.Equal(65532u, CandidatePriority.InternalLocalPreference(CandidateKind.Host, System.Net.Sockets.AddressFamily.InterNetwork, 1));
        Assert.Equal(49150u, CandidatePriority.InternalLocalPreference(CandidateKind.PeerReflexive, System.Net.Sockets.AddressFamily.InterNetwork, 0));
        Assert.Equal(32767u, CandidatePriority.InternalLocalPreference(CandidateKind.ServerReflexive, System.Net.Sockets.AddressFamily.InterNetworkV6, 0));
        Assert.Equal(16382u, CandidatePriority.InternalLocalPreference(CandidateKind.Relayed, System.Net.Sockets.AddressFamily.InterNetwork, 0));
    }

    [Fact]
    public void Pair_priority_is_rfc8445_formula()
    {
        // 2^32·min + 2·max + (G > D)
        Assert.Equal((2ul << 32) + (2 * 5ul) + 1, CandidatePriority.Pair(5, 2));
        Assert.Equal((2ul << 32) + (2 * 5ul), CandidatePriority.Pair(2, 5));
    }

    [Theory]
    [InlineData("candidate:7031633958891736544 1 udp 50331391 35.244.108.190 53909 typ relay", CandidateKind.Relayed, "35.244.108.190", 53909)]
    [InlineData("candidate:1 1 udp 2130706175 192.0.2.10 5000 typ host", CandidateKind.Host, "192.0.2.10", 5000)]
    [InlineData("a=candidate:2 1 UDP 1694498815 2001:db8::5 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-id 1 ufrag abcd network-cost 10", CandidateKind.ServerReflexive, "2001:db8::5", 61000)]
    [InlineData("candidate:3 1 udp 1862270719 192.0.2.11 5001 typ prflx", CandidateKind.PeerReflexive, "192.0.2.11", 5001)]
    [InlineData("4 1 tcp 1518280447 192.0.2.12 9 typ host tcptype active generation 0", CandidateKind.Host, "192.0.2.12", 9)]
    [InlineData("candidate:5 1 udp 100 192.0.2.13 5002 typ host x-unknown-ext foo", CandidateKind.Host, "192.0.2.13", 5002)]
    public void Parses_firezone_and_browser_forms(string text, object kind, string ip, int port)
    {
        Assert.True(Candidate.TryParse(text, out Candidate c));
        Assert.Equal((CandidateKind)kind, c.Kind);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), c.Address);
        Assert.Equal(1, c.Component);
    }

    [Fact]
    public void Optional_suffixes_are_kept()
    {
        Assert.True(Candidate.TryParse("candidate:2 1 udp 1694498815 2001:db8::5 61000 typ srflx raddr 192.0.2.1 rport 7 generation 0 network-id 1 ufrag abcd network-cost 10", out Candidate c));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 7), c.Related);
        Assert.Equal("0", c.Generation);
        Assert.Equal("1", c.NetworkId);
        Assert.Equal("abcd", c.Ufrag);
        Assert.Equal("10", c.NetworkCost);
    }

    [Theory]
    [InlineData("")]
    [InlineData("candidate:")]
    [InlineData("candidate:1 1 udp 2130706175 192.0.2.10 5000 typ")]
    [InlineData("candidate:1 1 udp 2130706175 192.0.2.10 5000 type host")]
    [InlineData("candidate:1 1 udp 2130706175 192.0.2.10 70000 typ host")]
    [InlineData("candidate:1 1 udp -5 192.0.2.10 5000 typ host")]
    [InlineData("candidate:1 1 udp 2130706175 host.local 5000 typ host")]
    [InlineData("candidate:1 1 udp 2130706175 192.0.2.10 5000 typ bogus")]
    [InlineData("candidate:1 1 udp 2130706175 192.0.2.10 5000 typ srflx raddr 1.2.3.4")]
    [InlineData("candidate:f!o 1 udp 2130706175 192.0.2.10 5000 typ host")]
    public void Rejects_malformed(string text) => Assert.False(Candidate.TryParse(text, out _));

    [Fact]
    public void Emitted_strings_have_no_raddr_and_no_ufrag()
    {
        var srflx = Candidate.ServerReflexive(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 40000), new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5000));
        string s = srflx.ToSdpString();
        Assert.StartsWith("candidate:", s, StringComparison.Ordinal);
        Assert.EndsWith(" 1 udp 1694498559 203.0.113.9 40000 typ srflx", s, StringComparison.Ordinal);
        Assert.DoesNotContain("raddr", s, StringComparison.Ordinal);
        Assert.DoesNotContain("ufrag", s, StringComparison.Ordinal);
    }

    [Fact]
    public void Foundations_are_equal_for_same_kind_and_base_and_differ_otherwise()
    {
        var a = Candidate.Host(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1));
        var b = Candidate.Host(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 2));
        var c = Candidate.Host(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 1));
        var d = Candidate.Relayed(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1));
        Assert.Equal(a.Foundation, b.Foundation);
        Assert.NotEqual(a.Foundation, c.Foundation);
        Assert.NotEqual(a.Foundation, d.Foundation);
    }

    [Theory]
    [InlineData("0.0.0.0", false)]
    [InlineData("::", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("169.254.1.1", false)]
    [InlineData("ff02::1", false)]
    [InlineData("198.18.0.1", true)]
    [InlineData("2001:db8::1", true)]
    public void Unusable_addresses(string ip, bool usable) => Assert.Equal(usable, Candidate.IsUsableAddress(IPAddress.Parse(ip)));

    private static Gen<IPAddress> Ips =>
        Gen.OneOf(
            Gen.Choose(0, int.MaxValue).Select(i => new IPAddress(BitConverter.GetBytes(i))),
            Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 16).Select(b => new IPAddress(b)));

    private static Gen<string?> Token(string[] values) => Gen.OneOf(Gen.Constant<string?>(null), Gen.Elements(values).Select(v => (string?)v));

    private static Arbitrary<Candidate> Candidates =>
        (from kind in Gen.Elements(CandidateKind.Host, CandidateKind.ServerReflexive, CandidateKind.PeerReflexive, CandidateKind.Relayed)
         from ip in Ips
         from port in Gen.Choose(0, 65535)
         from priority in Gen.Choose(1, int.MaxValue).Select(p => (uint)p * 2u)
         from foundation in Gen.Elements("1", "7031633958891736544", "abc+/", "x")
         from related in Gen.OneOf(Gen.Constant<IPEndPoint?>(null), Ips.Select(i => (IPEndPoint?)new IPEndPoint(i, 9)))
         from generation in Token(["0", "1"])
         from networkId in Token(["1", "2"])
         from ufrag in Token(["abcd", "zz+/"])
         from cost in Token(["10", "50"])
         let address = new IPEndPoint(ip, port)
         select new Candidate(kind, address, address, priority, foundation)
         {
             Related = related,
             Generation = generation,
             NetworkId = networkId,
             Ufrag = ufrag,
             NetworkCost = cost,
         }).ToArbitrary();

    [Property]
    public Property Sdp_string_round_trips()
        => Prop.ForAll(Candidates, c => Candidate.TryParse(c.ToSdpString(), out Candidate parsed) && parsed == c);

    [Property]
    public bool Parser_never_throws_on_garbage(string? text)
    {
        Candidate.TryParse(text, out _);
        return true;
    }

    [Property]
    public Property Parser_never_throws_on_mutated_candidates()
        => Prop.ForAll(Candidates, Gen.Choose(0, 200).ToArbitrary(), Gen.Choose(0, 127).ToArbitrary(), (c, pos, ch) =>
        {
            string s = c.ToSdpString();
            int i = pos % s.Length;
            string mutated = s[..i] + (char)ch + s[(i + 1)..];
            Candidate.TryParse(mutated, out _);
            Candidate.TryParse(s[..i], out _);
            return true;
        });
}
