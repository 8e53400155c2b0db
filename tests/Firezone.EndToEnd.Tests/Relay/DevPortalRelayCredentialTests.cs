using System.Net;
using System.Security.Cryptography;
using Firezone.Connlib.Messages;
using Firezone.DevPortal;
using Firezone.PhoenixChannel;
using Firezone.Snownet.Tests.Turn;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// The dev portal learns a real relay host's (random) stamp secret from its join, and the credentials it hands a
/// client in <c>init</c> let our TURN client allocate, bind and relay through that relay over UDP on 127.0.0.1.
/// </summary>
public sealed class DevPortalRelayCredentialTests
{
    [Fact]
    public async Task Credentials_from_the_dev_portals_init_allocate_on_the_relay_host_that_joined_it()
    {
        string? host = Loopback.FindRelayHost();
        Assert.SkipWhen(host is null, "samples/Firezone.Relay is not built (build the solution first)");
        await using var portal = new DevPortalHost();
        await portal.StartAsync(TestContext.Current.CancellationToken);

        int port = Loopback.FreeUdpPort();
        int health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(16);
        var arguments = new List<string>
        {
            host!, "--public-ip4-addr", "127.0.0.1", "--listen-address", "127.0.0.1", "--listen-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lowest-port", lowest.ToString(System.Globalization.CultureInfo.InvariantCulture), "--highest-port", highest.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--health-check-addr", $"127.0.0.1:{health}", "--api-url", portal.ApiUrl.ToString(), "relay-token", "relay-1",
        };
        await using var relay = ExternalProcess.Start("dotnet", arguments); // no --stamp-secret: a random one, known only from its join

        await using var client = new PhoenixChannel.PhoenixChannel(new PhoenixChannelOptions
        {
            LoginUrl = LoginUrl.Client(portal.ApiUrl, "client-token", "device-1", "laptop"),
            Topic = "client",
            UserAgent = UserAgent.ForConnlib("1.3.8"),
            RandomSeed = 1,
        });
        string publicKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await client.ConnectAsync([new("public_key", publicKey)], TestContext.Current.CancellationToken);

        // The relay may join before or after the client: take the first relay list that names it.
        TurnRelayEntry? entry = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var e in client.ReadEventsAsync(timeout.Token))
        {
            if (e is not ChannelEvent.InboundMessage message) continue;
            var decoded = PortalMessages.DecodeClientPush(message.Event, message.Payload);
            var relays = decoded.Message switch
            {
                ClientInit init => init.Relays,
                RelaysPresence presence => presence.Connected,
                _ => [],
            };
            entry = relays.OfType<TurnRelayEntry>().FirstOrDefault(r => r.Address.Port == port);
            if (entry is not null) break;
        }

        Assert.NotNull(entry);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), entry.Address);
        RealSocketDriver.AllocateBindAndRelay(RelaySocket.FromV4(entry.Address), entry.Username, entry.Password, FirezoneCredentials.Realm, () => relay.Output);
    }
}
