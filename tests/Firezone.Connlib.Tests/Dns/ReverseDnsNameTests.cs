using System.Net;
using Firezone.Connlib.Dns;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>Reverse-name parsing (tunnel spec §4.7 and the dns.rs tests of §10).</summary>
public sealed class ReverseDnsNameTests
{
    [Fact]
    public void Reverse_dns_addr_works_v4()
    {
        Assert.True(ReverseDnsName.TryParse("1.2.3.4.in-addr.arpa", out var ip));
        Assert.Equal(IPAddress.Parse("4.3.2.1"), ip);
    }

    [Fact]
    public void Reverse_dns_addr_works_v6()
    {
        Assert.True(ReverseDnsName.TryParse("b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", out var ip));
        Assert.Equal(IPAddress.Parse("2001:db8::567:89ab"), ip);
    }

    [Theory]
    [InlineData("0.1.2.3.4.in-addr.arpa")] // reverse_dns_v4_addr_extra_number
    [InlineData("1.2.3.4.in-addr.carpa")] // reverse_dns_addr_wrong_ending
    [InlineData("1.2.3.4.ip6.arpa")] // reverse_dns_v4_addr_with_ip6_ending
    [InlineData("0.b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")] // reverse_dns_addr_v6_extra_number (33 nibbles)
    [InlineData("b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.in-addr.arpa")] // reverse_dns_addr_v6_ipv4_ending
    [InlineData("a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")] // 31 nibbles
    [InlineData("2.3.4.in-addr.arpa")] // three labels
    [InlineData("in-addr.arpa")]
    [InlineData("x.1.2.3.4.in-addr.arpa")] // extra label in front
    [InlineData("1.2.3.256.in-addr.arpa")]
    [InlineData("1.2.3.04.in-addr.arpa")] // leading zero (Rust's Ipv4Addr rejects it)
    [InlineData("1.2..4.in-addr.arpa")]
    [InlineData("1.2.3.4.in-addr.arpa.x")]
    [InlineData("1.2.3.4.IN-ADDR.ARPA")] // upstream compares the suffix as a lowercase string
    [InlineData("g.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")] // not a hex digit
    [InlineData("1.:.:.0.ip6.arpa")] // upstream's join-and-parse would take this as ::1; strict here
    [InlineData("")]
    public void Rejects_anything_but_exact_reverse_names(string name) => Assert.False(ReverseDnsName.TryParse(name, out _));

    [Fact]
    public void Hex_nibbles_may_be_uppercase()
    {
        Assert.True(ReverseDnsName.TryParse("B.A.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6.arpa", out var ip));
        Assert.Equal(IPAddress.Parse("2001:db8::567:89ab"), ip);
    }

    /// <summary>Oracle: the reverse name written from the address bytes (RFC 1035 §3.5, RFC 3596 §2.5) parses back to the address.</summary>
    [Property(MaxTest = 500)]
    public void Round_trips_every_address(byte[] raw, bool v6)
    {
        var bytes = new byte[v6 ? 16 : 4];
        (raw ?? []).AsSpan(0, Math.Min(bytes.Length, raw?.Length ?? 0)).CopyTo(bytes);
        var address = new IPAddress(bytes);
        string name = v6
            ? string.Join('.', bytes.Reverse().SelectMany(b => new[] { b & 0xF, b >> 4 }).Select(n => n.ToString("x"))) + ".ip6.arpa"
            : string.Join('.', bytes.Reverse()) + ".in-addr.arpa";
        Assert.True(ReverseDnsName.TryParse(name, out var parsed));
        Assert.Equal(address, parsed);
    }
}
