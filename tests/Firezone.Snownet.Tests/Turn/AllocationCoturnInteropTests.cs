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
            RelaySocket.FromV4(coturn.Listen), CoturnProcess.Username, CoturnProcess.Password, CoturnProcess.Realm, "snownet; session=TEST", RealSocketDriver.Now, log);
        var received = new List<(System.Net.IPEndPoint Peer, System.Net.IPEndPoint Relayed, byte[] Payload)>();
        RealSocketDriver.Pump(allocation, log, client, received, () => allocation.HasAllocation, () => coturn.Log);

        Thread.Sleep(TimeSpan.FromSeconds(2.5));
        allocation.Refresh(RealSocketDriver.Now);
        RealSocketDriver.Pump(allocation, log, client, received, () => allocation.InFlightCount == 0, () => coturn.Log);
        Assert.Contains("Refresh failed with error 438", log.ToString());
        Assert.True(allocation.HasAllocation, log.ToString());
        Assert.Null(allocation.CanBeFreed());
    }
}
