using System.Security.Cryptography;

namespace Firezone.Snownet.Ice;

/// <summary>
/// ICE short-term credentials: ufrag and password (RFC 8445 §5.3). Firezone uses 4-character ufrags and 22-character
/// passwords (snownet spec §4.2).
/// </summary>
internal sealed record IceCredentials(string Ufrag, string Password)
{
    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Fresh random credentials: a 4-char ufrag and a 22-char password from the ice-char alphabet.</summary>
    public static IceCredentials Random() => new(RandomString(4), RandomString(22));

    /// <summary>Fresh credentials from a caller-seeded generator (deterministic tests and simulations).</summary>
    public static IceCredentials Random(System.Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return new(RandomString(rng, 4), RandomString(rng, 22));
    }

    private static string RandomString(int length) => RandomNumberGenerator.GetString(IceChars, length);

    private static string RandomString(System.Random rng, int length)
    {
        Span<char> s = stackalloc char[length];
        for (int i = 0; i < length; i++)
        {
            s[i] = IceChars[rng.Next(IceChars.Length)];
        }

        return new string(s);
    }
}
