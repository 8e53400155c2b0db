using System.Buffers.Binary;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Stun;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.Stun;

/// <summary>
/// RFC 8489 §14.5–§14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after
/// MESSAGE-INTEGRITY-SHA256 only FINGERPRINT, after FINGERPRINT nothing. The Firezone relay's codec honours attributes
/// after MESSAGE-INTEGRITY (relay.md §4); ours deliberately does not, for every user of the codec (relay, TURN client, ICE).
/// </summary>
public class StunIntegrityScopeTests
{
    /// <summary>One attribute of a generated message: its type and value.</summary>
    public sealed record Attr(ushort Type, byte[] Value);

    private const ushort Unknown = 0x8055;

    public static class Generators
    {
        private static Gen<byte[]> Bytes(int min, int max) =>
            from length in Gen.Choose(min, max)
            from bytes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length)
            select bytes;

        private static Gen<Attr> Fixed(ushort type, int length) => Bytes(length, length).Select(v => new Attr(type, v));

        public static Gen<Attr> Attribute() => Gen.OneOf(
            Gen.Elements("alice", "bob:x", "ünïcode").Select(u => new Attr(StunAttributeType.Username, System.Text.Encoding.UTF8.GetBytes(u))),
            Fixed(StunAttributeType.Lifetime, 4),
            Fixed(StunAttributeType.Priority, 4),
            Fixed(StunAttributeType.RequestedTransport, 4),
            from port in ArbMap.Default.GeneratorFor<ushort>()
            from ip in Bytes(4, 4)
            select new Attr(StunAttributeType.XorPeerAddress, [0, 1, (byte)(port >> 8), (byte)port, .. ip]),
            Gen.Constant(new Attr(StunAttributeType.UseCandidate, [])),
            Bytes(0, 7).Select(v => new Attr(Unknown, v)),
            Gen.Constant(new Attr(StunAttributeType.ChannelNumber, [0x80, 0, 0, 0])), // an invalid value
            Fixed(StunAttributeType.MessageIntegrity, 20),
            Fixed(StunAttributeType.MessageIntegritySha256, 32),
            Fixed(StunAttributeType.Fingerprint, 4));

        public static Arbitrary<Attr[]> Attributes() => Gen.ArrayOf(Attribute()).Select(a => a.Take(24).ToArray()).ToArbitrary();
    }

    private static byte[] Build(IEnumerable<Attr> attributes)
    {
        Span<byte> buffer = stackalloc byte[4096];
        var builder = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        foreach (var a in attributes)
        {
            builder.AddAttribute(a.Type, a.Value);
        }

        return builder.ToArray();
    }

    /// <summary>The reference: which attributes (by index) a receiver may use, straight from the RFC text.</summary>
    private static List<int> Counting(IReadOnlyList<Attr> attributes)
    {
        var result = new List<int>();
        bool afterMi = false, afterSha256 = false;
        for (int i = 0; i < attributes.Count; i++)
        {
            ushort type = attributes[i].Type;
            bool counts = afterSha256 ? type == StunAttributeType.Fingerprint
                : afterMi ? type is StunAttributeType.MessageIntegritySha256 or StunAttributeType.Fingerprint
                : true;
            if (!counts)
            {
                continue;
            }

            result.Add(i);
            if (type == StunAttributeType.Fingerprint)
            {
                break; // nothing after FINGERPRINT
            }

            afterMi |= type == StunAttributeType.MessageIntegrity;
            afterSha256 |= type == StunAttributeType.MessageIntegritySha256;
        }

        return result;
    }

    private static int[] Offsets(IReadOnlyList<Attr> attributes)
    {
        var offsets = new int[attributes.Count];
        int offset = StunHeader.Size;
        for (int i = 0; i < attributes.Count; i++)
        {
            offsets[i] = offset;
            offset += 4 + ((attributes[i].Value.Length + 3) & ~3);
        }

        return offsets;
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 300)]
    public void Attributes_after_message_integrity_are_ignored_by_the_enumeration_and_every_accessor(Attr[] attributes)
    {
        var bytes = Build(attributes);
        var counting = Counting(attributes);
        var offsets = Offsets(attributes);

        // Only attributes that count are validated: the invalid CHANNEL-NUMBER fails the parse only where it counts.
        bool valid = !counting.Any(i => attributes[i].Type == StunAttributeType.ChannelNumber);
        Assert.Equal(valid, StunMessage.TryParse(bytes, out var message, out var error));
        if (!valid)
        {
            Assert.Equal(StunParseError.InvalidAttribute, error);
            return;
        }

        var seen = new List<(ushort, int)>();
        foreach (var a in message.Attributes)
        {
            seen.Add((a.Type, a.Offset));
        }

        Assert.Equal(counting.Select(i => (attributes[i].Type, offsets[i])).ToList(), seen);

        // Every accessor: the first occurrence among the attributes that count, or nothing.
        foreach (ushort type in new[] { StunAttributeType.Username, StunAttributeType.Lifetime, StunAttributeType.Priority, StunAttributeType.RequestedTransport, StunAttributeType.XorPeerAddress, StunAttributeType.UseCandidate, Unknown, StunAttributeType.MessageIntegrity, StunAttributeType.MessageIntegritySha256, StunAttributeType.Fingerprint })
        {
            int first = counting.FindIndex(i => attributes[i].Type == type);
            Assert.Equal(first >= 0, message.TryGetAttribute(type, out var found));
            Assert.Equal(first >= 0, message.Has(type));
            if (first >= 0)
            {
                Assert.Equal(offsets[counting[first]], found.Offset);
                Assert.Equal(attributes[counting[first]].Value, found.Value.ToArray());
            }
        }

        int lifetime = counting.FindIndex(i => attributes[i].Type == StunAttributeType.Lifetime);
        Assert.Equal(lifetime >= 0, message.TryGetLifetime(out uint seconds));
        if (lifetime >= 0)
        {
            Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(attributes[counting[lifetime]].Value), seconds);
        }

        Assert.Equal(counting.Any(i => attributes[i].Type == StunAttributeType.UseCandidate), message.HasUseCandidate);
        Assert.Equal(counting.Any(i => attributes[i].Type == StunAttributeType.XorPeerAddress), message.TryGetXorPeerAddress(out _));
        Assert.Equal(counting.Any(i => attributes[i].Type == StunAttributeType.MessageIntegrity), message.HasMessageIntegrity);
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 200)]
    public void Appending_after_message_integrity_keeps_the_signature_valid_and_changes_nothing_a_receiver_reads(Attr[] signed, Attr[] appended, bool sha256)
    {
        // A correctly signed message (no integrity or fingerprint attributes of its own before the MI)...
        var body = signed.Where(a => a.Type is not (StunAttributeType.MessageIntegrity or StunAttributeType.MessageIntegritySha256 or StunAttributeType.Fingerprint or StunAttributeType.ChannelNumber)).ToArray();
        byte[] key = [1, 2, 3, 4];
        Span<byte> buffer = stackalloc byte[4096];
        var builder = new StunMessageBuilder(buffer, StunMethod.Refresh, StunClass.Request, TransactionId.NewRandom());
        foreach (var a in body)
        {
            builder.AddAttribute(a.Type, a.Value);
        }

        builder.AddMessageIntegrity(key);
        if (sha256)
        {
            builder.AddMessageIntegritySha256(key);
        }

        var original = builder.ToArray();

        // ...replayed by an on-path attacker with anything appended (no FINGERPRINT among it: that one would count).
        var tail = appended.Where(a => a.Type is not (StunAttributeType.Fingerprint or StunAttributeType.MessageIntegritySha256)).ToArray();
        var replayed = Append(original, tail);

        Assert.True(StunMessage.TryParse(original, out var before, out _));
        Assert.True(StunMessage.TryParse(replayed, out var after, out var error), error.ToString());
        Assert.True(after.VerifyMessageIntegrity(key));
        Assert.Equal(sha256, after.VerifyMessageIntegritySha256(key));
        Assert.Equal(Describe(before), Describe(after));
    }

    private static List<(ushort, string)> Describe(in StunMessage message)
    {
        var list = new List<(ushort, string)>();
        foreach (var a in message.Attributes)
        {
            list.Add((a.Type, Convert.ToHexString(a.Value)));
        }

        return list;
    }

    /// <summary>Appends raw attributes behind the end of a message and fixes up the header length, as an attacker would.</summary>
    internal static byte[] Append(byte[] message, IEnumerable<Attr> attributes)
    {
        var result = new List<byte>(message);
        foreach (var a in attributes)
        {
            result.AddRange([(byte)(a.Type >> 8), (byte)a.Type, (byte)(a.Value.Length >> 8), (byte)a.Value.Length]);
            result.AddRange(a.Value);
            while (result.Count % 4 != 0)
            {
                result.Add(0);
            }
        }

        var bytes = result.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)(bytes.Length - StunHeader.Size));
        return bytes;
    }

    [Fact]
    public void Fingerprint_after_message_integrity_still_counts_and_verifies()
    {
        Span<byte> buffer = stackalloc byte[256];
        var builder = new StunMessageBuilder(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        builder.AddUsername("a:b");
        builder.AddMessageIntegrity([9, 9]);
        builder.AddFingerprint();
        var bytes = builder.ToArray();
        Assert.True(StunMessage.TryParse(bytes, out var m, out _));
        Assert.True(m.HasFingerprint);
        Assert.True(m.VerifyFingerprint());
        Assert.True(m.VerifyMessageIntegrity([9, 9]));

        // Anything behind FINGERPRINT is ignored, and the FINGERPRINT is then no longer last: it fails.
        var longer = Append(bytes, [new Attr(StunAttributeType.UseCandidate, [])]);
        Assert.True(StunMessage.TryParse(longer, out var m2, out _));
        Assert.False(m2.HasUseCandidate);
        Assert.False(m2.VerifyFingerprint());
    }

    [Fact]
    public void Use_candidate_and_priority_appended_after_message_integrity_do_not_reach_ice()
    {
        var check = new ConnectivityCheck
        {
            Kind = CheckMessageKind.Request,
            TransactionId = TransactionId.NewRandom(),
            Username = "remote:local"u8.ToArray(),
            Controlling = true,
            TieBreaker = 7,
            Priority = 100,
            UseCandidate = false,
        };
        using var key = new CheckIntegrityKey("key-5-6-7");
        var buffer = new byte[ConnectivityCheck.MaxEncodedLength];
        var encoded = buffer.AsSpan(0, StunConnectivityCheckCodec.Instance.Encode(check, key, buffer)).ToArray();
        var withoutFingerprint = encoded.AsSpan(0, encoded.Length - 8).ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(withoutFingerprint.AsSpan(2), (ushort)(withoutFingerprint.Length - StunHeader.Size));
        var forged = Append(withoutFingerprint, [new Attr(StunAttributeType.UseCandidate, []), new Attr(StunAttributeType.Priority, [0xFF, 0xFF, 0xFF, 0xFF])]);

        Assert.True(StunConnectivityCheckCodec.Instance.TryDecode(forged, out var decoded));
        Assert.True(StunConnectivityCheckCodec.Instance.VerifyIntegrity(forged, in decoded, key)); // the replay still carries a valid MI
        Assert.True(StunMessage.TryParse(forged, out var parsed) && parsed.VerifyMessageIntegrity("key-5-6-7"u8)); // and the STUN codec agrees
        Assert.False(decoded.UseCandidate);
        Assert.Equal(100u, decoded.Priority);
    }
}
