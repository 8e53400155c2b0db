namespace Firezone.EndToEnd.Tests.Tunnel;

/// <summary>
/// Issue 14 point 2, the internet resource, in <see cref="TunnelTopology"/>: with it (and the lab CIDR resource) the
/// client routes everything into the tunnel, so 198.18.250.1 — in no CIDR resource, reachable only beyond the gateway —
/// answers ping and serves a 10 MB download, directly and relayed; the hosts' own portal and relay connections stay
/// outside the tunnel (their sockets carry the Firezone mark).
/// </summary>
public sealed class InternetResourceTests
{
    [Theory]
    [InlineData("direct")]
    [InlineData("relayed")]
    public async Task An_address_outside_every_cidr_resource_answers_and_serves_through_the_internet_resource(string path)
    {
        TunnelTopology.SkipUnlessAvailable("curl", "python3");
        await using var net = await TunnelTopology.StartAsync(new()
        {
            Resources = """
                [{ "type": "cidr", "name": "lab hosts", "address": "198.18.200.0/24", "sites": ["lab"] },
                 { "type": "internet", "sites": ["lab"] }]
                """,
        });
        Assert.NotEqual(0, TunnelTopology.Run(net.Internet, "ping", "-c", "1", "-W", "1", TunnelTopology.InternetHost).ExitCode); // only the gateway's side knows it
        net.ServeRandomFile(10 * 1024 * 1024);
        if (path == "relayed")
        {
            net.BlockDirect();
        }

        Assert.True(net.PingUntilAnswered(TunnelTopology.InternetHost, TimeSpan.FromSeconds(30)), $"no answer through the internet resource:\n{net}");
        net.DownloadIntact(TunnelTopology.InternetHost);
        Assert.True(net.PingUntilAnswered(TunnelTopology.ResourceHost, TimeSpan.FromSeconds(10)), "the CIDR resource next to the internet resource does not answer:\n" + net);
        Assert.Contains("default", net.Client.IpIn("route show table all dev tun-firezone"), StringComparison.Ordinal);
    }
}
