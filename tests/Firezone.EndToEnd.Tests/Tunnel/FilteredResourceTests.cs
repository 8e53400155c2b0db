namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 2, refused traffic, in <see cref="TunnelTopology"/>, direct and relayed: a CIDR resource whose filters allow only TCP 80
/// (198.18.201.0/24, an address of the resource host). The kernel's ping in the client's namespace gets nothing
/// through and receives the gateway's ICMP "administratively prohibited" (our deliberate difference from upstream,
/// which drops silently); a resource the policy allows still answers.
/// </summary>
public sealed class FilteredResourceTests
{
    [Theory]
    [InlineData("direct")]
    [InlineData("relayed")]
    public async Task Pings_a_resources_filters_refuse_get_icmp_prohibited_through_real_tun_devices(string path)
    {
        TunnelTopology.SkipUnlessAvailable();
        await using var net = await TunnelTopology.StartAsync(new()
        {
            Resources = """
                [{ "type": "cidr", "name": "lab hosts", "address": "198.18.200.0/24", "sites": ["lab"] },
                 { "type": "cidr", "name": "web only", "address": "198.18.201.0/24", "sites": ["lab"],
                   "filters": [{ "protocol": "tcp", "port_range_start": 80, "port_range_end": 80 }] }]
                """,
        });
        if (path == "relayed")
        {
            net.BlockDirect();
        }

        net.Resource.IpIn("addr add 198.18.201.10/32 dev lo"); // answers ping if anything lets it through
        net.Gateway.IpIn($"route add 198.18.201.0/24 via {TunnelTopology.ResourceHost}");
        Assert.Equal(0, TunnelTopology.Run(net.Gateway, "ping", "-c", "1", "-W", "2", "198.18.201.10").ExitCode); // reachable from the gateway itself
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(30)), net.ToString());

        string refused = "";
        for (int attempt = 0; attempt < 10 && !Refused(refused); attempt++)
        {
            // The first packets set up access to the resource (dropped, as upstream); then the gateway's filter answers.
            var (_, output) = TunnelTopology.Run(net.Client, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "1", "198.18.201.10");
            Assert.DoesNotContain("bytes from 198.18.201.10", output, StringComparison.Ordinal); // nothing passes
            refused = output;
        }

        Assert.True(Refused(refused), "no ICMP prohibited answer:\n" + refused + "\n" + net);
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(5)), "the allowed resource stopped answering:\n" + net);
    }

    /// <summary>iputils' words for ICMP type 3 code 13: "Packet filtered" (or "Prohibited" for the host/net codes).</summary>
    private static bool Refused(string pingOutput) =>
        pingOutput.Contains("Packet filtered", StringComparison.OrdinalIgnoreCase) || pingOutput.Contains("Prohibited", StringComparison.OrdinalIgnoreCase);
}
