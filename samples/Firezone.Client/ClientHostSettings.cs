using Firezone.Connlib.Hosting;
using Firezone.PhoenixChannel;

namespace Firezone.Client;

/// <summary>Everything the tunnel needs from the host's configuration, validated (hosts-and-tun.md §7.1).</summary>
/// <param name="ApiUrl">The portal URL (<c>--api-url</c>).</param>
/// <param name="Token">The portal token (environment, positional or token file).</param>
/// <param name="FirezoneId">The device id (flag/env or the id file); the login URL carries only its SHA-256.</param>
/// <param name="Name">The device name (<c>--firezone-name</c>, else the hostname).</param>
/// <param name="Device">SMBIOS serial and UUID (<c>device_serial</c>, <c>device_uuid</c>).</param>
/// <param name="LoginUrl">The portal login URL built from the above (<c>/client/websocket</c>).</param>
/// <param name="MaxPartitionTime">Give up when the portal is unreachable this long; null = retry forever.</param>
/// <param name="DnsControl">The DNS control method.</param>
/// <param name="Version">This host's version (<c>UserAgent.ForConnlib(Version)</c>).</param>
internal sealed record ClientHostSettings(
    Uri ApiUrl,
    string Token,
    string FirezoneId,
    string Name,
    DeviceInfo Device,
    LoginUrl LoginUrl,
    TimeSpan? MaxPartitionTime,
    DnsControlMethod DnsControl,
    string Version);
