using System.Security.Cryptography;
using System.Text;

namespace Firezone.Snownet.Stun;

/// <summary>Keys for MESSAGE-INTEGRITY(-SHA256): long-term (RFC 8489 §9.2) and short-term (§9.1) credentials. No SASLprep.</summary>
internal static class StunCredentials
{
    /// <summary>Length of a long-term MD5 key.</summary>
    public const int LongTermKeyLength = 16;

    /// <summary>Long-term key: MD5 of the UTF-8 string <c>username:realm:password</c>.</summary>
    public static byte[] LongTermKey(string username, string realm, string password)
    {
        var key = new byte[LongTermKeyLength];
        LongTermKey(username, realm, password, key);
        return key;
    }

    /// <summary>Long-term key written into <paramref name="destination"/> (16 bytes), without heap allocation for short inputs.</summary>
    public static void LongTermKey(ReadOnlySpan<char> username, ReadOnlySpan<char> realm, ReadOnlySpan<char> password, Span<byte> destination)
    {
        int max = Encoding.UTF8.GetMaxByteCount(username.Length + realm.Length + password.Length + 2);
        byte[]? rented = null;
        Span<byte> buffer = max <= 1024 ? stackalloc byte[max] : (rented = new byte[max]);
        int n = Encoding.UTF8.GetBytes(username, buffer);
        buffer[n++] = (byte)':';
        n += Encoding.UTF8.GetBytes(realm, buffer[n..]);
        buffer[n++] = (byte)':';
        n += Encoding.UTF8.GetBytes(password, buffer[n..]);
        MD5.HashData(buffer[..n], destination);
        _ = rented;
    }

    /// <summary>Long-term key for MESSAGE-INTEGRITY-SHA256 with PASSWORD-ALGORITHM SHA-256 (RFC 8489 §18.5.1.2): SHA-256 of <c>username:realm:password</c>.</summary>
    public static byte[] LongTermKeySha256(string username, string realm, string password) =>
        SHA256.HashData(Encoding.UTF8.GetBytes($"{username}:{realm}:{password}"));

    /// <summary>Short-term key: the UTF-8 bytes of the password (ICE uses the remote ice-pwd).</summary>
    public static byte[] ShortTermKey(string password) => Encoding.UTF8.GetBytes(password);
}
