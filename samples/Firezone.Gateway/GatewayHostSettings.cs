namespace Firezone.Gateway;

/// <summary>Everything the tunnel needs from the gateway's configuration, validated (hosts-and-tun.md §7.2).</summary>
/// <param name="ApiUrl">The portal URL.</param>
/// <param name="Token">The portal token.</param>
/// <param name="FirezoneId">The gateway id; send only <paramref name="ExternalId"/>.</param>
/// <param name="ExternalId">Lowercase hex SHA-256 of the id: the login URL's <c>external_id</c>.</param>
/// <param name="Name">The gateway name (<c>--firezone-name</c>, else the hostname).</param>
/// <param name="Version">This host's version.</param>
internal sealed record GatewayHostSettings(Uri ApiUrl, string Token, string FirezoneId, string ExternalId, string Name, string Version);
