using System.Net;

namespace Firezone.Testing.Tests;

/// <summary>The simulated internet's addressing rules (tunnel spec §9.6: stale addresses) and delivery model.</summary>
public class SimInternetTests
{
    private static readonly IPEndPoint A = new(IPAddress.Parse("198.18.0.1"), 1000);
    private static readonly IPEndPoint B = new(IPAddress.Parse("198.18.0.2"), 2000);

    private static SimInternet Net() => new(1, 0, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5));

    [Fact]
    public void A_removed_actors_ips_become_stale_drop_traffic_and_are_never_reused_spec_9_6()
    {
        var net = Net();
        net.AddHost(1, A, null);
        net.AddHost(2, B, null);
        net.RemoveActor(2);
        Assert.True(net.IsStale(B.Address));
        net.Send(1, A, B, [1, 2, 3], TimeSpan.Zero);
        Assert.Equal(1, net.DroppedStale);
        Assert.Null(net.NextDelivery);
        Assert.Throws<InvalidOperationException>(() => net.AddHost(3, new IPEndPoint(B.Address, 3000), null));
        Assert.Throws<InvalidOperationException>(() => net.AddHost(2, B, null)); // not even by its old owner
    }

    [Fact]
    public void Adding_an_ip_another_actor_has_fails_spec_9_6()
    {
        var net = Net();
        net.AddHost(1, A, null);
        Assert.Throws<InvalidOperationException>(() => net.AddHost(2, new IPEndPoint(A.Address, 9), null));
        // the same private IP on another LAN is a different address
        var nat1 = net.AddNat(NatType.FullCone, IPAddress.Parse("198.18.1.1"));
        var nat2 = net.AddNat(NatType.FullCone, IPAddress.Parse("198.18.2.1"));
        var lan = new IPEndPoint(IPAddress.Parse("198.19.0.2"), 5000);
        net.AddHost(3, lan, nat1);
        net.AddHost(4, lan, nat2);
    }

    [Fact]
    public void Closing_a_socket_keeps_the_ip_for_its_actor()
    {
        var net = Net();
        net.AddHost(1, A, null);
        net.RemoveHost(A);
        Assert.False(net.IsStale(A.Address));
        net.AddHost(1, new IPEndPoint(A.Address, 1001), null);
    }

    [Fact]
    public void Datagrams_arrive_once_after_the_delay_with_the_senders_address()
    {
        var net = Net();
        net.AddHost(1, A, null);
        net.AddHost(2, B, null);
        net.Send(1, A, B, [7], TimeSpan.FromSeconds(1));
        Assert.False(net.TryDeliver(TimeSpan.FromSeconds(1), out _));
        Assert.True(net.TryDeliver(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(5), out var d));
        Assert.Equal((2, A, B), (d.Actor, d.From, d.Local));
        Assert.Equal([7], d.Payload);
        Assert.False(net.TryDeliver(TimeSpan.FromSeconds(10), out _));
    }
}
