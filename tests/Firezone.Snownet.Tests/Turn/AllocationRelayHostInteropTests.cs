using System.Net;
using Firezone.Snownet.Tests.Interop;
using Firezone.Snownet.Turn;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>Our TURN client against our relay host (samples/Firezone.Relay) over real UDP on 127.0.0.1.</summary>
public class AllocationRelayHostInteropTests
{
    private const string Secret = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    [Fact]
    public async Task Allocates_binds_a_channel_and_relays_data_both_ways_through_our_relay_host()
    {
        var host = Loopback.FindRelayHost();
        Assert.SkipWhen(host is null, "samples/Firezone.Relay is not built (build the solution first)");
        var port = Loopback.FreeUdpPort();
        var health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(16);
        await using var relay = ExternalProcess.Start("dotnet",
        [
            host!, "--public-ip4-addr", "127.0.0.1", "--listen-address", "127.0.0.1", "--listen-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lowest-port", lowest.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--highest-port", highest.ToString(System.Globalization.CultureInfo.InvariantCulture), "--stamp-secret", Secret,
            "--health-check-addr", $"127.0.0.1:{health}", "--log-format", "json",
        ]);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) })
        {
            var healthy = false;
            for (var i = 0; i < 100 && !healthy; i++)
            {
                Assert.False(relay.HasExited, $"relay exited early:\n{relay.Output}");
                try
                {
                    healthy = (await http.GetAsync($"http://127.0.0.1:{health}/healthz", TestContext.Current.CancellationToken)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                }

                if (!healthy)
                {
                    await Task.Delay(100, TestContext.Current.CancellationToken);
                }
            }

            Assert.True(healthy, $"relay did not become healthy:\n{relay.Output}");
        }

        var expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        RealSocketDriver.AllocateBindAndRelay(
            RelaySocket.FromV4(new IPEndPoint(IPAddress.Loopback, port)),
            FirezoneCredentials.MakeUsername(expiry, "clientTest"),
            FirezoneCredentials.ComputePassword(Secret, expiry, "clientTest"),
            FirezoneCredentials.Realm,
            () => relay.Output);
    }
}
