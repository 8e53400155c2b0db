using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>
/// Firezone's stateless TURN credentials (relay.md §6): username <c>&lt;expiry&gt;:&lt;salt&gt;</c>, password = unpadded
/// Base64 of SHA-256 over <c>&lt;expiry&gt;:&lt;secret&gt;:&lt;salt&gt;</c>, key = MD5 of <c>username:firezone:password</c>.
/// </summary>
internal static class FirezoneCredentials
{
    /// <summary>The realm the relay always uses.</summary>
    public const string Realm = "firezone";

    /// <summary>The password the portal mints for an expiry and salt.</summary>
    public static string ComputePassword(string secret, ulong expiry, string salt)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{expiry.ToString(CultureInfo.InvariantCulture)}:{secret}:{salt}"));
        return Convert.ToBase64String(hash).TrimEnd('=');
    }

    /// <summary>Username for an expiry and salt.</summary>
    public static string MakeUsername(ulong expiry, string salt) => $"{expiry.ToString(CultureInfo.InvariantCulture)}:{salt}";

    /// <summary>Splits <c>&lt;u64&gt;:&lt;salt&gt;</c> (exactly one colon, numeric expiry).</summary>
    public static bool TryParseUsername(string username, out ulong expiry, out string salt)
    {
        expiry = 0;
        salt = string.Empty;
        int colon = username.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || username.IndexOf(':', colon + 1) >= 0)
        {
            return false;
        }

        var digits = username.AsSpan(0, colon);
        if (digits.IsEmpty || !ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out expiry))
        {
            return false;
        }

        salt = username[(colon + 1)..];
        return true;
    }

    /// <summary>The long-term key for a (canonical) username under this relay's secret; null if the username is malformed.</summary>
    public static byte[]? TryDeriveKey(string secret, string username, out ulong expiry)
    {
        if (!TryParseUsername(username, out expiry, out string salt))
        {
            return null;
        }

        string password = ComputePassword(secret, expiry, salt);
        return StunCredentials.LongTermKey(MakeUsername(expiry, salt), Realm, password);
    }
}
