using System.Net;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Tests.Stun;

/// <summary>The test vectors of RFC 5769 (sample request, IPv4/IPv6 responses, long-term authentication).</summary>
public class Rfc5769Tests
{
    private const string ShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

    internal static readonly byte[] SampleRequest = TestHex.Bytes("""
        00010058 2112a442 b7e7a701 bc34d686 fa87dfae
        80220010 5354554e 20746573 7420636c 69656e74
        00240004 6e0001ff
        80290008 932ff9b1 51263b36
        00060009 6576746a 3a683676 59202020
        00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
        80280004 e57a3bcf
        """);

    internal static readonly byte[] SampleIPv4Response = TestHex.Bytes("""
        0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200008 0001a147 e112a643
        00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
        80280004 c07d4c96
        """);

    internal static readonly byte[] SampleIPv6Response = TestHex.Bytes("""
        01010048 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
        00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
        80280004 c8fb0b4c
        """);

    internal static readonly byte[] SampleLongTermRequest = TestHex.Bytes("""
        00010060 2112a442 78ad3433 c6ad72c0 29da412e
        00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
        0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
        0014000b 6578616d 706c652e 6f726700
        00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666
        """);

    private const string LongTermUsername = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";

    [Fact]
    public void Sample_request_parses_verifies_and_exposes_its_attributes()
    {
        Assert.True(StunMessage.TryParse(SampleRequest, out var message, out var error), error.ToString());
        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal("b7e7a701bc34d686fa87dfae", message.TransactionId.ToString());
        Assert.Equal("STUN test client", message.Software);
        Assert.Equal("evtj:h6vY", message.Username);
        Assert.True(message.TryGetPriority(out uint priority));
        Assert.Equal(0x6e0001ffu, priority);
        Assert.True(message.TryGetIceControlled(out ulong tieBreaker));
        Assert.Equal(0x932ff9b151263b36UL, tieBreaker);
        Assert.False(message.TryGetIceControlling(out _));
        Assert.True(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.False(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey("wrong")));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void Sample_ipv4_response_decodes_xor_mapped_address()
    {
        Assert.True(StunMessage.TryParse(SampleIPv4Response, out var message, out _));
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.Equal("test vector", message.Software);
        Assert.True(message.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), mapped);
        Assert.True(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void Sample_ipv6_response_decodes_xor_mapped_address()
    {
        Assert.True(StunMessage.TryParse(SampleIPv6Response, out var message, out _));
        Assert.True(message.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), mapped);
        Assert.True(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void Sample_long_term_request_verifies_with_md5_key()
    {
        Assert.True(StunMessage.TryParse(SampleLongTermRequest, out var message, out _));
        Assert.Equal(LongTermUsername, message.Username);
        Assert.Equal("example.org", message.Realm);
        Assert.Equal("f//499k954d6OL34oL9FSTvy64sA", message.Nonce);
        Assert.True(message.VerifyMessageIntegrity(StunCredentials.LongTermKey(LongTermUsername, "example.org", "TheMatrIX")));
        Assert.False(message.VerifyMessageIntegrity(StunCredentials.LongTermKey(LongTermUsername, "example.org", "thematrix")));
    }

    [Fact]
    public void Builder_reproduces_long_term_request_byte_for_byte()
    {
        Span<byte> buffer = stackalloc byte[256];
        var builder = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.Request, new TransactionId(SampleLongTermRequest.AsSpan(8, 12)));
        builder.AddUsername(LongTermUsername);
        builder.AddNonce("f//499k954d6OL34oL9FSTvy64sA");
        builder.AddRealm("example.org");
        builder.AddMessageIntegrity(StunCredentials.LongTermKey(LongTermUsername, "example.org", "TheMatrIX"));
        Assert.Equal(Convert.ToHexString(SampleLongTermRequest), Convert.ToHexString(builder.Message));
    }

    [Fact]
    public void Builder_reproduces_xor_mapped_address_encodings()
    {
        var id = new TransactionId(SampleIPv4Response.AsSpan(8, 12));
        Span<byte> buffer = stackalloc byte[128];
        var v4 = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        v4.AddXorMappedAddress(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853));
        Assert.Equal(Convert.ToHexString(SampleIPv4Response.AsSpan(36, 12)), Convert.ToHexString(v4.Message[20..]));

        var v6 = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        v6.AddXorMappedAddress(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853));
        Assert.Equal(Convert.ToHexString(SampleIPv6Response.AsSpan(36, 24)), Convert.ToHexString(v6.Message[20..]));
    }

    [Fact]
    public void Builder_signature_and_fingerprint_verify_with_our_own_parser()
    {
        Span<byte> buffer = stackalloc byte[256];
        var builder = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        builder.AddSoftware("STUN test client");
        builder.AddPriority(0x6e0001ff);
        builder.AddIceControlled(0x932ff9b151263b36);
        builder.AddUsername("evtj:h6vY");
        builder.AddMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword));
        builder.AddMessageIntegritySha256(StunCredentials.ShortTermKey(ShortTermPassword));
        builder.AddFingerprint();
        Assert.True(StunMessage.TryParse(builder.Message, out var message, out _));
        Assert.True(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.True(message.VerifyMessageIntegritySha256(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.False(message.VerifyMessageIntegritySha256(StunCredentials.ShortTermKey("other")));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void Corrupted_fingerprint_or_integrity_fails()
    {
        var copy = (byte[])SampleRequest.Clone();
        copy[^1] ^= 1;
        Assert.True(StunMessage.TryParse(copy, out var message, out _));
        Assert.False(message.VerifyFingerprint());
        Assert.True(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        copy[30] ^= 1; // inside SOFTWARE, covered by both
        Assert.True(StunMessage.TryParse(copy, out message, out _));
        Assert.False(message.VerifyMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
    }
}
