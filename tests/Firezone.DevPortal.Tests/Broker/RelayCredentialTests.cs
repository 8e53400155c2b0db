using System.Globalization;
using System.Net;
using Firezone.Connlib.Messages;
using Firezone.DevPortal.Broker;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using static Firezone.DevPortal.Tests.Broker.BrokerHarness;
using static Firezone.DevPortal.Tests.Broker.TestConfigs;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>Relay credentials (relay.md §6): the spec's vectors, and what the portal hands out accepted by our TURN server's own check.</summary>
public sealed class RelayCredentialTests
{
    [Theory]
    [InlineData("4c98bf59c99b3e467ecd7cf9d6b3e5279645fca59be67bc5bb4af3cf653761ab", 1892160000L, "n23JJ2wKKtt30oXi", "00hqldgk5xLeKKOB+xls9mHMVtgqzie9DulfgQwMv68")]
    [InlineData("1cab293a-4032-46f4-862a-40e5d174b0d2", 1685984278L, "uvdgKvS9GXYZ_vmv", "6xUIoZ+QvxKhRasLifwfRkMXl+ETLJUsFkHlXjlHAkg")]
    [InlineData("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 4102444800L, "88Ubc3a8Nb", "MSSyoWesw7d1JOdlGe2+eu6mOsfNZWz3/q8GDjhOJsU")]
    public void Password_is_unpadded_base64_of_sha256_of_expiry_secret_salt_as_the_spec_vectors(string secret, long expiry, string salt, string expected) =>
        Assert.Equal(expected, RelayCredentials.Password(secret, expiry, salt));

    [Fact]
    public void Salts_are_16_url_safe_characters_without_a_colon()
    {
        var random = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            string salt = RelayCredentials.NewSalt(random.NextBytes);
            Assert.Matches("^[A-Za-z0-9_-]{16}$", salt);
        }
    }

    [Fact]
    public void Credentials_handed_to_clients_and_gateways_pass_the_TURN_servers_check_and_expire_after_the_configured_lifetime()
    {
        var server = new TurnServer(new TurnServerOptions { PublicIPv4 = IPAddress.Parse("198.18.1.1"), LowestPort = 49152, HighestPort = 49160 });
        var h = new BrokerHarness(TestConfig() with { RelayCredentialLifetime = TimeSpan.FromHours(2) });
        h.JoinRelay("relay-token", server.AuthSecret);
        long client = h.JoinClient("alice");
        long gateway = h.JoinGateway("hq-gw");
        var sent = h.Drain();
        var entries = Pushes(sent, client).OfType<ClientInit>().Single().Relays
            .Concat(Pushes(sent, gateway).OfType<GatewayInit>().Single().Relays)
            .Cast<TurnRelayEntry>()
            .ToList();
        Assert.Equal(2, entries.Count);
        Assert.NotEqual(entries[0].Username, entries[1].Username); // fresh salt per entry

        int port = 40000;
        foreach (var entry in entries)
        {
            Assert.Equal(Wall + TimeSpan.FromHours(2), entry.ExpiresAt);
            Assert.Equal(entry.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), entry.Username.Split(':')[0]);
            var client4 = new IPEndPoint(IPAddress.Parse("198.18.2.1"), port++);
            Assert.Equal(StunClass.SuccessResponse, Allocate(server, client4, entry.Username, entry.Password, Wall + TimeSpan.FromHours(1)));
        }

        // The oracle refuses them after their expiry, and refuses a wrong password: the check is not vacuous.
        Assert.Equal(StunClass.ErrorResponse, Allocate(server, new IPEndPoint(IPAddress.Parse("198.18.2.1"), port++), entries[0].Username, entries[0].Password, Wall + TimeSpan.FromHours(3)));
        Assert.Equal(StunClass.ErrorResponse, Allocate(server, new IPEndPoint(IPAddress.Parse("198.18.2.1"), port++), entries[0].Username, entries[1].Password, Wall + TimeSpan.FromHours(1)));
    }

    /// <summary>An unauthenticated Allocate (→ 401 with a nonce), then the authenticated one; returns the class of the second answer.</summary>
    private static StunClass Allocate(TurnServer server, IPEndPoint client, string username, string password, DateTimeOffset wall)
    {
        var now = TimeSpan.FromHours(1);
        var first = Request(TransactionId.NewRandom(), null, null, null);
        Assert.Null(server.HandleClientInput(first, client, now, wall));
        string nonce = Response(server).Nonce!;
        byte[] key = StunCredentials.LongTermKey(username, "firezone", password);
        Assert.Null(server.HandleClientInput(Request(TransactionId.NewRandom(), username, nonce, key), client, now, wall));
        return Response(server).Class;
    }

    private static byte[] Request(TransactionId id, string? username, string? nonce, byte[]? key)
    {
        Span<byte> buffer = new byte[1024];
        var b = new StunMessageBuilder(buffer, StunMethod.Allocate, StunClass.Request, id);
        b.AddRequestedTransport();
        if (username is not null)
        {
            b.AddUsername(username);
            b.AddRealm("firezone");
            b.AddNonce(nonce!);
            b.AddMessageIntegrity(key!);
        }

        return b.ToArray();
    }

    private static (StunClass Class, string? Nonce) Response(TurnServer server)
    {
        TurnServerCommand? send = null;
        while (server.TryPollCommand(out var command))
        {
            if (command.Kind == TurnServerCommandKind.SendMessage) send = command;
        }

        Assert.NotNull(send);
        Assert.True(StunMessage.TryParse(send.Value.Payload, out var message));
        return (message.Class, message.Nonce);
    }
}
