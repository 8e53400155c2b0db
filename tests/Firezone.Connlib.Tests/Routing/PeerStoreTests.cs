using System.Net;
using Firezone.Connlib.Model;
using Firezone.Connlib.Routing;

namespace Firezone.Connlib.Tests.Routing;

/// <summary>Tunnel spec §8 (peer store semantics) and upstream peer_store.rs' tests.</summary>
public sealed class PeerStoreTests
{
    private sealed record Peer(string Name);

    private static readonly ClientId A = new(Guid.Parse("00000000-0000-0000-0000-00000000000a"));
    private static readonly ClientId B = new(Guid.Parse("00000000-0000-0000-0000-00000000000b"));

    private static IPNetwork Net(string s) => IPNetwork.Parse(s);

    [Fact]
    public void Can_insert_and_retrieve_peer_by_id_and_by_ip()
    {
        var store = new PeerStore<ClientId, Peer>();
        var peer = new Peer("a");
        Assert.Null(store.Insert(A, peer, [Net("100.64.0.1/32")]));
        Assert.True(store.TryGet(A, out var byId));
        Assert.Same(peer, byId);
        Assert.True(store.TryGetByAddress(IPAddress.Parse("100.64.0.1"), out var byIp));
        Assert.Same(peer, byIp);
        Assert.False(store.TryGetByAddress(IPAddress.Parse("100.64.0.2"), out _));
    }

    [Fact]
    public void Can_get_peer_by_ip_inside_its_network()
    {
        var store = new PeerStore<ClientId, Peer>();
        store.Insert(A, new Peer("a"), [Net("198.18.1.0/24")]);
        Assert.True(store.TryGetByAddress(IPAddress.Parse("198.18.1.77"), out var p));
        Assert.Equal("a", p.Name);
        Assert.True(store.TryGetByAddress(IPAddress.Parse("198.18.1.77").GetAddressBytes(), out _)); // span overload
    }

    [Fact]
    public void Removing_a_peer_clears_its_ip_lookups()
    {
        var store = new PeerStore<ClientId, Peer>();
        store.Insert(A, new Peer("a"), [Net("100.64.0.1/32"), Net("fd00:2021:1111::1/128")]);
        Assert.NotNull(store.Remove(A));
        Assert.False(store.TryGetByAddress(IPAddress.Parse("100.64.0.1"), out _));
        Assert.False(store.TryGetByAddress(IPAddress.Parse("fd00:2021:1111::1"), out _));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Reinserting_an_id_drops_its_old_prefixes()
    {
        var store = new PeerStore<ClientId, Peer>();
        store.Insert(A, new Peer("old"), [Net("100.64.0.1/32")]);
        var old = store.Insert(A, new Peer("new"), [Net("100.64.0.2/32")]);
        Assert.Equal("old", old!.Name);
        Assert.False(store.TryGetByAddress(IPAddress.Parse("100.64.0.1"), out _));
        Assert.True(store.TryGetByAddress(IPAddress.Parse("100.64.0.2"), out var p));
        Assert.Equal("new", p.Name);
    }

    [Fact]
    public void Adding_a_prefix_needs_an_existing_peer_and_takes_it_from_its_previous_owner()
    {
        var store = new PeerStore<ClientId, Peer>();
        Assert.False(store.AddPrefix(A, Net("100.64.0.1/32")));
        store.Insert(A, new Peer("a"), [Net("100.64.0.1/32")]);
        store.Insert(B, new Peer("b"), []);
        Assert.True(store.AddPrefix(B, Net("100.64.0.1/32")));
        Assert.True(store.TryGetByAddress(IPAddress.Parse("100.64.0.1"), out var p));
        Assert.Equal("b", p.Name);
        Assert.DoesNotContain(Net("100.64.0.1/32"), store.PrefixesOf(A));
        store.Remove(A); // must not take B's prefix with it
        Assert.True(store.TryGetByAddress(IPAddress.Parse("100.64.0.1"), out _));
    }

    [Fact]
    public void Longest_prefix_wins_between_peers()
    {
        var store = new PeerStore<ClientId, Peer>();
        store.Insert(A, new Peer("a"), [Net("198.18.0.0/16")]);
        store.Insert(B, new Peer("b"), [Net("198.18.1.0/24")]);
        store.TryGetByAddress(IPAddress.Parse("198.18.1.1"), out var inner);
        store.TryGetByAddress(IPAddress.Parse("198.18.2.1"), out var outer);
        Assert.Equal(("b", "a"), (inner.Name, outer.Name));
    }

    [Fact]
    public void Retain_removes_peers_and_their_dangling_prefixes_and_ids_iterate_in_order()
    {
        var store = new PeerStore<ClientId, Peer>();
        store.Insert(B, new Peer("b"), [Net("100.64.0.2/32")]);
        store.Insert(A, new Peer("a"), [Net("100.64.0.1/32")]);
        Assert.Equal([A, B], store.Ids);
        Assert.Equal(1, store.Retain((id, _) => id == B));
        Assert.False(store.TryGetByAddress(IPAddress.Parse("100.64.0.1"), out _));
        Assert.True(store.TryGetByAddress(IPAddress.Parse("100.64.0.2"), out _));
        Assert.Equal([B], store.Ids);
    }
}
