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
}
