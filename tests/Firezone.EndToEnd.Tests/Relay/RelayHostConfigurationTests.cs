using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Firezone.Snownet.Stun;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>The relay host's environment variables (relay.md §10) and <c>RNG_SEED</c> determinism.</summary>
public sealed class RelayHostConfigurationTests
{
    private static async Task<string> FirstNonceAsync(Dictionary<string, string> environment, int port, int health)
    {
        await using var relay = await Loopback.StartHealthyRelayAsync([], health, environment);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        client.ReceiveTimeout = 2000;
        var request = new byte[64];
        var builder = new StunMessageBuilder(request, StunMethod.Allocate, StunClass.Request, TransactionId.NewRandom());
        builder.AddRequestedTransport();
        client.Send(builder.Message);
        var buffer = new byte[512];
        int n = client.Receive(buffer);
        Assert.True(StunMessage.TryParse(buffer.AsSpan(0, n), out var response, out _));
        Assert.Equal(401, response.ErrorCode);
        Assert.Equal("firezone", response.Realm);
        return response.Nonce!;
    }

    private static Dictionary<string, string> Environment(int port, int health, string seed) => new()
    {
        ["PUBLIC_IP4_ADDR"] = "127.0.0.1",
        ["LISTEN_ADDRESS"] = "127.0.0.1",
        ["LISTEN_PORT"] = port.ToString(),
        ["HEALTH_CHECK_ADDR"] = $"127.0.0.1:{health}",
        ["LOG_FORMAT"] = "json",
        ["RNG_SEED"] = seed,
    };

    [Fact]
    public async Task Configured_by_environment_and_rng_seed_makes_nonces_deterministic()
    {
        int port = Loopback.FreeUdpPort(), health = Loopback.FreeTcpPort();
        string first = await FirstNonceAsync(Environment(port, health, "42"), port, health);
        port = Loopback.FreeUdpPort();
        health = Loopback.FreeTcpPort();
        string again = await FirstNonceAsync(Environment(port, health, "42"), port, health);
        port = Loopback.FreeUdpPort();
        health = Loopback.FreeTcpPort();
        string other = await FirstNonceAsync(Environment(port, health, "43"), port, health);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", first);
    }

    [Fact]
    public async Task Missing_public_address_is_a_usage_error_with_exit_code_1()
    {
        string? host = Loopback.FindRelayHost();
        Assert.SkipWhen(host is null, "samples/Firezone.Relay is not built (build the solution first)");
        await using var relay = ExternalProcess.Start("dotnet", [host!, "--listen-port", "0"], new Dictionary<string, string> { ["PUBLIC_IP4_ADDR"] = "", ["PUBLIC_IP6_ADDR"] = "" });
        Assert.True(await relay.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(1, relay.ExitCode);
        Assert.Contains("PUBLIC_IP4_ADDR", relay.Output);
    }
}
