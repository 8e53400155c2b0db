using Firezone.Connlib.Messages;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>Keys: canonical padded standard base64 of exactly 32 bytes (phoenix-and-portal spec §6).</summary>
public sealed class KeyTests
{
    private static readonly Arbitrary<byte[]> KeyBytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), Key.Length).ToArbitrary();

    [Property(MaxTest = 500)]
    public Property Text_is_the_standard_base64_of_the_bytes_and_parses_back() => Prop.ForAll(KeyBytes, bytes =>
    {
        var key = new Key(bytes);
        string text = key.ToString();
        Assert.Equal(Convert.ToBase64String(bytes), text);
        Assert.True(Key.TryParse(text, out var parsed));
        Assert.Equal(key, parsed);
        Assert.Equal(bytes, parsed.ToArray());
    });

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Base64_of_any_other_length_than_32_bytes_is_rejected(int length) =>
        Assert.False(Key.TryParse(Convert.ToBase64String(new byte[length]), out _));

    [Fact]
    public void Missing_padding_url_safe_alphabet_whitespace_and_non_canonical_bits_are_rejected()
    {
        var bytes = Enumerable.Range(0, 32).Select(i => (byte)(i * 37 + 250)).ToArray();
        string text = Convert.ToBase64String(bytes);
        Assert.True(text.Contains('+', StringComparison.Ordinal) || text.Contains('/', StringComparison.Ordinal), text);
        Assert.True(Key.TryParse(text, out _));
        Assert.False(Key.TryParse(text.TrimEnd('='), out _));
        Assert.False(Key.TryParse(text.Replace('+', '-').Replace('/', '_'), out _));
        Assert.False(Key.TryParse(" " + text, out _));
        Assert.False(Key.TryParse(text + "\n", out _));
        Assert.False(Key.TryParse(text[..20] + " " + text[21..], out _));
        Assert.False(Key.TryParse(null, out _));

        // The 43rd character carries two unused low bits; "…o=" is canonical, "…p=" decodes to the same bytes.
        const string canonical = "Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=";
        Assert.True(Key.TryParse(canonical, out _));
        Assert.Equal(Convert.FromBase64String(canonical), Convert.FromBase64String(canonical[..42] + "p="));
        Assert.False(Key.TryParse(canonical[..42] + "p=", out _));
        Assert.Throws<FormatException>(() => Key.Parse(canonical[..42] + "p="));
    }

    [Fact]
    public void A_key_is_exactly_32_bytes_and_default_is_all_zero()
    {
        Assert.Throws<ArgumentException>(() => new Key(new byte[31]));
        Assert.Equal(new byte[32], default(Key).ToArray());
        Assert.Equal(new Key(new byte[32]), default);
        Assert.NotEqual(Key.Random(), Key.Random());
        Assert.Equal(new Key(Enumerable.Repeat((byte)7, 32).ToArray()), Key.Random(s => s.Fill(7)));
    }
}
