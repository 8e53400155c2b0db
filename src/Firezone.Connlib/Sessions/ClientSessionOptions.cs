using System.Net;
using Firezone.Connlib.Model;
using Firezone.PhoenixChannel;

namespace Firezone.Connlib.Sessions;

/// <summary>Configuration of a <see cref="ClientSession"/>.</summary>
public sealed class ClientSessionOptions : SessionOptions
{
    /// <summary>The device name (null: the host name).</summary>
    public string? DeviceName { get; init; }

    /// <summary>Device details sent at login (serial, UUID...); null: none.</summary>
    public DeviceInfo? DeviceInfo { get; init; }

    /// <summary>The system's DNS servers (used when the portal configures none; see <see cref="ClientSession.SetDns"/>).</summary>
    public IReadOnlyList<IPAddress> SystemDnsServers { get; init; } = [];

    /// <summary>How long the portal may be unreachable before the session gives up (<c>--max-partition-time</c>); null: never.</summary>
    public TimeSpan? MaxPartitionTime { get; init; }

    /// <summary>Resources the user disabled (see <see cref="ClientSession.SetDisabledResources"/>).</summary>
    public IReadOnlyCollection<ResourceId> DisabledResources { get; init; } = [];

    /// <summary>Names answered before any resource (a static hosts file); null: none.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? KnownHosts { get; init; }

    /// <summary>The connlib version in the User-Agent (the portal gates features on it; default 1.3.8 as upstream's headless client).</summary>
    public string Version { get; init; } = "1.3.8";
}
