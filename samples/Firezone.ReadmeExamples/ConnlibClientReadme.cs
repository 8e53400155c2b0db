using System.Net;
using System.Security.Cryptography;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;

namespace ReadmeExamples;

/// <summary>The client code block of src/Firezone.Connlib/README.md: a complete example, so this file has exactly its usings.</summary>
public static class ConnlibClientReadme
{
    public static void ClientExample(byte[] packetFromTun)
    {
        #region readme: src/Firezone.Connlib/README.md
        long start = TimeProvider.System.GetTimestamp();
        TimeSpan Now() => TimeProvider.System.GetElapsedTime(start); // one monotonic clock for every call

        using var client = new ClientState(RandomNumberGenerator.GetBytes(32), Now(), DateTimeOffset.UtcNow);
        // The portal's `init` (decoded by Messages/): interface, resources, relays.
        client.UpdateInterfaceConfig(new InterfaceConfig(IPAddress.Parse("100.64.0.1"), IPAddress.Parse("fd00:2021:1111::1"),
            [new IPEndPoint(IPAddress.Parse("198.18.0.53"), 53)]));
        var site = new Site(new SiteId(Guid.NewGuid()), "HQ");
        client.SetResources([new CidrResource(new ResourceId(Guid.NewGuid()), IPNetwork.Parse("198.19.0.0/16"), "lab", null, [site])], Now());

        var buffer = new byte[Firezone.Snownet.Node.BufferSize];
        var result = client.HandleTunInput(packetFromTun, buffer, Now()); // Send → a datagram to result.Destination
        while (client.PollEvent() is { } e)
        {
            switch (e)
            {
                case TunInterfaceUpdated u:   // configure the TUN device: addresses, u.Config.DnsServers (sentinels), routes
                    break;
                case ConnectionIntent intent: // portal `prepare_connection`; its reply → client.OnRoutingDetails(...)
                    break;
                case RequestConnection r:     // portal `request_connection`; the answer → client.AcceptAnswer(...)
                    break;
                case RequestAccess r:         // portal `reuse_connection`
                    break;
                case ResourcesChanged r:      // show r.Resources with their status
                    break;
            }
        }

        while (client.PollDnsQuery() is { } query) // queries the host resolves: send query.Message to query.Server
        {
            client.HandleDnsFailure(query, DnsQueryFailure.Timeout); // or client.HandleDnsResponse(query, answer)
        }

        while (client.PollPacket() is { } packet) { /* write to the TUN device (DNS answers) */ }
        while (client.PollTransmit() is { } transmit) { /* send transmit.Payload to transmit.Destination */ }
        // Then sleep until client.PollTimeout() and call client.HandleTimeout(Now()).
        #endregion
        _ = result;
    }
}
