using System.Net;
using Firezone.Connlib.Model;
using Firezone.Connlib.Routing;

namespace Firezone.Connlib.Client;

/// <summary>
/// The client's view of one gateway it has a connection to (tunnel spec §4.1): the "allowed IPs", a prefix table from
/// the networks it may reach through that gateway to the resources that authorised them. Inbound packets must come
/// from inside one of them.
/// </summary>
internal sealed class GatewayOnClient(GatewayId id)
{
    public GatewayId Id { get; } = id;

    public IpPrefixTable<SortedSet<ResourceId>> AllowedIps { get; } = new();

    public void Allow(IPNetwork network, ResourceId resource)
    {
        if (!AllowedIps.TryGetExact(network, out var set))
        {
            set = new SortedSet<ResourceId>();
            AllowedIps.Set(network, set);
        }

        set.Add(resource);
    }

    /// <summary>Removes the resource from every entry and drops entries that became empty.</summary>
    public void Forget(ResourceId resource)
    {
        foreach (var (network, set) in AllowedIps.Entries())
        {
            if (set.Remove(resource) && set.Count == 0)
            {
                AllowedIps.Remove(network);
            }
        }
    }

    public bool HasAllowedIps => AllowedIps.Count > 0;

    public bool IsAllowedExactly(IPAddress address) =>
        AllowedIps.TryGetExact(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128), out _);
}

/// <summary>The gateways used most recently (tunnel spec §4.1: an LRU of 100; the intent sends them as a sorted set).</summary>
internal sealed class RecentGateways(int capacity = 100)
{
    private readonly LinkedList<GatewayId> _order = new();
    private readonly Dictionary<GatewayId, LinkedListNode<GatewayId>> _nodes = new();

    public void Touch(GatewayId id)
    {
        if (_nodes.Remove(id, out var node))
        {
            _order.Remove(node);
        }

        _nodes[id] = _order.AddFirst(id);
        if (_nodes.Count > capacity)
        {
            var last = _order.Last!;
            _order.RemoveLast();
            _nodes.Remove(last.Value);
        }
    }

    public void Clear()
    {
        _order.Clear();
        _nodes.Clear();
    }

    /// <summary>Ascending ids (upstream collects them into an ordered set, so the MRU order is lost — §11.13).</summary>
    public IReadOnlyList<GatewayId> Sorted()
    {
        var list = new List<GatewayId>(_nodes.Keys);
        list.Sort();
        return list;
    }
}
