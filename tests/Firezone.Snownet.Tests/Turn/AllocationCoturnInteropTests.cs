using Firezone.Snownet.Turn;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// Our TURN client against a standard TURN server: coturn on 127.0.0.1 (started by the test) sends unsigned 401
/// challenges, which upstream snownet would ignore.
/// </summary>
public class AllocationCoturnInteropTests
{
    [Fact]
    public void Allocates_binds_a_channel_and_relays_data_both_ways_through_coturn()
    {
        var binary = CoturnProcess.FindBinary();
        Assert.SkipUnless(binary is not null, "coturn's turnserver is not installed (apt-get install coturn)");
        using var coturn = CoturnProcess.Start(binary!);
        RealSocketDriver.AllocateBindAndRelay(
            RelaySocket.FromV4(coturn.Listen), CoturnProcess.Username, CoturnProcess.Password, CoturnProcess.Realm, () => coturn.Log);
    }

    [Fact]
    public void Stale_nonce_438_from_coturn_is_retried_with_the_fresh_nonce()
    {
        var binary = CoturnProcess.FindBinary();
        Assert.SkipUnless(binary is not null, "coturn's turnserver is not installed (apt-get install coturn)");
        using var coturn = CoturnProcess.Start(binary!, "--stale-nonce=1");
        using var client = RealSocketDriver.NewLoopbackSocket();
        var log = new ListLogger();
        var allocation = new Allocation(
            RelaySocket.FromV4(coturn.Listen), CoturnProcess.Username, CoturnProcess.Password, CoturnProcess.Realm, "snownet; session=TEST", RealSocketDriver.Now, Firezone.Snownet.SansIo.RandomSource.Secure, log);
        var received = new List<(System.Net.IPEndPoint Peer, System.Net.IPEndPoint Relayed, byte[] Payload)>();
        RealSocketDriver.Pump(allocation, log, client, received, () => allocation.HasAllocation, () => coturn.Log);

        Thread.Sleep(TimeSpan.FromSeconds(2.5));
        allocation.Refresh(RealSocketDriver.Now);
        RealSocketDriver.Pump(allocation, log, client, received, () => allocation.InFlightCount == 0, () => coturn.Log);
        Assert.Contains("Refresh failed with error 438", log.ToString());
        Assert.True(allocation.HasAllocation, log.ToString());
        Assert.Null(allocation.CanBeFreed());
    }

    [Fact]
    public void Dual_stack_relay_socket_against_coturn_reports_both_srflx_candidates_and_allocates()
    {
        var binary = CoturnProcess.FindBinary();
        Assert.SkipUnless(binary is not null, "coturn's turnserver is not installed (apt-get install coturn)");
        Assert.SkipUnless(CoturnProcess.HasIPv6Loopback(), "no IPv6 loopback (::1) on this host");
        using var coturn = CoturnProcess.Start(binary!, dualStack: true);
        using var v4 = RealSocketDriver.NewLoopbackSocket();
        using var v6 = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        v6.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 0));
        var log = new ListLogger();
        var allocation = new Allocation(
            RelaySocket.Dual(coturn.Listen, coturn.ListenV6), CoturnProcess.Username, CoturnProcess.Password, CoturnProcess.Realm, "snownet; session=TEST", RealSocketDriver.Now, Firezone.Snownet.SansIo.RandomSource.Secure, log);

        RealSocketDriver.PumpDual(allocation, log, v4, v6, () => allocation.HasAllocation && allocation.ServerReflexiveV4 is not null && allocation.ServerReflexiveV6 is not null, () => coturn.Log);
        Assert.Equal(v4.LocalEndPoint, allocation.ServerReflexiveV4!.Value.Address);
        Assert.Equal(v6.LocalEndPoint, allocation.ServerReflexiveV6!.Value.Address);
        Assert.True(allocation.ActiveSocket!.Equals(coturn.Listen) || allocation.ActiveSocket.Equals(coturn.ListenV6));

        // coturn 4.6 ignores ADDITIONAL-ADDRESS-FAMILY and relays IPv4 only: no channel to an IPv6 peer is attempted.
        Assert.NotNull(allocation.RelayedV4);
        Assert.Null(allocation.RelayedV6);
        allocation.BindChannel(System.Net.IPEndPoint.Parse("[::1]:9"), RealSocketDriver.Now);
        Assert.Null(allocation.PollTransmit());
    }
}
