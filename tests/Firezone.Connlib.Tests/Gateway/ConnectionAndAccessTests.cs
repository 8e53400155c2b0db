using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>Tunnel spec §5.2 (creating connections and granting access), with a real Snownet client over an in-memory link.</summary>
public sealed class ConnectionAndAccessTests
{
    private static readonly ResourceId Cidr = new(Guid.Parse("00000000-0000-0000-0000-0000000000c1"));
    private static readonly ResourceId Cidr2 = new(Guid.Parse("00000000-0000-0000-0000-0000000000c2"));
    private static readonly IPAddress Host = IPAddress.Parse("198.18.5.7");

    private static GatewayCidrResource CidrResource(ResourceId id, params Filter[] filters) =>
        new(id, IPNetwork.Parse("198.18.0.0/16"), "cidr", filters);

    [Fact]
    public void Accept_answers_the_deprecated_offer_and_the_connection_comes_up()
    {
        using var h = GatewayHarness.Connect(seed: 41);
        Assert.True(h.ClientEstablished);
        h.Allow(CidrResource(Cidr));
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status);
    }

    [Fact]
    public void Accept_without_turn_relays_throws_no_turn_servers_so_the_host_reconnects_to_the_portal()
    {
        var seed = new byte[32];
        seed[0] = 1;
        using var client = new ClientNode(seed, TimeSpan.Zero, DateTimeOffset.UnixEpoch);
        client.UpdateRelays([], [new TurnRelay(new RelayId(Guid.NewGuid()), new IPEndPoint(IPAddress.Parse("198.18.3.1"), 3478), null, "u", "p")], TimeSpan.Zero);
        var offer = client.NewConnection(new ConnectionId(Guid.NewGuid()), TimeSpan.Zero, TimeSpan.Zero);
        seed[0] = 2;
        using var gateway = new GatewayState(seed, TimeSpan.Zero, DateTimeOffset.UnixEpoch);
        Assert.Throws<NoTurnServersException>(() => gateway.Accept(GatewayHarness.ClientId, offer, client.PublicKey.Span, TimeSpan.Zero));
    }

    [Fact]
    public void Authorize_flow_upserts_the_connection_with_portal_ice_credentials_then_allows_access_without_nat()
    {
        using var h = GatewayHarness.ConnectWithAuthorizeFlow(CidrResource(Cidr, Filter.Udp(53, 53)), seed: 42);
        Assert.True(h.ClientEstablished);
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status);
        Assert.Empty(h.Gateway.PeerOf(GatewayHarness.ClientId)!.Translations);
    }

    [Fact]
    public void Authorize_flow_with_identical_credentials_again_keeps_the_connection_and_adds_the_resource()
    {
        var psk = new byte[32];
        new Random(43).NextBytes(psk);
        using var h = GatewayHarness.ConnectWithAuthorizeFlow(CidrResource(Cidr, Filter.Udp(53, 53)), seed: 43);
        var clientIce = new Credentials("cccc", "cccccccccccccccccccccc");
        var gatewayIce = new Credentials("gggg", "gggggggggggggggggggggg");
        var second = new GatewayCidrResource(Cidr2, IPNetwork.Parse("198.19.0.0/16"), "c2", []);
        h.Gateway.AuthorizeFlow(GatewayHarness.ClientId, h.Client.PublicKey.Span, psk, clientIce, gatewayIce,
            GatewayHarness.ClientV4, GatewayHarness.ClientV6, null, second, h.Now);
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(IPAddress.Parse("198.19.1.1"), 9)).Result.Status);
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status); // same session: no re-handshake needed
    }

    [Fact]
    public void Allow_access_creates_the_peer_with_its_tunnel_addresses_and_indexes_its_32_and_128()
    {
        using var h = GatewayHarness.Connect(seed: 44);
        Assert.Null(h.Gateway.PeerOf(GatewayHarness.ClientId));
        h.Allow(CidrResource(Cidr));
        var peer = h.Gateway.PeerOf(GatewayHarness.ClientId)!;
        Assert.Equal((GatewayHarness.ClientV4, GatewayHarness.ClientV6), (peer.IPv4, peer.IPv6));
        Assert.Equal(
            new[] { new IPNetwork(GatewayHarness.ClientV4, 32), new IPNetwork(GatewayHarness.ClientV6, 128) }.ToHashSet(),
            h.Gateway.Peers.PrefixesOf(GatewayHarness.ClientId).ToHashSet());
        Assert.Equal(1, h.Gateway.ClientCount);
    }

    [Fact]
    public void Remove_access_removes_the_resource_and_the_peer_when_it_has_none_left_but_the_connection_stays()
    {
        using var h = GatewayHarness.Connect(seed: 45);
        h.Allow(CidrResource(Cidr));
        h.Allow(new GatewayCidrResource(Cidr2, IPNetwork.Parse("198.19.0.0/16"), "c2", []));
        h.Gateway.RemoveAccess(GatewayHarness.ClientId, Cidr);
        Assert.Equal(GatewayPacketError.DestinationNotAllowed, h.Send(FilterTests.Udp(Host, 53)).Result.Error);
        Assert.NotNull(h.Gateway.PeerOf(GatewayHarness.ClientId));

        h.Gateway.RemoveAccess(GatewayHarness.ClientId, Cidr2);
        Assert.Null(h.Gateway.PeerOf(GatewayHarness.ClientId));
        Assert.Equal(GatewayPacketError.UnknownClient, h.Send(FilterTests.Udp(Host, 53)).Result.Error);
        Assert.True(h.Gateway.InnerNode.TryGetConnectionId(h.Client.PublicKey.Span, out _)); // connection left alone

        h.Allow(CidrResource(Cidr)); // a later grant works over the same connection
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status);
    }

    [Fact]
    public void Remove_access_of_an_unknown_client_or_resource_is_a_no_op()
    {
        using var h = GatewayHarness.Connect(seed: 46);
        h.Gateway.RemoveAccess(new ClientId(Guid.NewGuid()), Cidr);
        h.Allow(CidrResource(Cidr));
        h.Gateway.RemoveAccess(GatewayHarness.ClientId, Cidr2);
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status);
    }

    [Fact]
    public void Update_resource_replaces_the_filters_of_every_client_holding_it_and_leaves_others_alone()
    {
        using var h = GatewayHarness.Connect(seed: 47);
        var other = new ClientId(Guid.Parse("00000000-0000-0000-0000-0000000000b2"));
        var third = new ClientId(Guid.Parse("00000000-0000-0000-0000-0000000000b3"));
        h.Allow(CidrResource(Cidr, Filter.Tcp(22, 22)));
        h.Gateway.AllowAccess(other, IPAddress.Parse("100.64.0.2"), IPAddress.Parse("fd00:2021:1111::2"), null, CidrResource(Cidr, Filter.Tcp(22, 22)), null, h.Now);
        h.Gateway.AllowAccess(third, IPAddress.Parse("100.64.0.3"), IPAddress.Parse("fd00:2021:1111::3"), null, CidrResource(Cidr2, Filter.Tcp(22, 22)), null, h.Now);

        h.Gateway.UpdateResource(CidrResource(Cidr, Filter.Udp(53, 53)));

        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status);
        var udp = FilterTests.Udp(Host, 53, IPAddress.Parse("100.64.0.2"));
        Assert.True(FilterTests.Allowed(h.Gateway.PeerOf(other)!, udp));
        Assert.False(FilterTests.Allowed(h.Gateway.PeerOf(third)!, FilterTests.Udp(Host, 53, IPAddress.Parse("100.64.0.3"))));
    }

    [Fact]
    public void Update_resource_never_changes_addresses()
    {
        using var h = GatewayHarness.Connect(seed: 48);
        h.Allow(CidrResource(Cidr));
        h.Gateway.UpdateResource(new GatewayCidrResource(Cidr, IPNetwork.Parse("198.19.0.0/16"), "moved", []));
        Assert.Equal(NetworkInputStatus.Packet, h.Send(FilterTests.Udp(Host, 53)).Result.Status);
        Assert.Equal(GatewayPacketError.DestinationNotAllowed, h.Send(FilterTests.Udp(IPAddress.Parse("198.19.1.1"), 53)).Result.Error);
    }

    [Fact]
    public void Cleanup_connection_removes_the_peer()
    {
        using var h = GatewayHarness.Connect(seed: 49);
        h.Allow(CidrResource(Cidr));
        h.Gateway.CleanupConnection(GatewayHarness.ClientId);
        Assert.Null(h.Gateway.PeerOf(GatewayHarness.ClientId));
        Assert.Equal(0, h.Gateway.ClientCount);
        Assert.Equal(GatewayPacketError.UnknownClient, h.Reply(FilterTests.Udp(GatewayHarness.ClientV4, 1, Host)).Result.Error);
    }

    [Fact]
    public void A_second_client_with_its_own_tunnel_addresses_is_routed_by_longest_match()
    {
        using var h = GatewayHarness.Connect(seed: 50);
        var other = new ClientId(Guid.Parse("00000000-0000-0000-0000-0000000000b2"));
        h.Allow(CidrResource(Cidr));
        h.Gateway.AllowAccess(other, IPAddress.Parse("100.64.0.2"), IPAddress.Parse("fd00:2021:1111::2"), null, CidrResource(Cidr), null, h.Now);
        Assert.Equal(GatewayHarness.ClientId, h.Reply(FilterTests.Udp(GatewayHarness.ClientV4, 1, Host)).Result.Client);
        var toOther = h.Gateway.HandleTunInput(FilterTests.Udp(IPAddress.Parse("100.64.0.2"), 1, Host), new byte[Node.BufferSize], h.Now);
        Assert.Equal(other, toOther.Client); // no connection for it: the node reports an error value, never an exception
    }

    [Fact]
    public void New_local_candidates_are_aggregated_into_one_added_ice_candidates_event_per_client()
    {
        using var h = GatewayHarness.Connect(seed: 51);
        h.Gateway.AddLocalHostCandidate(new IPEndPoint(IPAddress.Parse("198.18.2.2"), 40003));
        h.Gateway.AddLocalHostCandidate(new IPEndPoint(IPAddress.Parse("198.18.2.3"), 40004));
        h.Gateway.HandleTimeout(h.Now, h.UtcNow);
        var added = new List<AddedIceCandidates>();
        while (h.Gateway.PollEvent() is { } e)
        {
            if (e is AddedIceCandidates a)
            {
                added.Add(a);
            }
        }

        var only = Assert.Single(added);
        Assert.Equal(GatewayHarness.ClientId, only.Client);
        Assert.Equal(2, only.Candidates.Count);
        Assert.Contains(only.Candidates, c => c.Contains("198.18.2.2", StringComparison.Ordinal));
        Assert.Contains(only.Candidates, c => c.Contains("198.18.2.3", StringComparison.Ordinal));
    }
}
