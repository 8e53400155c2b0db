using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Firezone.DevPortal.Broker;

/// <summary>
/// Firezone's stateless TURN credentials as the portal mints them (relay.md §6, phoenix-and-portal.md §6): username
/// <c>&lt;unix expiry secs&gt;:&lt;salt&gt;</c>, password = unpadded standard base64 of SHA-256 over the UTF-8 text
/// <c>&lt;expiry&gt;:&lt;stamp secret&gt;:&lt;salt&gt;</c> (the secret's hex string as the relay sent it).
/// </summary>
public static class RelayCredentials
{
    /// <summary>Length of the salts <see cref="NewSalt"/> makes (16 URL-safe characters, as the portal's test vector).</summary>
    public const int SaltLength = 16;

    /// <summary>The username for an expiry and salt.</summary>
    public static string Username(long expiryUnixSeconds, string salt) => $"{expiryUnixSeconds.ToString(CultureInfo.InvariantCulture)}:{salt}";

    /// <summary>The password the relay derives for <paramref name="expiryUnixSeconds"/> and <paramref name="salt"/> under <paramref name="stampSecret"/>.</summary>
    public static string Password(string stampSecret, long expiryUnixSeconds, string salt)
    {
        ArgumentNullException.ThrowIfNull(stampSecret);
        ArgumentNullException.ThrowIfNull(salt);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{expiryUnixSeconds.ToString(CultureInfo.InvariantCulture)}:{stampSecret}:{salt}"));
        return Convert.ToBase64String(hash).TrimEnd('=');
    }

    /// <summary>A salt of <see cref="SaltLength"/> characters from <c>[A-Za-z0-9_-]</c> (never a colon).</summary>
    public static string NewSalt(Action<Span<byte>> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<byte> bytes = stackalloc byte[12];
        random(bytes);
        return Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
    }
}
