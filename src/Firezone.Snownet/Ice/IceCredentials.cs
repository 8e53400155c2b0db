using Firezone.Snownet.SansIo;

namespace Firezone.Snownet.Ice;

/// <summary>
/// ICE short-term credentials: ufrag and password (RFC 8445 §5.3). Firezone uses 4-character ufrags and 22-character
/// passwords (snownet spec §4.2).
/// </summary>
internal sealed record IceCredentials(string Ufrag, string Password)
{
    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Fresh credentials from the OS CSPRNG (<see cref="RandomSource.Secure"/>), for callers without a source.</summary>
    public static IceCredentials Random() => Random(RandomSource.Secure);

    /// <summary>
    /// Fresh credentials from an injected random source (simulations pass a seeded one): a 4-char ufrag and a 22-char
    /// password from the 64 ice-chars, each char from one random byte (64 divides 256, so the draw is uniform).
    /// </summary>
    public static IceCredentials Random(Action<Span<byte>> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return new(RandomString(random, 4), RandomString(random, 22));
    }

    private static string RandomString(Action<Span<byte>> random, int length)
    {
        Span<byte> bytes = stackalloc byte[length];
        random(bytes);
        Span<char> s = stackalloc char[length];
        for (int i = 0; i < length; i++)
        {
            s[i] = IceChars[bytes[i] & 63];
        }

        return new string(s);
    }
}
