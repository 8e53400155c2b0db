using System.Net;
using Firezone.Snownet.Stun;
using FsCheck;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Stun;

/// <summary>Round trips of every attribute and robustness on garbage.</summary>
public class StunCodecPropertyTests
{
    private static TransactionId Id(ulong a, uint b)
    {
        Span<byte> bytes = stackalloc byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, a);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[8..], b);
        return new TransactionId(bytes);
    }

    internal static IPEndPoint EndPoint(byte[] seed, ushort port, bool v6)
    {
        var address = new byte[v6 ? 16 : 4];
        for (int i = 0; i < address.Length; i++)
        {
            address[i] = seed.Length == 0 ? (byte)i : seed[i % seed.Length];
        }

        return new IPEndPoint(new IPAddress(address), port);
    }

    private static string Text(NonNull<string> s, int maxChars) =>
        new(s.Get.Where(c => !char.IsSurrogate(c)).Take(maxChars).ToArray());

    [Property]
    public void Header_type_round_trips(ushort method, byte cls)
    {
        var m = (StunMethod)(method & 0x0FFF);
        var c = (StunClass)(cls & 3);
        ushort type = StunHeader.EncodeType(m, c);
        Assert.Equal(0, type & 0xC000);
        Assert.Equal(m, StunHeader.DecodeMethod(type));
        Assert.Equal(c, StunHeader.DecodeClass(type));
    }

    [Property]
    public void Address_attributes_round_trip(byte[] seed, ushort port, bool v6, ulong idHigh, uint idLow)
    {
        var endPoint = EndPoint(seed ?? [], port, v6);
        Span<byte> buffer = stackalloc byte[256];
        var builder = new StunMessageBuilder(buffer, StunMethod.Allocate, StunClass.SuccessResponse, Id(idHigh, idLow));
        builder.AddXorRelayedAddress(endPoint);
        builder.AddXorMappedAddress(endPoint);
        builder.AddXorPeerAddress(endPoint);
        builder.AddMappedAddress(endPoint);
        Assert.True(StunMessage.TryParse(builder.Message, out var message, out var error), error.ToString());
        Assert.Equal(Id(idHigh, idLow), message.TransactionId);
        Assert.True(message.TryGetXorRelayedAddress(out var relayed));
        Assert.True(message.TryGetXorRelayedAddress(endPoint.AddressFamily, out var relayedOfFamily));
        Assert.True(message.TryGetXorMappedAddress(out var mapped));
        Assert.True(message.TryGetXorPeerAddress(out var peer));
        Assert.True(message.TryGetMappedAddress(out var plain));
        Assert.Equal(endPoint, relayed);
        Assert.Equal(endPoint, relayedOfFamily);
        Assert.Equal(endPoint, mapped);
        Assert.Equal(endPoint, peer);
        Assert.Equal(endPoint, plain);
    }

    [Property]
    public void Numeric_attributes_round_trip(uint lifetime, uint priority, byte protocol, bool raf6, bool aaf6, ushort channelSeed, ulong controlling, ulong controlled)
    {
        ushort channel = (ushort)(0x4000 + (channelSeed % 0x4000));
        var raf = raf6 ? StunAddressFamily.IPv6 : StunAddressFamily.IPv4;
        var aaf = aaf6 ? StunAddressFamily.IPv6 : StunAddressFamily.IPv4;
        Span<byte> buffer = stackalloc byte[256];
        var builder = new StunMessageBuilder(buffer, StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom());
        builder.AddLifetime(lifetime);
        builder.AddPriority(priority);
        builder.AddRequestedTransport(protocol);
        builder.AddRequestedAddressFamily(raf);
        builder.AddAdditionalAddressFamily(aaf);
        builder.AddChannelNumber(channel);
        builder.AddIceControlling(controlling);
        builder.AddIceControlled(controlled);
        builder.AddUseCandidate();
        Assert.True(StunMessage.TryParse(builder.Message, out var m, out var error), error.ToString());
        Assert.True(m.TryGetLifetime(out uint l) && l == lifetime);
        Assert.True(m.TryGetPriority(out uint p) && p == priority);
        Assert.True(m.TryGetRequestedTransport(out byte t) && t == protocol);
        Assert.True(m.TryGetRequestedAddressFamily(out var r) && r == raf);
        Assert.True(m.TryGetAdditionalAddressFamily(out var a) && a == aaf);
        Assert.True(m.TryGetChannelNumber(out ushort c) && c == channel);
        Assert.True(m.TryGetIceControlling(out ulong ing) && ing == controlling);
        Assert.True(m.TryGetIceControlled(out ulong ed) && ed == controlled);
        Assert.True(m.HasUseCandidate);
    }

    [Property]
    public void Text_attributes_round_trip(NonNull<string> username, NonNull<string> realm, NonNull<string> nonce, NonNull<string> software)
    {
        string u = Text(username, 100), r = Text(realm, 127), n = Text(nonce, 127), s = Text(software, 127);
        Span<byte> buffer = stackalloc byte[4096];
        var builder = new StunMessageBuilder(buffer, StunMethod.Allocate, StunClass.Request, TransactionId.NewRandom());
        builder.AddUsername(u);
        builder.AddRealm(r);
        builder.AddNonce(n);
        builder.AddSoftware(s);
        Assert.True(StunMessage.TryParse(builder.Message, out var m, out var error), error.ToString());
        Assert.Equal(u, m.Username);
        Assert.Equal(r, m.Realm);
        Assert.Equal(n, m.Nonce);
        Assert.Equal(s, m.Software);
    }

    [Property]
    public void Error_code_and_data_round_trip(byte classSeed, byte number, NonNull<string> reason, byte[] data)
    {
        int code = ((3 + (classSeed % 4)) * 100) + (number % 100);
        string phrase = Text(reason, 120);
        data ??= [];
        Span<byte> buffer = stackalloc byte[4096];
        var builder = new StunMessageBuilder(buffer, StunMethod.Send, StunClass.ErrorResponse, TransactionId.NewRandom());
        builder.AddErrorCode(code, phrase);
        builder.AddData(data);
        Assert.True(StunMessage.TryParse(builder.Message, out var m, out var error), error.ToString());
        Assert.True(m.TryGetErrorCode(out int c, out string p));
        Assert.Equal(code, c);
        Assert.Equal(code, m.ErrorCode);
        Assert.Equal(phrase, p);
        Assert.True(m.TryGetData(out var d));
        Assert.Equal(data, d.ToArray());
    }

    [Property]
    public void Integrity_and_fingerprint_round_trip(NonNull<string> user, NonNull<string> password, byte[] payload)
    {
        byte[] key = StunCredentials.LongTermKey(Text(user, 50), "firezone", Text(password, 50));
        Span<byte> buffer = stackalloc byte[2048];
        var builder = new StunMessageBuilder(buffer, StunMethod.ChannelBind, StunClass.Request, TransactionId.NewRandom());
        builder.AddData(payload ?? []);
        builder.AddMessageIntegrity(key);
        builder.AddMessageIntegritySha256(key);
        builder.AddFingerprint();
        Assert.True(StunMessage.TryParse(builder.Message, out var m, out _));
        Assert.True(m.HasMessageIntegrity && m.HasMessageIntegritySha256 && m.HasFingerprint);
        Assert.True(m.VerifyMessageIntegrity(key));
        Assert.True(m.VerifyMessageIntegritySha256(key));
        Assert.True(m.VerifyFingerprint());
        key[0] ^= 0xFF;
        Assert.False(m.VerifyMessageIntegrity(key));
        Assert.False(m.VerifyMessageIntegritySha256(key));
    }

    /// <summary>Touches every accessor; must never throw.</summary>
    internal static void ReadEverything(ReadOnlySpan<byte> bytes)
    {
        StunHeader.TryRead(bytes, out _);
        StunHeader.LooksLikeStun(bytes);
        if (!StunMessage.TryParse(bytes, out var m, out _))
        {
            return;
        }

        foreach (var a in m.Attributes)
        {
            _ = a.Value.Length;
        }

        m.TryGetXorMappedAddress(out _);
        m.TryGetXorPeerAddress(out _);
        m.TryGetXorRelayedAddress(out _);
        m.TryGetXorRelayedAddress(System.Net.Sockets.AddressFamily.InterNetworkV6, out _);
        m.TryGetMappedAddress(out _);
        m.TryGetLifetime(out _);
        m.TryGetPriority(out _);
        m.TryGetRequestedTransport(out _);
        m.TryGetRequestedAddressFamily(out _);
        m.TryGetAdditionalAddressFamily(out _);
        m.TryGetChannelNumber(out _);
        m.TryGetIceControlled(out _);
        m.TryGetIceControlling(out _);
        m.TryGetData(out _);
        m.TryGetErrorCode(out _, out _);
        _ = (m.Username, m.Realm, m.Nonce, m.Software, m.ErrorCode, m.HasUseCandidate);
        m.VerifyMessageIntegrity([1, 2, 3]);
        m.VerifyMessageIntegritySha256([1, 2, 3]);
        m.VerifyFingerprint();
    }

    [Property]
    public void Arbitrary_bytes_never_throw(byte[] bytes) => ReadEverything(bytes ?? []);

    [Property]
    public void Arbitrary_attribute_area_never_throws(byte[] attributes, ushort method, byte cls)
    {
        attributes ??= [];
        var datagram = new byte[20 + attributes.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(datagram, StunHeader.EncodeType((StunMethod)(method & 0xFFF), (StunClass)(cls & 3)));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)attributes.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(4), StunHeader.MagicCookie);
        attributes.CopyTo(datagram, 20);
        ReadEverything(datagram);
    }

    [Property]
    public void Mutated_valid_messages_never_throw(int position, byte value, int cut)
    {
        foreach (var sample in new[] { Rfc5769Tests.SampleRequest, Rfc5769Tests.SampleIPv6Response, Rfc5769Tests.SampleLongTermRequest })
        {
            var copy = (byte[])sample.Clone();
            copy[(int)((uint)position % copy.Length)] = value;
            ReadEverything(copy);
            ReadEverything(copy.AsSpan(0, (int)((uint)cut % copy.Length)));
        }
    }

    [Fact]
    public void Malformed_inputs_give_specific_errors()
    {
        Assert.False(StunMessage.TryParse(new byte[19], out _, out var e));
        Assert.Equal(StunParseError.TooShort, e);
        var sample = Rfc5769Tests.SampleRequest;
        var bad = (byte[])sample.Clone();
        bad[0] = 0x80;
        Assert.False(StunMessage.TryParse(bad, out _, out e));
        Assert.Equal(StunParseError.NotStun, e);
        bad = (byte[])sample.Clone();
        bad[5] = 0;
        Assert.False(StunMessage.TryParse(bad, out _, out e));
        Assert.Equal(StunParseError.BadMagicCookie, e);
        Assert.False(StunMessage.TryParse(sample.AsSpan(0, sample.Length - 4), out _, out e));
        Assert.Equal(StunParseError.LengthMismatch, e);
        Assert.False(StunMessage.TryParse([.. sample, 0, 0, 0, 0], out _, out e));
        Assert.Equal(StunParseError.LengthMismatch, e);

        // An attribute that claims more bytes than the message has.
        var overrun = TestHex.Bytes("00010008 2112a442 000000000000000000000000 00060010 61626364");
        Assert.False(StunMessage.TryParse(overrun, out _, out e));
        Assert.Equal(StunParseError.AttributeOverrun, e);

        // CHANNEL-NUMBER 0x8000 is outside every valid range; 0x3FFF too.
        foreach (string channel in new[] { "8000", "3fff" })
        {
            var invalid = TestHex.Bytes($"00090008 2112a442 000000000000000000000000 000c0004 {channel}0000");
            Assert.False(StunMessage.TryParse(invalid, out _, out e));
            Assert.Equal(StunParseError.InvalidAttribute, e);
        }

        // Address family 3.
        var family = TestHex.Bytes("0001000c 2112a442 000000000000000000000000 00200008 00030000 00000000");
        Assert.False(StunMessage.TryParse(family, out _, out e));
        Assert.Equal(StunParseError.InvalidAttribute, e);
    }

    [Fact]
    public void Zero_type_zero_length_attribute_is_tolerated()
    {
        // str0m's padding bug can emit a zero-type, zero-length attribute (snownet spec §11.20).
        var message = TestHex.Bytes("0001000c 2112a442 000000000000000000000000 00060004 61626364 00000000");
        Assert.True(StunMessage.TryParse(message, out var parsed, out var e), e.ToString());
        Assert.Equal("abcd", parsed.Username);
    }
}
