using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Firezone.PhoenixChannel;

/// <summary>Optional device identifiers a client sends with its login (spec §5.4).</summary>
/// <param name="DeviceSerial">The system serial number (SMBIOS), if known.</param>
/// <param name="DeviceUuid">The system UUID (SMBIOS), if known.</param>
/// <param name="IdentifierForVendor">Apple's identifier for vendor, if any.</param>
/// <param name="FirebaseInstallationId">Android's Firebase installation id, if any.</param>
public sealed record DeviceInfo(string? DeviceSerial = null, string? DeviceUuid = null,
    string? IdentifierForVendor = null, string? FirebaseInstallationId = null);

/// <summary>
/// The portal login URL of a client, gateway or relay: <c>ws(s)://host:port/&lt;mode&gt;/websocket?token=…&amp;…</c>.
/// The token travels only in the query string; <see cref="ToString"/> and logs show it redacted.
/// </summary>
public sealed class LoginUrl
{
    private readonly Uri _uri;

    private LoginUrl(Uri uri, string host, int port)
    {
        _uri = uri;
        Host = host;
        Port = port;
    }

    /// <summary>The portal host name (re-resolved on every connection attempt).</summary>
    public string Host { get; }

    /// <summary>The port: the API URL's explicit port, else 443 (even for <c>ws</c>, as upstream).</summary>
    public int Port { get; }

    /// <summary>The login URL of a client (<c>/client/websocket</c>).</summary>
    /// <param name="apiUrl">The portal API URL, e.g. <c>wss://api.firezone.dev</c>.</param>
    /// <param name="token">The secret token.</param>
    /// <param name="deviceId">The device id; its SHA-256 hex is sent as <c>external_id</c>.</param>
    /// <param name="deviceName">The device name; null uses the host name.</param>
    /// <param name="deviceInfo">Optional device identifiers.</param>
    public static LoginUrl Client(Uri apiUrl, string token, string deviceId, string? deviceName = null, DeviceInfo? deviceInfo = null)
    {
        var q = new List<(string, string?)>
        {
            ("token", token),
            ("external_id", ExternalId(deviceId)),
            ("name", deviceName ?? DefaultName()),
            ("device_serial", deviceInfo?.DeviceSerial),
            ("device_uuid", deviceInfo?.DeviceUuid),
            ("identifier_for_vendor", deviceInfo?.IdentifierForVendor),
            ("firebase_installation_id", deviceInfo?.FirebaseInstallationId),
        };
        return Build(apiUrl, "client", q);
    }

    /// <summary>The login URL of a gateway (<c>/gateway/websocket</c>).</summary>
    /// <param name="apiUrl">The portal API URL.</param>
    /// <param name="token">The secret token.</param>
    /// <param name="deviceId">The gateway id; its SHA-256 hex is sent as <c>external_id</c>.</param>
    /// <param name="name">The gateway name; null uses the host name.</param>
    public static LoginUrl Gateway(Uri apiUrl, string token, string deviceId, string? name = null) =>
        Build(apiUrl, "gateway", [("token", token), ("external_id", ExternalId(deviceId)), ("name", name ?? DefaultName())]);

    /// <summary>The login URL of a relay (<c>/relay/websocket</c>).</summary>
    /// <param name="apiUrl">The portal API URL.</param>
    /// <param name="token">The secret token.</param>
    /// <param name="name">The relay name; sent only when given (no host-name fallback).</param>
    /// <param name="publicIPv4">The relay's public IPv4 address, if any.</param>
    /// <param name="publicIPv6">The relay's public IPv6 address, if any.</param>
    /// <param name="port">The STUN/TURN listen port (3478).</param>
    public static LoginUrl Relay(Uri apiUrl, string token, string? name = null, IPAddress? publicIPv4 = null,
        IPAddress? publicIPv6 = null, int port = 3478) =>
        Build(apiUrl, "relay",
        [
            ("token", token), ("name", name), ("ipv4", publicIPv4?.ToString()), ("ipv6", publicIPv6?.ToString()),
            ("port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ]);

    /// <summary>Lowercase hex SHA-256 of the device id's UTF-8 bytes.</summary>
    public static string ExternalId(string deviceId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(deviceId)));

    /// <summary>The full URL with extra query parameters appended (e.g. <c>public_key</c> at connect time).</summary>
    public Uri ToUri(IEnumerable<KeyValuePair<string, string>>? finishParams = null)
    {
        if (finishParams is null)
        {
            return _uri;
        }
        var sb = new StringBuilder(_uri.Query);
        foreach (var (k, v) in finishParams)
        {
            sb.Append('&').Append(WebUtility.UrlEncode(k)).Append('=').Append(WebUtility.UrlEncode(v));
        }
        return new UriBuilder(_uri) { Query = sb.ToString().TrimStart('?') }.Uri;
    }

    /// <summary>The URL with the token replaced by <c>***</c>, safe to log.</summary>
    public override string ToString() => Redact(_uri);

    /// <summary>Replaces the value of every <c>token</c> query parameter with <c>***</c>.</summary>
    public static string Redact(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        var parts = query.Split('&', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].StartsWith("token=", StringComparison.Ordinal))
            {
                parts[i] = "token=***";
            }
        }
        var left = uri.GetLeftPart(UriPartial.Path);
        return parts.Length == 0 ? left : left + "?" + string.Join('&', parts);
    }

    private static LoginUrl Build(Uri apiUrl, string mode, IEnumerable<(string Key, string? Value)> query)
    {
        ArgumentNullException.ThrowIfNull(apiUrl);
        if (!apiUrl.IsAbsoluteUri || string.IsNullOrEmpty(apiUrl.Host))
        {
            throw new ArgumentException("The API URL needs a host.", nameof(apiUrl));
        }
        var scheme = apiUrl.Scheme switch
        {
            "http" or "ws" => "ws",
            "https" or "wss" => "wss",
            _ => throw new ArgumentException($"Unsupported API URL scheme '{apiUrl.Scheme}' (use ws, wss, http or https).", nameof(apiUrl)),
        };
        // An explicit port that equals the scheme's default counts as absent, and absent means 443 (upstream rule).
        var port = apiUrl.IsDefaultPort ? 443 : apiUrl.Port;
        var path = apiUrl.AbsolutePath.TrimEnd('/') + "/" + mode + "/websocket";
        var sb = new StringBuilder();
        foreach (var (key, value) in query)
        {
            if (value is null) continue;
            if (sb.Length > 0) sb.Append('&');
            sb.Append(key).Append('=').Append(WebUtility.UrlEncode(value));
        }
        var uri = new UriBuilder(scheme, apiUrl.Host, port, path) { Query = sb.ToString() }.Uri;
        return new LoginUrl(uri, apiUrl.IdnHost, port);
    }

    private static string DefaultName()
    {
        try
        {
            var host = Dns.GetHostName();
            if (!string.IsNullOrWhiteSpace(host)) return host;
        }
        catch (System.Net.Sockets.SocketException)
        {
        }
        return Guid.NewGuid().ToString();
    }
}
