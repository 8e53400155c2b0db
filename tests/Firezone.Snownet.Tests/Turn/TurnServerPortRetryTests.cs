using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// A port already taken by another process (the default range overlaps Linux's ephemeral ports): the host reports the
/// failed bind right after polling the CreateAllocation, the allocation moves to another port and the Allocate success,
/// built when polled, names the port finally used. Upstream's binary exits instead (relay.md §2).
/// </summary>
public class TurnServerPortRetryTests
{
    private static readonly IPAddress Relay4 = IPAddress.Parse("203.0.113.10");
    private static readonly IPAddress Relay6 = IPAddress.Parse("2001:db8::10");
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("198.51.100.7"), 40000);
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.20"), 51820);

    private static byte[] AllocateRequest(RelayTestClient c, bool dual = false) =>
        c.Request(StunMethod.Allocate, (ref StunMessageBuilder b) =>
        {
            b.AddRequestedTransport();
            if (dual)
            {
                b.AddAdditionalAddressFamily(StunAddressFamily.IPv6);
            }
        });

    private static TurnServerCommand Poll(TurnServer server)
    {
        Assert.True(server.TryPollCommand(out var command));
        return command;
    }

    [Fact]
    public void Taken_port_is_retried_on_another_port()
    {
        var server = ZeroServer(Relay4); // the zero RNG draws 49152 first
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(c), ClientAddress, Start, Wall(Start)));
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetwork);
        server.HandleAllocationFailed(49152, AddressFamily.InterNetwork, portInUse: true, Start);

        var rest = Drain(server);
        Assert.Equal(2, rest.Count);
        AssertCreate(rest[0], 49153, AddressFamily.InterNetwork);
        c.AssertSuccess(rest[1]);
        Assert.Equal(49153, RelayTestClient.RelayedPort(rest[1]));
        Assert.Equal(1, server.AllocationCount);
        Assert.Equal(1, server.BusyPortCount);
        Assert.Equal(Start + TurnServer.BusyPortHold, server.PollTimeout());

        // The allocation lives on the new port.
        c.AssertSuccess(c.ChannelBind(Start, 0x4000, Peer));
        Assert.Equal(49153, server.HandleClientInput(ChannelData.Encode(0x4000, [1]), ClientAddress, Start, Wall(Start))!.Value.AllocationPort);
        Assert.NotNull(server.HandlePeerTraffic([1], Peer, 49153, Start));
        Assert.Null(server.HandlePeerTraffic([1], Peer, 49152, Start));

        // The busy mark lapses after 60 s; the next allocation may draw 49152 again.
        server.HandleTimeout(Start + TurnServer.BusyPortHold);
        Assert.Equal(0, server.BusyPortCount);
        var other = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 40001));
        Assert.Equal(49152, other.Allocate(Start + TurnServer.BusyPortHold));
    }

    [Fact]
    public void Dual_stack_ipv6_bind_failing_after_ipv4_succeeded_frees_ipv4_and_moves_both()
    {
        var server = ZeroServer(Relay4, Relay6);
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(c, dual: true), ClientAddress, Start, Wall(Start)));
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetwork);   // bound fine
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetworkV6); // taken
        server.HandleAllocationFailed(49152, AddressFamily.InterNetworkV6, portInUse: true, Start);

        var rest = Drain(server);
        Assert.Equal(4, rest.Count);
        AssertFree(rest[0], 49152, AddressFamily.InterNetwork);
        AssertCreate(rest[1], 49153, AddressFamily.InterNetwork);
        AssertCreate(rest[2], 49153, AddressFamily.InterNetworkV6);
        c.AssertSuccess(rest[3]);
        Assert.True(StunMessage.TryParse(rest[3].Payload, out var success, out _));
        Assert.True(success.TryGetXorRelayedAddress(AddressFamily.InterNetwork, out var v4));
        Assert.True(success.TryGetXorRelayedAddress(AddressFamily.InterNetworkV6, out var v6));
        Assert.Equal((49153, 49153), (v4.Port, v6.Port));
    }

    [Fact]
    public void Ipv4_failing_in_dual_stack_voids_the_queued_ipv6_create_of_that_port()
    {
        var server = ZeroServer(Relay4, Relay6);
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(c, dual: true), ClientAddress, Start, Wall(Start)));
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetwork);
        server.HandleAllocationFailed(49152, AddressFamily.InterNetwork, portInUse: true, Start);

        var rest = Drain(server);
        Assert.Equal(3, rest.Count); // no Free (nothing was opened), no Create(49152, IPv6)
        AssertCreate(rest[0], 49153, AddressFamily.InterNetwork);
        AssertCreate(rest[1], 49153, AddressFamily.InterNetworkV6);
        c.AssertSuccess(rest[2]);
    }

    [Fact]
    public void Sixteen_taken_ports_answer_508()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(c), ClientAddress, Start, Wall(Start)));
        for (int attempt = 0; attempt < 16; attempt++)
        {
            var create = Poll(server);
            AssertCreate(create, 49152 + attempt, AddressFamily.InterNetwork);
            server.HandleAllocationFailed(create.Port, create.Family, portInUse: true, Start);
        }

        var response = Assert.Single(Drain(server));
        c.AssertError(response, 508);
        Assert.Equal(("allocate", 508), (response.MessageType, response.ErrorCode));
        Assert.Equal(0, server.AllocationCount);
        Assert.Equal(16, server.BusyPortCount);
        server.HandleTimeout(Start + TurnServer.BusyPortHold);
        Assert.Equal(0, server.BusyPortCount);
        Assert.Null(server.PollTimeout());
    }

    [Fact]
    public void Bind_failure_that_is_not_port_in_use_answers_508_and_frees_what_was_opened()
    {
        var server = ZeroServer(Relay4, Relay6);
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(c, dual: true), ClientAddress, Start, Wall(Start)));
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetwork);
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetworkV6);
        server.HandleAllocationFailed(49152, AddressFamily.InterNetworkV6, portInUse: false, Start);

        var rest = Drain(server);
        Assert.Equal(2, rest.Count);
        AssertFree(rest[0], 49152, AddressFamily.InterNetwork);
        c.AssertError(rest[1], 508);
        Assert.Equal((0, 0), (server.AllocationCount, server.BusyPortCount));
    }

    [Fact]
    public void Busy_ports_are_tried_again_only_when_no_free_port_is_left()
    {
        var server = ZeroServer(Relay4, lowest: 50000, highest: 50002);
        var a = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(a), ClientAddress, Start, Wall(Start)));
        server.HandleAllocationFailed(Poll(server).Port, AddressFamily.InterNetwork, portInUse: true, Start);
        var moved = Drain(server);
        AssertCreate(moved[0], 50001, AddressFamily.InterNetwork);
        a.AssertSuccess(moved[1]);

        // A free port (50002) is drawn before the busy one.
        var b = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 40001));
        var bCommands = b.Send(AllocateRequest(b), Start);
        AssertCreate(bCommands[0], 50002, AddressFamily.InterNetwork);
        b.AssertSuccess(bCommands[1]);

        // Only the busy port is left: it is tried again (the other program may have let it go) and now binds.
        var later = Start + TimeSpan.FromSeconds(5);
        var c = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 40002));
        var cCommands = c.Send(AllocateRequest(c), later);
        AssertCreate(cCommands[0], 50000, AddressFamily.InterNetwork);
        c.AssertSuccess(cCommands[1]);
        Assert.Equal(3, server.AllocationCount);
    }

    [Fact]
    public void A_busy_port_taken_again_is_not_retried_by_the_same_allocate()
    {
        var server = ZeroServer(Relay4, lowest: 50000, highest: 50001);
        var a = new RelayTestClient(server, ClientAddress);
        Assert.Null(server.HandleClientInput(AllocateRequest(a), ClientAddress, Start, Wall(Start)));
        server.HandleAllocationFailed(Poll(server).Port, AddressFamily.InterNetwork, portInUse: true, Start);
        a.AssertSuccess(Drain(server)[1]); // on 50001; 50000 is busy

        // b: the busy 50000 is tried again, found taken again, and there is nothing else: 508 after one attempt.
        var b = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 40001));
        var later = Start + TimeSpan.FromSeconds(1);
        Assert.Null(server.HandleClientInput(AllocateRequest(b), b.EndPoint, later, Wall(later)));
        var create = Poll(server);
        AssertCreate(create, 50000, AddressFamily.InterNetwork);
        server.HandleAllocationFailed(create.Port, create.Family, portInUse: true, later);
        b.AssertError(Assert.Single(Drain(server)), 508);
        Assert.Equal(1, server.AllocationCount);

        // Later, c tries the busy port again (marked before its Allocate) and it binds; then the range is full: 508 at once.
        var c = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 40002));
        var d = new RelayTestClient(server, new IPEndPoint(ClientAddress.Address, 40003));
        var cCommands = c.Send(AllocateRequest(c), later + TimeSpan.FromSeconds(1));
        AssertCreate(cCommands[0], 50000, AddressFamily.InterNetwork);
        c.AssertSuccess(cCommands[1]);
        d.AssertError(Assert.Single(d.Send(AllocateRequest(d), later + TimeSpan.FromSeconds(1))), 508);
    }

    [Fact]
    public void Channel_bound_before_the_move_follows_the_allocation()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        // A pipelining client: Allocate and ChannelBind read in one batch, before the host drains the commands.
        Assert.Null(server.HandleClientInput(AllocateRequest(c), ClientAddress, Start, Wall(Start)));
        Assert.Null(server.HandleClientInput(c.Request(StunMethod.ChannelBind, (ref StunMessageBuilder b) =>
        {
            b.AddChannelNumber(0x4000);
            b.AddXorPeerAddress(Peer);
        }), ClientAddress, Start, Wall(Start)));
        server.HandleAllocationFailed(Poll(server).Port, AddressFamily.InterNetwork, portInUse: true, Start);
        var rest = Drain(server);
        Assert.Equal(3, rest.Count);
        AssertCreate(rest[0], 49153, AddressFamily.InterNetwork);
        Assert.Equal(49153, RelayTestClient.RelayedPort(rest[1]));
        c.AssertSuccess(rest[2]);

        Assert.Equal(49153, server.HandleClientInput(ChannelData.Encode(0x4000, [1]), ClientAddress, Start, Wall(Start))!.Value.AllocationPort);
        Assert.NotNull(server.HandlePeerTraffic([1], Peer, 49153, Start));
        Assert.Null(server.HandlePeerTraffic([1], Peer, 49152, Start));
        Assert.Equal(1, server.Forwarder.ClientRouteCount);
    }

    [Fact]
    public void Failure_reports_for_sockets_never_handed_out_are_ignored()
    {
        var server = ZeroServer(Relay4, Relay6);
        var c = new RelayTestClient(server, ClientAddress);
        server.HandleAllocationFailed(49152, AddressFamily.InterNetwork, portInUse: true, Start); // no allocation at all
        Assert.Null(server.HandleClientInput(AllocateRequest(c), ClientAddress, Start, Wall(Start)));
        server.HandleAllocationFailed(49152, AddressFamily.InterNetwork, portInUse: true, Start);   // not polled yet
        AssertCreate(Poll(server), 49152, AddressFamily.InterNetwork);
        server.HandleAllocationFailed(49152, AddressFamily.InterNetworkV6, portInUse: true, Start); // a family it does not have
        server.HandleAllocationFailed(49152, AddressFamily.Unix, portInUse: true, Start);
        c.AssertSuccess(Assert.Single(Drain(server)));
        Assert.Equal((1, 0), (server.AllocationCount, server.BusyPortCount));
    }

    [Fact]
    public void Failure_after_the_success_left_deletes_the_allocation_without_a_second_response()
    {
        var server = ZeroServer(Relay4);
        var c = new RelayTestClient(server, ClientAddress);
        Assert.Equal(49152, c.Allocate(Start)); // host polled Create and the success (contract broken)
        server.HandleAllocationFailed(49152, AddressFamily.InterNetwork, portInUse: true, Start);
        Assert.Empty(Drain(server));
        Assert.Equal(0, server.AllocationCount);
    }
}
