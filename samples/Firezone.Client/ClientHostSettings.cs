using Firezone.Connlib.Hosting;

namespace Firezone.Client;

/// <summary>Everything the tunnel needs from the host's configuration, validated (hosts-and-tun.md §7.1).</summary>
/// <param name="ApiUrl">The portal URL (<c>--api-url</c>).</param>
/// <param name="Token">The portal token (environment, positional or token file).</param>
/// <param name="FirezoneId">The device id (flag/env or the id file); send only <paramref name="ExternalId"/>.</param>
/// <param name="ExternalId">Lowercase hex SHA-256 of the id: the login URL's <c>external_id</c>.</param>
/// <param name="Name">The device name (<c>--firezone-name</c>, else the hostname).</param>
/// <param name="MaxPartitionTime">Give up when the portal is unreachable this long; null = retry forever.</param>
/// <param name="DnsControl">The DNS control method.</param>
/// <param name="Version">This host's version (the User-Agent's <c>connlib/&lt;version&gt;</c>).</param>
internal sealed record ClientHostSettings(
    Uri ApiUrl,
    string Token,
    string FirezoneId,
    string ExternalId,
    string Name,
    TimeSpan? MaxPartitionTime,
    DnsControlMethod DnsControl,
    string Version);
