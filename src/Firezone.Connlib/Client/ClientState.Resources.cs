using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Model;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Client;

/// <summary>Resources: activation, disabling, the active CIDR table and statuses (tunnel spec §4.2).</summary>
public sealed partial class ClientState
{
    /// <summary>
    /// Replaces the whole resource set (portal <c>init</c>): resources not in <paramref name="resources"/> are removed,
    /// every listed one is added or updated, routes are recomputed and <see cref="ResourcesChanged"/> is always emitted.
    /// </summary>
    public void SetResources(IEnumerable<ClientResource> resources, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var list = resources.ToList();
        var keep = list.Select(r => r.Id).ToHashSet();
        foreach (var id in _resources.Keys.Where(id => !keep.Contains(id)).Order().ToList())
        {
            RemoveResource(id, now);
        }

        foreach (var resource in list)
        {
            AddResource(resource, now);
        }

        RecomputeRoutes();
        EmitResourcesChanged();
    }

    /// <summary>
    /// Adds or updates one resource (<c>resource_created_or_updated</c>). A changed address (or kind) removes the old
    /// resource first. Unless the resource is disabled it is activated; only when that changes something are routes
    /// recomputed and <see cref="ResourcesChanged"/> emitted (a rename alone emits nothing, §11.11).
    /// </summary>
    public void AddResource(ClientResource resource, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_resources.TryGetValue(resource.Id, out var existing) && !existing.HasSameAddress(resource))
        {
            RemoveResource(resource.Id, now);
        }

        _resources[resource.Id] = resource;
        if (_disabled.Contains(resource.Id))
        {
            return;
        }

        bool activated = resource switch
        {
            DnsResource d => _dns.RegisterPattern(d.Address, d.Id),
            CidrResource c => !_activeCidr.TryGetExact(c.Address, out var active) || active != c.Id,
            InternetResource i => ActivateInternet(i.Id),
            _ => false,
        };

        if (activated)
        {
            LogResourceActivated(_logger, resource.Id, resource.Name);
            RecomputeRoutes();
            EmitResourcesChanged();
        }
    }

    /// <summary>Removes a resource (<c>resource_deleted</c>): disabled, forgotten, routes recomputed, <see cref="ResourcesChanged"/>.</summary>
    public void RemoveResource(ResourceId id, TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        DisableResource(id);
        _resources.Remove(id);
        RecomputeRoutes();
        EmitResourcesChanged();
    }

    /// <summary>
    /// The resources the user disabled: those no longer in the set are re-added, those in it are disabled (their
    /// traffic stops and their gateway peers lose them), routes recomputed. Emits nothing by itself.
    /// </summary>
    public void SetDisabledResources(IEnumerable<ResourceId> disabled, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(disabled);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var previous = _disabled.ToHashSet();
        _disabled.Clear();
        _disabled.UnionWith(disabled);
        foreach (var id in previous.Where(id => !_disabled.Contains(id)).Order())
        {
            if (_resources.TryGetValue(id, out var resource))
            {
                AddResource(resource, now);
            }
        }

        foreach (var id in _disabled.Order())
        {
            DisableResource(id);
        }

        RecomputeRoutes();
    }

    /// <summary>
    /// The portal answered a connection intent with "offline": every site of the resource is marked offline, its intent
    /// and gateway forgotten, and <see cref="ResourcesChanged"/> emitted.
    /// </summary>
    public void SetResourceOffline(ResourceId id)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_resources.TryGetValue(id, out var resource))
        {
            foreach (var site in resource.Sites)
            {
                _sitesStatus[site.Id] = ResourceStatus.Offline;
            }
        }

        _awaiting.Remove(id);
        _resourcesGateways.Remove(id);
        EmitResourcesChanged();
    }

    private bool ActivateInternet(ResourceId id)
    {
        if (_internetResource == id)
        {
            return false;
        }

        _internetResource = id;
        return true;
    }

    /// <summary>Stops routing a resource (also the first half of removal).</summary>
    private void DisableResource(ResourceId id)
    {
        if (_resources.TryGetValue(id, out var resource))
        {
            switch (resource)
            {
                case DnsResource:
                    _dns.UnregisterPatterns(id);
                    break;
                case InternetResource when _internetResource == id:
                    _internetResource = null;
                    break;
            }
        }

        _awaiting.Remove(id);
        if (_resourcesGateways.TryGetValue(id, out var gateway) && _peers.TryGetValue(gateway, out var peer))
        {
            peer.Forget(id);
            if (!peer.HasAllowedIps)
            {
                // The snownet connection stays (§11.12); a later connection to this gateway replaces it.
                _peers.Remove(gateway);
                if (_gatewaysSite.TryGetValue(gateway, out var site))
                {
                    _sitesStatus[site] = ResourceStatus.Unknown;
                }
            }
        }

        _resourcesGateways.Remove(id);
    }

    /// <summary>Has a gateway with a peer (the "connected" of the active-CIDR rule).</summary>
    private bool IsConnected(ResourceId id) => _resourcesGateways.TryGetValue(id, out var gateway) && _peers.ContainsKey(gateway);

    /// <summary>
    /// Rebuilds the active CIDR table: CIDR resources in ascending id, disabled ones skipped; for identical networks the
    /// later one wins unless the earlier one is connected.
    /// </summary>
    private void RecomputeActiveCidr()
    {
        _activeCidr.Clear();
        foreach (var resource in _resources.Values.OrderBy(r => r.Id))
        {
            if (resource is not CidrResource cidr || _disabled.Contains(cidr.Id))
            {
                continue;
            }

            if (_activeCidr.TryGetExact(cidr.Address, out var earlier) && IsConnected(earlier))
            {
                continue;
            }

            _activeCidr.Set(cidr.Address, cidr.Id);
        }
    }

    /// <summary>Recomputes the active CIDR table and the routes, and publishes the TUN config if it changed.</summary>
    private void RecomputeRoutes()
    {
        RecomputeActiveCidr();
        if (_tunConfig is { } current)
        {
            PublishTunConfig(current.IPv4, current.IPv6, current.DnsBySentinel);
        }
    }

    /// <summary>
    /// Routes (§4.3): every active CIDR network, the four fixed proxy and sentinel ranges, and the default routes while an
    /// internet resource is active; split by family and ordered.
    /// </summary>
    private (List<IPNetwork> V4, List<IPNetwork> V6) ComputeRoutes()
    {
        var v4 = new SortedSet<IPNetwork>(IpNetworkComparer.Instance) { ClientRanges.ProxyV4, ClientRanges.SentinelsV4 };
        var v6 = new SortedSet<IPNetwork>(IpNetworkComparer.Instance) { ClientRanges.ProxyV6, ClientRanges.SentinelsV6 };
        foreach (var (network, _) in _activeCidr.Entries())
        {
            (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? v4 : v6).Add(network);
        }

        if (_internetResource is not null)
        {
            v4.Add(new IPNetwork(IPAddress.Any, 0));
            v6.Add(new IPNetwork(IPAddress.IPv6Any, 0));
        }

        return (v4.ToList(), v6.ToList());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Activated resource {Resource} ({Name})")]
    private static partial void LogResourceActivated(ILogger logger, ResourceId resource, string name);
}
