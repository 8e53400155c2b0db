using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;

namespace Firezone.DevPortal.Broker;

// Config reloads: what changed is pushed to the peers online.
public sealed partial class DevPortalBroker
{
    /// <summary>
    /// Puts <paramref name="config"/> in force and tells online peers what changed: clients get
    /// <c>resource_created_or_updated</c> / <c>resource_deleted</c> for their resource set and <c>config_changed</c>
    /// when their interface changed; gateways get <c>reject_access</c> for access that no longer holds (resource gone,
    /// its site no longer serving it, the client no longer allowed) and <c>resource_updated</c> for changed resources
    /// they granted; a client or gateway whose token is gone gets <c>disconnect</c> (<c>token_expired</c>).
    /// </summary>
    /// <exception cref="DevPortalConfigException">The config breaks a rule (nothing changes then).</exception>
    public void ApplyConfig(DevPortalConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var old = Config;
        var oldInterfaces = _clients.Values.ToDictionary(c => c.Config.Id, c => ClientInterface(c.Config));
        var oldResources = _clients.Values.ToDictionary(c => c.Config.Id, c => old.ResourcesOf(c.Config).ToDictionary(r => r.Id));
        Config = config;
        _addresses.Assign(config);
        int before = _transmits.Count;

        foreach (var client in _clients.Values.ToList())
        {
            if (config.Clients.FirstOrDefault(c => c.Id == client.Config.Id && c.Token == client.Config.Token) is not { } updated)
            {
                Disconnect(client, "Client", Id(client.Config.Id.Value));
                continue;
            }

            client.Config = updated;
            var now = config.ResourcesOf(updated).ToDictionary(r => r.Id);
            foreach (var (id, _) in oldResources[updated.Id].Where(kv => !now.ContainsKey(kv.Key)))
            {
                Push(client, new ResourceDeleted(id));
            }

            foreach (var resource in now.Values.Where(r => !oldResources[updated.Id].TryGetValue(r.Id, out var was) || !was.SameAs(r) || SitesRenamed(old, config, r)))
            {
                Push(client, new ResourceCreatedOrUpdated(ToClientResource(resource)));
            }

            if (!ClientInterface(updated).Equals(oldInterfaces[updated.Id]))
            {
                Push(client, new ConfigChanged(ClientInterface(updated)));
            }
        }

        foreach (var gateway in _gateways.Values.ToList())
        {
            if (config.Gateways.FirstOrDefault(g => g.Id == gateway.Config.Id && g.Token == gateway.Config.Token) is not { } updated)
            {
                Disconnect(gateway, "Gateway", Id(gateway.Config.Id.Value));
                continue;
            }

            // A gateway has no config_changed at this protocol version: new addresses or upstream DNS reach it on its next join.
            gateway.Config = updated;
        }

        var updatedOnGateway = new HashSet<(GatewayId, ResourceId)>();
        foreach (var access in _access.ToList())
        {
            var resource = config.Resources.FirstOrDefault(r => r.Id == access.Resource);
            var client = config.Clients.FirstOrDefault(c => c.Id == access.Client);
            bool holds = resource is not null
                && _gateways.TryGetValue(access.Gateway, out var gw) && resource.Sites.Contains(gw.Config.Site)
                && (client is null || config.ResourcesOf(client).Any(r => r.Id == resource.Id));
            if (!_gateways.TryGetValue(access.Gateway, out var gateway)) continue;
            if (!holds)
            {
                _access.Remove(access);
                Push(gateway, new RejectAccess(access.Client, access.Resource));
                continue;
            }

            var was = old.Resources.FirstOrDefault(r => r.Id == access.Resource);
            if (was is not null && !was.SameAs(resource!) && updatedOnGateway.Add((access.Gateway, access.Resource)))
            {
                Push(gateway, new ResourceUpdated(ToGatewayResource(resource!)));
            }
        }

        BrokerLog.ConfigApplied(_logger, config.Resources.Count, config.Clients.Count, config.Gateways.Count, _transmits.Count - before);
    }

    private static bool SitesRenamed(DevPortalConfig old, DevPortalConfig now, ResourceConfig resource) =>
        resource.Sites.Any(id => old.Sites.FirstOrDefault(s => s.Id == id)?.Name != now.Sites.FirstOrDefault(s => s.Id == id)?.Name);

    private void Disconnect(BrokerPeer peer, string kind, string id)
    {
        BrokerLog.Removed(_logger, kind, id);
        _transmits.Enqueue(new BrokerTransmit(peer.Session, peer.Topic, "disconnect", new JsonObject { ["reason"] = "token_expired" }, null));
        Leave(peer.Session, DateTimeOffset.UnixEpoch);
    }
}
