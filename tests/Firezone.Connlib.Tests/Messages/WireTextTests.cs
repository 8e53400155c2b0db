using System.Net;
using Firezone.Connlib.Messages.Wire;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>The scalar text forms of phoenix-and-portal spec §6, as strict as upstream's Rust parsers.</summary>
public sealed class WireTextTests
{
    [Property(MaxTest = 300)]
    public Property Ids_parse_from_every_uuid_text_form_and_format_lowercase_hyphenated() => Prop.ForAll(MessageGen.Uuid.ToArbitrary(), g =>
    {
        foreach (var text in new[] { g.ToString("D"), g.ToString("N"), g.ToString("B"), "urn:uuid:" + g.ToString("D"), g.ToString("D").ToUpperInvariant() })
        {
            Assert.True(WireText.TryParseUuid(text, out var parsed), text);
            Assert.Equal(g, parsed);
        }

        Assert.Equal(g.ToString("D"), WireText.FormatUuid(g));
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", WireText.FormatUuid(g));
        Assert.False(WireText.TryParseUuid(" " + g.ToString("D"), out _));
        Assert.False(WireText.TryParseUuid(g.ToString("D") + " ", out _));
        Assert.False(WireText.TryParseUuid(g.ToString("P"), out _));
        Assert.False(WireText.TryParseUuid(g.ToString("D").AsSpan(0, 35), out _));
    });

    [Property(MaxTest = 300)]
    public Property Addresses_and_socket_addresses_round_trip_through_their_text() => Prop.ForAll(MessageGen.SocketAddress.ToArbitrary(), endPoint =>
    {
        string text = endPoint.Address.ToString();
        Assert.True(WireText.TryParseIP(text, out var address), text);
        Assert.Equal(endPoint.Address, address);
        string socket = WireText.FormatSocketAddress(endPoint);
        Assert.True(WireText.TryParseSocketAddress(socket, out var parsed), socket);
        Assert.Equal(endPoint, parsed);
    });

    [Theory]
    [InlineData("::102:304", "::102:304")]
    [InlineData("::1.2.3.4", "::102:304")]
    [InlineData("::ffff:1.2.3.4", "::ffff:1.2.3.4")]
    [InlineData("::ffff:0:1.2.3.4", "::ffff:0:102:304")]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("1::", "1::")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("2001:0:0:1:0:0:0:1", "2001:0:0:1::1")]
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]
    [InlineData("FD00:2021:1111::0009:0003", "fd00:2021:1111::9:3")]
    public void IPv6_is_written_as_rust_displays_it(string address, string expected) =>
        Assert.Equal(expected, WireText.FormatIP(IPAddress.Parse(address)));

    /// <summary>Oracle: .NET's text where it has no dotted form (the first 80 bits not all zero), and parsing back.</summary>
    [Property(MaxTest = 500)]
    public Property IPv6_text_parses_back_and_matches_the_rfc_5952_text() => Prop.ForAll(MessageGen.IPv6.ToArbitrary(), address =>
    {
        string text = WireText.FormatIP(address);
        Assert.True(WireText.TryParseIPv6(text, out var parsed), text);
        Assert.Equal(address, parsed);
        if (address.GetAddressBytes().AsSpan(0, 10).IndexOfAnyExcept((byte)0) >= 0)
        {
            Assert.Equal(address.ToString(), text);
        }
    });

    [Theory]
    [InlineData("1.2.3.4", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("01.2.3.4", false)]
    [InlineData("1.2.3", false)]
    [InlineData("1.2.3.4.5", false)]
    [InlineData("256.1.1.1", false)]
    [InlineData("1.2.3.4 ", false)]
    [InlineData("0x1.2.3.4", false)]
    [InlineData("1", false)]
    [InlineData("", false)]
    public void IPv4_is_four_decimal_octets_without_leading_zeros(string text, bool valid) =>
        Assert.Equal(valid, WireText.TryParseIPv4(text, out _));

    [Theory]
    [InlineData("fd00:2021:1111::1", true)]
    [InlineData("::", true)]
    [InlineData("::ffff:1.2.3.4", true)]
    [InlineData("fe80::1%2", false)]
    [InlineData("[::1]", false)]
    [InlineData("::ffff:1.2.3.04", false)]
    [InlineData("1.2.3.4", false)]
    [InlineData("2001:db8::1::2", false)]
    [InlineData(" ::1", false)]
    public void IPv6_has_no_zone_and_no_brackets(string text, bool valid) =>
        Assert.Equal(valid, WireText.TryParseIPv6(text, out _));

    [Theory]
    [InlineData("1.2.3.4:3478", true)]
    [InlineData("[2001:db8::1]:3478", true)]
    [InlineData("1.2.3.4:65535", true)]
    [InlineData("1.2.3.4:65536", false)]
    [InlineData("1.2.3.4:", false)]
    [InlineData("1.2.3.4:+1", false)]
    [InlineData("1.2.3.4", false)]
    [InlineData("2001:db8::1:3478", false)]
    [InlineData("[2001:db8::1]3478", false)]
    [InlineData("[1.2.3.4]:3478", false)]
    [InlineData("example.com:3478", false)]
    public void Socket_addresses_are_address_colon_port(string text, bool valid) =>
        Assert.Equal(valid, WireText.TryParseSocketAddress(text, out _));

    [Fact]
    public void A_numeric_zone_in_a_bracketed_socket_address_is_kept_as_the_scope_id()
    {
        Assert.True(WireText.TryParseSocketAddress("[fe80::1%2]:3478", out var endPoint));
        Assert.Equal(2, endPoint.Address.ScopeId);
        Assert.Equal("[fe80::1%2]:3478", WireText.FormatSocketAddress(endPoint));
        Assert.False(WireText.TryParseSocketAddress("[fe80::1%eth0]:3478", out _));
    }

    /// <summary>Oracle: the address as an integer keeps its value when shifted right and left by the host bits.</summary>
    [Property(MaxTest = 500)]
    public Property Cidr_is_accepted_exactly_when_the_host_bits_are_zero() => Prop.ForAll(
        (from address in MessageGen.Ip
         from length in Gen.Choose(0, 130)
         from masked in Gen.Elements(true, false)
         select (address, length, masked)).ToArbitrary(),
        t =>
        {
            int bits = t.address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
            var address = t.masked && t.length <= bits ? Mask(t.address, t.length) : t.address;
            var value = new UInt128(0, 0);
            foreach (byte b in address.GetAddressBytes())
            {
                value = (value << 8) | b;
            }

            int host = bits - t.length;
            bool expected = t.length <= bits && (host == 128 ? value == 0 : (value >> host) << host == value);
            string text = $"{address}/{t.length}";
            Assert.Equal(expected, WireText.TryParseCidr(text, out var network));
            if (expected)
            {
                Assert.Equal((address, t.length), (network.BaseAddress, network.PrefixLength));
                Assert.Equal(text, WireText.FormatCidr(network));
            }
        });

    [Theory]
    [InlineData("10.0.0.0/+8", true)]
    [InlineData("10.0.0.0/008", true)]
    [InlineData("10.0.0.0/-8", false)]
    [InlineData("10.0.0.0/", false)]
    [InlineData("10.0.0.0/256", false)]
    [InlineData("10.0.0.0 /8", false)]
    public void Cidr_prefix_is_a_u8_as_ip_network_parses_it(string text, bool valid) =>
        Assert.Equal(valid, WireText.TryParseCidr(text, out _));

    [Theory]
    [InlineData("app.corp.example", "app.corp.example")]
    [InlineData("app.corp.example.", "app.corp.example")]
    [InlineData("*.corp.example", "*.corp.example")]
    [InlineData("localhost", "localhost")]
    [InlineData("", null)]
    [InlineData(".", null)]
    [InlineData("a..b", null)]
    [InlineData(".a", null)]
    [InlineData("a b", null)]
    [InlineData("a.b..", null)]
    public void Domain_names_drop_one_trailing_dot_and_reject_empty_labels_and_spaces(string text, string? expected)
    {
        Assert.Equal(expected is not null, WireText.TryParseDomainName(text, out var name));
        if (expected is not null)
        {
            Assert.Equal(expected, name);
        }
    }

    [Fact]
    public void Domain_labels_are_at_most_63_and_names_at_most_253_characters()
    {
        Assert.True(WireText.TryParseDomainName(new string('a', 63) + ".example", out _));
        Assert.False(WireText.TryParseDomainName(new string('a', 64) + ".example", out _));
        string name253 = string.Join('.', Enumerable.Repeat(new string('b', 49), 5)) + ".ccc"; // 5*50 + 3 = 253
        Assert.Equal(253, name253.Length);
        Assert.True(WireText.TryParseDomainName(name253, out _));
        Assert.False(WireText.TryParseDomainName(name253 + "c", out _));
    }

    private static IPAddress Mask(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (int bit = length; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }
}
