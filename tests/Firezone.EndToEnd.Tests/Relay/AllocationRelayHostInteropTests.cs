using System.Net;
using Firezone.Snownet.Tests.Turn;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>Our TURN client against our relay host (samples/Firezone.Relay) over real UDP on 127.0.0.1.</summary>
public class AllocationRelayHostInteropTests
{
    private const string Secret = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    [Fact]
    public async Task Allocates_binds_a_channel_and_relays_data_both_ways_through_our_relay_host()
    {
        var port = Loopback.FreeUdpPort();
        var health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(16);
        var arguments = Loopback.RelayHostArguments(port, health, lowest, highest, Secret);
        arguments.AddRange(["--log-format", "json"]);
        await using var relay = await Loopback.StartHealthyRelayAsync(arguments, health);

        var expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        RealSocketDriver.AllocateBindAndRelay(
            RelaySocket.FromV4(new IPEndPoint(IPAddress.Loopback, port)),
            FirezoneCredentials.MakeUsername(expiry, "clientTest"),
            FirezoneCredentials.ComputePassword(Secret, expiry, "clientTest"),
            FirezoneCredentials.Realm,
            () => relay.Output);
    }
}
