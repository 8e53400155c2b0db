using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Config;

namespace Firezone.DevPortal.Broker;

// What clients and gateways send: prepare/request/reuse connection, connection_ready, ICE candidates.
public sealed partial class DevPortalBroker
{
    private void HandleClientMessage(ClientPeer client, PortalMessage message, ulong? @ref, TimeSpan now)
    {
        switch (message)
        {
            case PrepareConnection prepare:
                Prepare(client, prepare, @ref);
                break;
            case RequestConnection request:
                RequestConnection(client, request, @ref, now);
                break;
            case ReuseConnection reuse:
                ReuseConnection(client, reuse, @ref);
                break;
            case IceCandidatesForGateways candidates:
                foreach (var gatewayId in candidates.GatewayIds.Distinct())
                {
                    if (_gateways.TryGetValue(gatewayId, out var gateway))
                    {
                        Push(gateway, new IceCandidatesFromClient(client.Config.Id, candidates.Candidates, candidates.Invalidated));
                        BrokerLog.Candidates(_logger, $"client {client.Config.Id}", candidates.Event, candidates.Candidates.Count, $"gateway {gatewayId}");
                    }
                }

                break;
        }
    }

    private void HandleGatewayMessage(GatewayPeer gateway, PortalMessage message, ulong? @ref)
    {
        switch (message)
        {
            case ConnectionReady ready:
                if (!_pending.TryGetValue(ready.Ref, out var pending) || pending.GatewayId != gateway.Config.Id)
                {
                    Reply(gateway.Session, gateway.Topic, @ref, error: "invalid_ref");
                    return;
                }

                _pending.Remove(ready.Ref);
                Reply(gateway.Session, gateway.Topic, @ref, new System.Text.Json.Nodes.JsonObject());
                _access.Add((gateway.Config.Id, pending.ClientId, pending.ResourceId));
                var connect = new Connect(pending.ResourceId, gateway.PublicKey, ready.GatewayPayload, PersistentKeepalive);
                Reply(pending.ClientSession, PortalMessages.ClientTopic, pending.ClientRef, connect.ToPayload());
                BrokerLog.ConnectionReady(_logger, Id(gateway.Config.Id.Value), Id(pending.ClientId.Value), Id(pending.ResourceId.Value));
                Event(new BrokerEvent(BrokerEventKind.ConnectionReady, pending.ClientId.Value, string.Empty, gateway.Config.Id.Value, pending.ResourceId.Value));
                break;
            case FlowAuthorized:
                // This portal sends no authorize_flow (the 2024-11-29 client uses request_connection); accept and ignore.
                Reply(gateway.Session, gateway.Topic, @ref, new System.Text.Json.Nodes.JsonObject());
                break;
            case IceCandidatesForClients candidates:
                foreach (var clientId in candidates.ClientIds.Distinct())
                {
                    if (_clients.TryGetValue(clientId, out var client))
                    {
                        Push(client, new IceCandidatesFromGateway(gateway.Config.Id, candidates.Candidates, candidates.Invalidated));
                        BrokerLog.Candidates(_logger, $"gateway {gateway.Config.Id}", candidates.Event, candidates.Candidates.Count, $"client {clientId}");
                    }
                }

                break;
        }
    }

    private void Prepare(ClientPeer client, PrepareConnection prepare, ulong? @ref)
    {
        if (AccessibleResource(client, prepare.ResourceId) is not { } resource)
        {
            Refuse(client, "prepare_connection", prepare.ResourceId, @ref, "not_found");
            return;
        }

        // Prefer a gateway the client is connected to already (as the portal does), else the first online one in config order.
        var candidates = Config.Gateways
            .Where(g => resource.Sites.Contains(g.Site) && _gateways.ContainsKey(g.Id))
            .OrderBy(g => prepare.ConnectedGatewayIds.Contains(g.Id) ? 0 : 1)
            .ToList();
        if (candidates.Count == 0)
        {
            Refuse(client, "prepare_connection", prepare.ResourceId, @ref, "offline");
            return;
        }

        var gateway = _gateways[candidates[0].Id];
        var details = new ConnectionDetails(resource.Id, gateway.Config.Id, gateway.RemoteIp, gateway.Config.Site);
        Reply(client.Session, client.Topic, @ref, details.ToPayload());
        BrokerLog.Prepared(_logger, Id(client.Config.Id.Value), Id(resource.Id.Value), resource.Name, Id(gateway.Config.Id.Value), SiteName(gateway.Config.Site));
        Event(new BrokerEvent(BrokerEventKind.ConnectionPrepared, client.Config.Id.Value, client.Name, gateway.Config.Id.Value, resource.Id.Value, resource.Name));
    }

    private void RequestConnection(ClientPeer client, RequestConnection request, ulong? @ref, TimeSpan now)
    {
        if (!TryRoute(client, "request_connection", request.ResourceId, request.GatewayId, @ref, out var resource, out var gateway)) return;
        if (_pending.Count >= MaxPendingConnections)
        {
            Refuse(client, "request_connection", request.ResourceId, @ref, "retry_later");
            return;
        }

        var (v4, v6) = AddressesOf(client.Config);
        string gatewayRef = NewRef();
        _pending[gatewayRef] = new PendingConnection(gatewayRef, client.Session, @ref, client.Config.Id, gateway.Config.Id, resource.Id, now + Config.GatewayAnswerTimeout);
        Push(gateway, new GatewayRequestConnection(
            gatewayRef,
            ToGatewayResource(resource),
            client.Config.Id,
            request.IceParameters,
            request.Domain,
            new Connlib.Messages.ClientPeer(PersistentKeepalive, client.PublicKey, request.ClientPresharedKey, v4, v6),
            ExpiresAt: null));
        BrokerLog.ConnectionRequested(_logger, Id(client.Config.Id.Value), Id(resource.Id.Value), resource.Name, Id(gateway.Config.Id.Value), gatewayRef);
        Event(new BrokerEvent(BrokerEventKind.ConnectionRequested, client.Config.Id.Value, client.Name, gateway.Config.Id.Value, resource.Id.Value, resource.Name));
    }

    private void ReuseConnection(ClientPeer client, ReuseConnection reuse, ulong? @ref)
    {
        if (!TryRoute(client, "reuse_connection", reuse.ResourceId, reuse.GatewayId, @ref, out var resource, out var gateway)) return;
        var (v4, v6) = AddressesOf(client.Config);
        Push(gateway, new AllowAccess(client.Config.Id, ToGatewayResource(resource), ExpiresAt: null, reuse.Payload, NewRef(), v4, v6));
        _access.Add((gateway.Config.Id, client.Config.Id, resource.Id));
        BrokerLog.AccessAllowed(_logger, Id(client.Config.Id.Value), Id(resource.Id.Value), resource.Name, Id(gateway.Config.Id.Value));
        Event(new BrokerEvent(BrokerEventKind.AccessAllowed, client.Config.Id.Value, client.Name, gateway.Config.Id.Value, resource.Id.Value, resource.Name));
    }

    /// <summary>The resource (if the client may use it) and the gateway (if online and serving it); else an error reply.</summary>
    private bool TryRoute(ClientPeer client, string @event, ResourceId resourceId, GatewayId gatewayId, ulong? @ref,
        out ResourceConfig resource, out GatewayPeer gateway)
    {
        resource = null!;
        gateway = null!;
        if (AccessibleResource(client, resourceId) is not { } r)
        {
            Refuse(client, @event, resourceId, @ref, "not_found");
            return false;
        }

        if (!_gateways.TryGetValue(gatewayId, out var g) || !r.Sites.Contains(g.Config.Site))
        {
            Refuse(client, @event, resourceId, @ref, "offline");
            return false;
        }

        resource = r;
        gateway = g;
        return true;
    }

    private ResourceConfig? AccessibleResource(ClientPeer client, ResourceId id) => Config.ResourcesOf(client.Config).FirstOrDefault(r => r.Id == id);

    private void Refuse(ClientPeer client, string @event, ResourceId resource, ulong? @ref, string reason)
    {
        BrokerLog.Refused(_logger, Id(client.Config.Id.Value), @event, Id(resource.Value), reason);
        Reply(client.Session, client.Topic, @ref, error: reason);
    }
}
