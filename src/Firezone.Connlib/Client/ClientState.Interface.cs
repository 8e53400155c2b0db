using System.Net;
using Firezone.Connlib.Model;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>Interface config, DNS servers and the published TUN configuration (tunnel spec §4.3).</summary>
public sealed partial class ClientState
{
    private IReadOnlyList<IPEndPoint> _upstreamDns = [];
    private IReadOnlyList<IPAddress> _systemResolvers = [];

    /// <summary>
    /// The portal's interface config (<c>init</c>, <c>config_changed</c>). The first one creates the TUN config and emits
    /// <see cref="TunInterfaceUpdated"/>; later ones change the addresses without an event of their own (upstream; they
    /// go out with the next publication). The upstream DNS servers are replaced and the DNS mapping recomputed.
    /// </summary>
    public void UpdateInterfaceConfig(InterfaceConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_tunConfig is null)
        {
            var (v4, v6) = ComputeRoutes();
            _tunConfig = new TunConfig(config.IPv4, config.IPv6, new Dictionary<IPAddress, IPEndPoint>(), v4, v6);
            _events.RemoveAll(static e => e is TunInterfaceUpdated);
            Emit(new TunInterfaceUpdated(_tunConfig));
            ReconfigureTcpDns(_tunConfig);
        }
        else
        {
            _tunConfig = new TunConfig(config.IPv4, config.IPv6, _tunConfig.DnsBySentinel, _tunConfig.IPv4Routes, _tunConfig.IPv6Routes);
        }

        _upstreamDns = config.UpstreamDns.ToList();
        RecomputeDnsMapping();
    }

    /// <summary>The host's own resolvers (from <c>/etc/resolv.conf</c> and the like), used when the portal configures none.</summary>
    public void UpdateSystemResolvers(IEnumerable<IPAddress> resolvers)
    {
        ArgumentNullException.ThrowIfNull(resolvers);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _systemResolvers = resolvers.ToList();
        RecomputeDnsMapping();
    }

    private void RecomputeDnsMapping()
    {
        if (_tunConfig is not { } current)
        {
            return;
        }

        if (_dns.RecomputeMapping(_upstreamDns, _systemResolvers) is { } mapping)
        {
            PublishTunConfig(current.IPv4, current.IPv6, mapping.Entries.ToDictionary(e => e.Sentinel, e => e.Server));
        }
    }

    /// <summary>Publishes a TUN config unless it equals the current one; older queued <see cref="TunInterfaceUpdated"/> are removed.</summary>
    private void PublishTunConfig(IPAddress ipv4, IPAddress ipv6, IReadOnlyDictionary<IPAddress, IPEndPoint> dnsBySentinel)
    {
        var (v4, v6) = ComputeRoutes();
        var config = new TunConfig(ipv4, ipv6, dnsBySentinel, v4, v6);
        if (config.Equals(_tunConfig))
        {
            return;
        }

        _tunConfig = config;
        _events.RemoveAll(static e => e is TunInterfaceUpdated);
        Emit(new TunInterfaceUpdated(config));
        ReconfigureTcpDns(config);
        LogTunConfig(_logger, ipv4, ipv6, dnsBySentinel.Count, v4.Count + v6.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "TUN config: {IPv4} / {IPv6}, {Sentinels} DNS sentinel(s), {Routes} route(s)")]
    private static partial void LogTunConfig(ILogger logger, IPAddress ipv4, IPAddress ipv6, int sentinels, int routes);
}
