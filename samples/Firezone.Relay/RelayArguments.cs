using System.Globalization;
using System.Net;

namespace Firezone.Relay;

/// <summary>Command line and environment of the relay (relay.md §10, plus --listen-address and --stamp-secret).</summary>
internal sealed class RelayArguments
{
    public IPAddress? PublicIPv4 { get; private set; }
    public IPAddress? PublicIPv6 { get; private set; }
    public IPAddress? ListenAddress { get; private set; }
    public int ListenPort { get; private set; } = 3478;
    public int LowestPort { get; private set; } = 49152;
    public int HighestPort { get; private set; } = 65535;
    public string ApiUrl { get; private set; } = "wss://api.firezone.dev";
    public string? Token { get; private set; }
    public string? Name { get; private set; }
    public ulong? RngSeed { get; private set; }
    public string LogFormat { get; private set; } = "human";
    public string? OtlpGrpcEndpoint { get; private set; }
    public string? GoogleCloudProjectId { get; private set; }
    public IPEndPoint HealthCheckAddress { get; private set; } = new(IPAddress.Any, 8080);
    public bool NoTelemetry { get; private set; }
    public string? StampSecret { get; private set; }
    public bool Help { get; private set; }

    public const string Usage = """
        Usage: firezone-relay [options] [FIREZONE_TOKEN] [FIREZONE_NAME]

          --public-ip4-addr <ip>        PUBLIC_IP4_ADDR      public IPv4 address (at least one of ip4/ip6)
          --public-ip6-addr <ip>        PUBLIC_IP6_ADDR      public IPv6 address
          --listen-address <ip>         LISTEN_ADDRESS       bind address for all sockets (default: any)
          --listen-port <port>          LISTEN_PORT          STUN/TURN port (default 3478)
          --lowest-port <port>          LOWEST_PORT          lowest allocation port (default 49152)
          --highest-port <port>         HIGHEST_PORT         highest allocation port (default 65535)
          --api-url <url>               FIREZONE_API_URL     portal URL (default wss://api.firezone.dev)
          --stamp-secret <secret>       FIREZONE_STAMP_SECRET  fixed auth secret (standalone use and tests)
          --rng-seed <u64>              RNG_SEED             deterministic secret, ports and nonces
          --log-format <human|json|google-cloud>  LOG_FORMAT (default human)
          --health-check-addr <ip:port> HEALTH_CHECK_ADDR    /healthz listener (default 0.0.0.0:8080)
          --otlp-grpc-endpoint <h:p>    OTLP_GRPC_ENDPOINT   accepted; metrics are published via System.Diagnostics.Metrics (meter "relay")
          --google-cloud-project-id <id> GOOGLE_CLOUD_PROJECT_ID  accepted, unused
          --no-telemetry                FIREZONE_NO_TELEMETRY
        Without a token the relay runs standalone.
        """;

    public static RelayArguments Parse(string[] args, Func<string, string?> environment)
    {
        var result = new RelayArguments();
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                result.Help = true;
                continue;
            }

            if (arg == "--no-telemetry")
            {
                flags[arg] = "true";
                continue;
            }

            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                int eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    flags[arg[..eq]] = arg[(eq + 1)..];
                }
                else if (i + 1 < args.Length)
                {
                    flags[arg] = args[++i];
                }
                else
                {
                    throw new ArgumentException($"Missing value for {arg}");
                }

                continue;
            }

            positional.Add(arg);
        }

        string? Get(string flag, string env) => flags.TryGetValue(flag, out var v) ? v : environment(env) is { Length: > 0 } e ? e : null;
        int Port(string flag, string env, int fallback) => Get(flag, env) is { } v ? ParsePort(flag, v) : fallback;

        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "--public-ip4-addr", "--public-ip6-addr", "--listen-address", "--listen-port", "--lowest-port", "--highest-port",
            "--api-url", "--stamp-secret", "--rng-seed", "--log-format", "--health-check-addr", "--otlp-grpc-endpoint",
            "--google-cloud-project-id", "--no-telemetry",
        };
        foreach (var flag in flags.Keys)
        {
            if (!known.Contains(flag))
            {
                throw new ArgumentException($"Unknown option {flag}");
            }
        }

        result.PublicIPv4 = ParseAddress(Get("--public-ip4-addr", "PUBLIC_IP4_ADDR"), System.Net.Sockets.AddressFamily.InterNetwork, "--public-ip4-addr");
        result.PublicIPv6 = ParseAddress(Get("--public-ip6-addr", "PUBLIC_IP6_ADDR"), System.Net.Sockets.AddressFamily.InterNetworkV6, "--public-ip6-addr");
        result.ListenAddress = Get("--listen-address", "LISTEN_ADDRESS") is { } la ? IPAddress.Parse(la) : null;
        result.ListenPort = Port("--listen-port", "LISTEN_PORT", 3478);
        result.LowestPort = Port("--lowest-port", "LOWEST_PORT", 49152);
        result.HighestPort = Port("--highest-port", "HIGHEST_PORT", 65535);
        result.ApiUrl = Get("--api-url", "FIREZONE_API_URL") ?? result.ApiUrl;
        result.StampSecret = Get("--stamp-secret", "FIREZONE_STAMP_SECRET");
        result.RngSeed = Get("--rng-seed", "RNG_SEED") is { } seed ? ulong.Parse(seed, CultureInfo.InvariantCulture) : null;
        result.LogFormat = Get("--log-format", "LOG_FORMAT") ?? "human";
        if (result.LogFormat is not ("human" or "json" or "google-cloud"))
        {
            throw new ArgumentException($"Unknown log format {result.LogFormat}");
        }

        result.OtlpGrpcEndpoint = Get("--otlp-grpc-endpoint", "OTLP_GRPC_ENDPOINT");
        result.GoogleCloudProjectId = Get("--google-cloud-project-id", "GOOGLE_CLOUD_PROJECT_ID");
        if (Get("--health-check-addr", "HEALTH_CHECK_ADDR") is { } health)
        {
            result.HealthCheckAddress = IPEndPoint.Parse(health);
        }

        result.NoTelemetry = Get("--no-telemetry", "FIREZONE_NO_TELEMETRY") is { } nt && nt is not ("false" or "0");
        result.Token = positional.Count > 0 ? positional[0] : environment("FIREZONE_TOKEN") is { Length: > 0 } t ? t : null;
        result.Name = positional.Count > 1 ? positional[1] : environment("FIREZONE_NAME") is { Length: > 0 } n ? n : null;
        if (!result.Help && result.PublicIPv4 is null && result.PublicIPv6 is null)
        {
            throw new ArgumentException("At least one of --public-ip4-addr / PUBLIC_IP4_ADDR and --public-ip6-addr / PUBLIC_IP6_ADDR is required");
        }

        return result;
    }

    private static int ParsePort(string flag, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= 65535
            ? port
            : throw new ArgumentException($"Invalid port for {flag}: {value}");

    private static IPAddress? ParseAddress(string? value, System.Net.Sockets.AddressFamily family, string flag)
    {
        if (value is null)
        {
            return null;
        }

        var address = IPAddress.Parse(value);
        return address.AddressFamily == family ? address : throw new ArgumentException($"{flag} must be an {(family == System.Net.Sockets.AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");
    }
}
