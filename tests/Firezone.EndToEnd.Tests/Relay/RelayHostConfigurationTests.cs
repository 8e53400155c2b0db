using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Firezone.Snownet.Stun;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// The relay host's command line and environment variables (relay.md §10, parsed with System.CommandLine): help,
/// usage errors, flag-over-variable precedence, one listen address per family, and <c>RNG_SEED</c> determinism.
/// </summary>
public sealed class RelayHostConfigurationTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>Every variable the host reads that has a flag; --help must name each as <c>[env: NAME=]</c>.</summary>
    private static readonly string[] FlagVariables =
    [
        "PUBLIC_IP4_ADDR", "PUBLIC_IP6_ADDR", "LISTEN_ADDRESS", "LISTEN_PORT", "LOWEST_PORT", "HIGHEST_PORT", "FIREZONE_API_URL",
        "FIREZONE_STAMP_SECRET", "RNG_SEED", "LOG_FORMAT", "HEALTH_CHECK_ADDR", "OTLP_GRPC_ENDPOINT", "GOOGLE_CLOUD_PROJECT_ID",
        "FIREZONE_NO_TELEMETRY", "FIREZONE_TOKEN", "FIREZONE_NAME",
    ];

    /// <summary>Runs the host to its exit (30 s at most); the caller disposes it.</summary>
    private static async Task<ExternalProcess> RunToExitAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        string? host = Loopback.FindRelayHost();
        Assert.SkipWhen(host is null, "samples/Firezone.Relay is not built (build the solution first)");
        var relay = ExternalProcess.Start("dotnet", arguments.Prepend(host!), environment);
        Assert.True(await relay.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"the relay host did not exit:\n{relay.Output}");
        return relay;
    }

    /// <summary>A UDP port that is free on 127.0.0.1 and on ::1.</summary>
    private static int FreeDualStackUdpPort()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            int port = Loopback.FreeUdpPort();
            try
            {
                using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
                v6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("No UDP port free on both loopbacks.");
    }

    /// <summary>Whether any socket is bound to UDP <paramref name="port"/> (IPv4 or IPv6), from /proc/net/udp{,6}.</summary>
    private static bool IsUdpPortBound(int port)
    {
        string suffix = $":{port:X4}";
        return new[] { "/proc/net/udp", "/proc/net/udp6" }.Where(File.Exists).SelectMany(f => File.ReadLines(f).Skip(1))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields.Length > 1 && fields[1].EndsWith(suffix, StringComparison.Ordinal));
    }

    /// <summary>A STUN Binding from a fresh socket on <paramref name="loopback"/>; the relay must answer with that socket's address.</summary>
    private static void AssertBindingAnswered(IPAddress loopback, int port)
    {
        using var client = new Socket(loopback.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(loopback, 0));
        client.Connect(new IPEndPoint(loopback, port));
        client.ReceiveTimeout = 2000;
        var request = new byte[64];
        var builder = new StunMessageBuilder(request, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        byte[] response = Loopback.Exchange(client, builder.Message.ToArray());
        Assert.True(StunMessage.TryParse(response, out var message, out _));
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.True(message.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(client.LocalEndPoint, mapped);
    }

    private static async Task StopWithSigtermAsync(ExternalProcess relay)
    {
        relay.Signal(15);
        Assert.True(await relay.WaitForExitAsync(TimeSpan.FromSeconds(20)), relay.Output);
        Assert.Equal(0, relay.ExitCode);
    }

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

    [Fact]
    public async Task Help_exits_0_on_stdout_and_names_every_environment_variable()
    {
        await using var relay = await RunToExitAsync(["--help"]);
        Assert.Equal(0, relay.ExitCode);
        Assert.Equal(string.Empty, relay.StandardError);
        string help = relay.StandardOutput;
        Assert.Contains("Usage:", help, StringComparison.Ordinal);
        foreach (string variable in FlagVariables)
        {
            Assert.Contains($"[env: {variable}=]", help, StringComparison.Ordinal);
        }

        foreach (string flag in new[] { "--public-ip4-addr", "--public-ip6-addr", "--listen-address", "--listen-port", "--lowest-port", "--highest-port",
            "--api-url", "--stamp-secret", "--rng-seed", "--log-format", "--health-check-addr", "--otlp-grpc-endpoint", "--google-cloud-project-id",
            "--no-telemetry", "<TOKEN>", "<NAME>", "LOG_LEVEL", "RUST_LOG" })
        {
            Assert.Contains(flag, help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--no-such-flag", "", "Unrecognized option '--no-such-flag'")]
    [InlineData("--listen-port 70000", "", "--listen-port: '70000' is not a port number")]
    [InlineData("--listen-port 1 --listen-port 2", "", "--listen-port")]
    [InlineData("--log-format xml", "", "--log-format: 'xml' is not a log format")]
    [InlineData("--public-ip6-addr 127.0.0.1", "", "--public-ip6-addr: '127.0.0.1' is not an IPv6 address")]
    [InlineData("", "LISTEN_PORT=x", "LISTEN_PORT: 'x' is not a port number")]
    [InlineData("", "FIREZONE_NO_TELEMETRY=yes", "FIREZONE_NO_TELEMETRY: 'yes' is not a boolean (true or false)")]
    [InlineData("--listen-address 127.0.0.1 --listen-address 127.0.0.2", "", "at most one address per family, got 127.0.0.1 and 127.0.0.2")]
    [InlineData("--listen-address 127.0.0.1,127.0.0.2", "", "at most one address per family")]
    [InlineData("", "LISTEN_ADDRESS=::1,::2", "at most one address per family, got ::1 and ::2")]
    public async Task Usage_errors_exit_1_with_the_message_on_stderr(string arguments, string environment, string message)
    {
        var variables = new Dictionary<string, string> { ["PUBLIC_IP6_ADDR"] = "" };
        if (environment.Length > 0)
        {
            string[] pair = environment.Split('=', 2);
            variables[pair[0]] = pair[1];
        }

        var flags = new List<string> { "--public-ip4-addr", "127.0.0.1", "--health-check-addr", "127.0.0.1:0" };
        flags.AddRange(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        await using var relay = await RunToExitAsync(flags, variables);
        Assert.Equal(1, relay.ExitCode);
        Assert.StartsWith("error: ", relay.StandardError, StringComparison.Ordinal);
        Assert.Contains(message, relay.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(message, relay.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flag_wins_over_its_environment_variable()
    {
        int port = Loopback.FreeUdpPort(), health = Loopback.FreeTcpPort(), envPort = Loopback.FreeUdpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(8);
        var arguments = Loopback.RelayHostArguments(port, health, lowest, highest, Secret);
        arguments.AddRange(["--log-format", "google-cloud"]);
        // Each of these variables would be a usage error or another setting if it were read.
        var environment = new Dictionary<string, string>
        {
            ["LISTEN_PORT"] = envPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PUBLIC_IP4_ADDR"] = "not-an-address",
            ["LOG_FORMAT"] = "not-a-format",
            ["HEALTH_CHECK_ADDR"] = "nonsense",
            ["LISTEN_ADDRESS"] = "127.0.0.1,127.0.0.2",
        };
        await using var relay = await Loopback.StartHealthyRelayAsync(arguments, health, environment);

        AssertBindingAnswered(IPAddress.Loopback, port);
        Assert.False(IsUdpPortBound(envPort), $"LISTEN_PORT={envPort} was used although --listen-port {port} was given");
        Assert.StartsWith("{\"time\":", relay.StandardOutput, StringComparison.Ordinal);
        await StopWithSigtermAsync(relay);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task One_listen_address_per_family_serves_both_families(bool fromEnvironment)
    {
        Assert.SkipUnless(Loopback.Has(AddressFamily.InterNetworkV6), "no IPv6 loopback (::1) on this machine");
        int port = FreeDualStackUdpPort(), health = Loopback.FreeTcpPort();
        var (lowest, highest) = Loopback.FreeUdpRange(8);
        string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var arguments = new List<string>
        {
            "--public-ip4-addr", "127.0.0.1", "--public-ip6-addr", "::1", "--listen-port", Invariant(port), "--lowest-port", Invariant(lowest),
            "--highest-port", Invariant(highest), "--stamp-secret", Secret, "--health-check-addr", $"127.0.0.1:{Invariant(health)}", "--log-format", "json",
        };
        var environment = new Dictionary<string, string>();
        if (fromEnvironment)
        {
            environment["LISTEN_ADDRESS"] = "127.0.0.1, ::1";
        }
        else
        {
            arguments.AddRange(["--listen-address", "::1", "--listen-address", "127.0.0.1"]);
        }

        await using var relay = await Loopback.StartHealthyRelayAsync(arguments, health, environment);
        AssertBindingAnswered(IPAddress.Loopback, port);
        AssertBindingAnswered(IPAddress.IPv6Loopback, port);
        await StopWithSigtermAsync(relay);
    }
}
