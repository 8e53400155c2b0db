using Firezone.PhoenixChannel;

namespace Firezone.Gateway;

/// <summary>Everything the tunnel needs from the gateway's configuration, validated (hosts-and-tun.md §7.2).</summary>
/// <param name="ApiUrl">The portal URL.</param>
/// <param name="Token">The portal token.</param>
/// <param name="FirezoneId">The gateway id; the login URL carries only its SHA-256.</param>
/// <param name="Name">The gateway name (<c>--firezone-name</c>, else the hostname).</param>
/// <param name="LoginUrl">The portal login URL built from the above (<c>/gateway/websocket</c>).</param>
/// <param name="Version">This host's version (<c>UserAgent.ForConnlib(Version)</c>).</param>
internal sealed record GatewayHostSettings(Uri ApiUrl, string Token, string FirezoneId, string Name, LoginUrl LoginUrl, string Version);
