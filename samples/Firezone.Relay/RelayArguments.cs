using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;

namespace Firezone.Relay;

/// <summary>
/// Command line and environment of the relay (relay.md §10, plus --listen-address and --stamp-secret), parsed with
/// System.CommandLine. A flag wins over its environment variable; an empty variable counts as unset.
/// </summary>
internal sealed class RelayArguments
{
    private RelayArguments()
    {
    }

    public IPAddress? PublicIPv4 { get; private set; }

    public IPAddress? PublicIPv6 { get; private set; }

    /// <summary>At most one per family; empty: the wildcard of each public family.</summary>
    public IReadOnlyList<IPAddress> ListenAddresses { get; private set; } = [];

    public int ListenPort { get; private set; } = 3478;

    public int LowestPort { get; private set; } = 49152;

    public int HighestPort { get; private set; } = 65535;

    public string ApiUrl { get; private set; } = "wss://api.firezone.dev";

    public string? Token { get; private set; }

    public string? Name { get; private set; }

    public ulong? RngSeed { get; private set; }

    public LogFormat LogFormat { get; private set; } = LogFormat.Human;

    /// <summary><c>LOG_LEVEL</c> (a .NET level name) if valid, else the bare level in <c>RUST_LOG</c>, else Information.</summary>
    public LogLevel LogLevel { get; private set; } = LogLevel.Information;

    public string? OtlpGrpcEndpoint { get; private set; }

    public string? GoogleCloudProjectId { get; private set; }

    public IPEndPoint HealthCheckAddress { get; private set; } = new(IPAddress.Any, 8080);

    public bool NoTelemetry { get; private set; }

    public string? StampSecret { get; private set; }

    /// <summary>Set when --help or --version was given: invoking it prints that (to stdout) and returns 0.</summary>
    public ParseResult? Informational { get; private set; }

    /// <summary>Parses <paramref name="args"/>; usage errors throw an <see cref="ArgumentException"/> with one error per line.</summary>
    public static RelayArguments Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var command = new Command();
        var parsed = command.Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var result = new RelayArguments();
        if (parsed.Action is not null and not ParseErrorAction)
        {
            result.Informational = parsed;
            return result;
        }

        var errors = parsed.Errors.Select(e => e.Message).ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join('\n', errors));
        }

        command.Bind(parsed, environment, result, errors);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join('\n', errors));
        }

        return result;
    }

    /// <summary>Writes the --help text to <paramref name="writer"/>.</summary>
    public static void WriteHelp(TextWriter writer) =>
        new Command().Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = writer });

    private static int ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535
            ? port
            : throw new FormatException($"'{text}' is not a port number (0-65535)");

    private static IPAddress ParseAddress(string text) =>
        IPAddress.TryParse(text.Trim(), out var address) ? address : throw new FormatException($"'{text}' is not an IP address");

    private static IPAddress ParseAddress(string text, AddressFamily family)
    {
        var address = ParseAddress(text);
        return address.AddressFamily == family
            ? address
            : throw new FormatException($"'{text}' is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");
    }

    private static IPAddress[] ParseAddressList(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } parts
            ? parts.Select(ParseAddress).ToArray()
            : throw new FormatException($"'{text}' names no IP address");

    private static ulong ParseSeed(string text) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
            ? seed
            : throw new FormatException($"'{text}' is not an unsigned 64-bit number");

    private static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var endPoint) ? endPoint : throw new FormatException($"'{text}' is not an ip:port address");

    private static LogFormat ParseLogFormat(string text) => text switch
    {
        "human" => LogFormat.Human,
        "json" => LogFormat.Json,
        "google-cloud" => LogFormat.GoogleCloud,
        _ => throw new FormatException($"'{text}' is not a log format (human, json, google-cloud)"),
    };

    private static bool ParseBool(string text) => text switch
    {
        "true" => true,
        "false" => false,
        _ => throw new FormatException($"'{text}' is not a boolean (true or false)"),
    };

    private static LogLevel ResolveLogLevel(Func<string, string?> environment) =>
        Enum.TryParse<LogLevel>(environment("LOG_LEVEL"), ignoreCase: true, out var level) && Enum.IsDefined(level)
            ? level
            : RustLogLevel.Parse(environment("RUST_LOG"), LogLevel.Information);

    /// <summary>A flag with its environment variable and the parser both use.</summary>
    private sealed record Setting<T>(Option<T> Option, string Env, Func<string, T> Parse);

    /// <summary>The option and argument definitions; one instance per parse.</summary>
    private sealed class Command
    {
        private readonly Setting<IPAddress?> _publicIPv4;
        private readonly Setting<IPAddress?> _publicIPv6;
        private readonly Setting<IPAddress[]?> _listenAddresses;
        private readonly Setting<int?> _listenPort;
        private readonly Setting<int?> _lowestPort;
        private readonly Setting<int?> _highestPort;
        private readonly Setting<string?> _apiUrl;
        private readonly Setting<string?> _stampSecret;
        private readonly Setting<ulong?> _rngSeed;
        private readonly Setting<LogFormat?> _logFormat;
        private readonly Setting<IPEndPoint?> _healthCheck;
        private readonly Setting<string?> _otlp;
        private readonly Setting<string?> _googleCloudProject;
        private readonly Option<bool> _noTelemetry;
        private readonly Argument<string?> _token;
        private readonly Argument<string?> _name;

        public Command()
        {
            Root = new RootCommand("The Firezone relay: STUN/TURN over UDP for Firezone clients and gateways.");
            Root.Directives.Clear();
            _publicIPv4 = Add("--public-ip4-addr", "PUBLIC_IP4_ADDR", "PUBLIC_IP4_ADDR",
                "The public (internet-reachable) IPv4 address of the relay; at least one of IPv4 and IPv6 is required",
                t => (IPAddress?)ParseAddress(t, AddressFamily.InterNetwork));
            _publicIPv6 = Add("--public-ip6-addr", "PUBLIC_IP6_ADDR", "PUBLIC_IP6_ADDR",
                "The public (internet-reachable) IPv6 address of the relay",
                t => (IPAddress?)ParseAddress(t, AddressFamily.InterNetworkV6));
            _listenAddresses = Add("--listen-address", "LISTEN_ADDRESS", "IP",
                "Addresses the sockets bind to, at most one per family: repeat the flag or separate with commas (default: the wildcard of each public family)",
                t => (IPAddress[]?)ParseAddressList(t), combine: (a, b) => [.. a!, .. b!]);
            _listenPort = Add("--listen-port", "LISTEN_PORT", "PORT", "The STUN/TURN port", t => (int?)ParsePort(t), "3478");
            _lowestPort = Add("--lowest-port", "LOWEST_PORT", "PORT", "The lowest allocation port", t => (int?)ParsePort(t), "49152");
            _highestPort = Add("--highest-port", "HIGHEST_PORT", "PORT", "The highest allocation port", t => (int?)ParsePort(t), "65535");
            _apiUrl = Add("--api-url", "FIREZONE_API_URL", "URL", "The portal's URL", t => (string?)t, "wss://api.firezone.dev");
            _stampSecret = Add("--stamp-secret", "FIREZONE_STAMP_SECRET", "SECRET",
                "A fixed auth secret for standalone use and tests (default: random)", t => (string?)t);
            _rngSeed = Add("--rng-seed", "RNG_SEED", "U64", "Seeds the RNG: deterministic secret, ports and nonces", t => (ulong?)ParseSeed(t));
            _logFormat = Add("--log-format", "LOG_FORMAT", "human|json|google-cloud", "The log line format", t => (LogFormat?)ParseLogFormat(t), "human");
            _healthCheck = Add("--health-check-addr", "HEALTH_CHECK_ADDR", "IP:PORT", "The /healthz listener", t => (IPEndPoint?)ParseEndPoint(t), "0.0.0.0:8080");
            _otlp = Add("--otlp-grpc-endpoint", "OTLP_GRPC_ENDPOINT", "HOST:PORT",
                "Accepted; OTLP export is not built in, metrics are published on the System.Diagnostics.Metrics meter \"relay\"", t => (string?)t);
            _googleCloudProject = Add("--google-cloud-project-id", "GOOGLE_CLOUD_PROJECT_ID", "ID", "Accepted, unused", t => (string?)t);
            _noTelemetry = new Option<bool>("--no-telemetry")
            {
                Arity = ArgumentArity.Zero,
                Description = "Disables crash reporting (none is built in) [env: FIREZONE_NO_TELEMETRY=] (true or false)",
            };
            Root.Options.Add(_noTelemetry);
            _token = Positional("TOKEN", "Token generated by the portal; without one the relay runs standalone [env: FIREZONE_TOKEN=]");
            _name = Positional("NAME", "Name the portal shows for this relay [env: FIREZONE_NAME=]");

            var help = Root.Options.OfType<HelpOption>().Single();
            help.Action = new HelpWithEnvironment((SynchronousCommandLineAction)help.Action!);
        }

        public RootCommand Root { get; }

        // With combine the flag may be repeated (the listen addresses): each occurrence is parsed, then combined.
        private Setting<T> Add<T>(string name, string env, string valueName, string description, Func<string, T> parse, string? defaultText = null, Func<T, T, T>? combine = null)
        {
            var option = new Option<T>(name)
            {
                HelpName = valueName,
                Description = $"{description} [env: {env}=]{(defaultText is null ? string.Empty : $" [default: {defaultText}]")}",
                Arity = combine is null ? ArgumentArity.ExactlyOne : ArgumentArity.OneOrMore,
                AllowMultipleArgumentsPerToken = false,
                CustomParser = result =>
                {
                    try
                    {
                        if (result.Tokens.Count == 0 || (combine is null && result.Tokens.Count > 1))
                        {
                            throw new FormatException("takes exactly one value");
                        }

                        return result.Tokens.Skip(1).Aggregate(parse(result.Tokens[0].Value), (value, token) => combine!(value, parse(token.Value)));
                    }
                    catch (FormatException e)
                    {
                        result.AddError($"{name}: {e.Message}");
                        return default;
                    }
                },
            };
            Root.Options.Add(option);
            return new Setting<T>(option, env, parse);
        }

        private Argument<string?> Positional(string name, string description)
        {
            var argument = new Argument<string?>(name) { Arity = ArgumentArity.ZeroOrOne, Description = description };
            Root.Arguments.Add(argument);
            return argument;
        }

        /// <summary>Each setting from its flag, else its environment variable, else its default.</summary>
        public void Bind(ParseResult parsed, Func<string, string?> environment, RelayArguments result, List<string> errors)
        {
            T? Get<T>(Setting<T> setting)
            {
                if (parsed.GetResult(setting.Option) is { Implicit: false })
                {
                    return parsed.GetValue(setting.Option);
                }

                if (environment(setting.Env) is not { Length: > 0 } text)
                {
                    return default;
                }

                try
                {
                    return setting.Parse(text);
                }
                catch (FormatException e)
                {
                    errors.Add($"{setting.Env}: {e.Message}");
                    return default;
                }
            }

            result.PublicIPv4 = Get(_publicIPv4);
            result.PublicIPv6 = Get(_publicIPv6);
            result.ListenAddresses = Get(_listenAddresses) ?? [];
            foreach (var family in result.ListenAddresses.GroupBy(a => a.AddressFamily).Where(g => g.Count() > 1))
            {
                errors.Add($"--listen-address / LISTEN_ADDRESS: at most one address per family, got {string.Join(" and ", family)}");
            }

            result.ListenPort = Get(_listenPort) ?? result.ListenPort;
            result.LowestPort = Get(_lowestPort) ?? result.LowestPort;
            result.HighestPort = Get(_highestPort) ?? result.HighestPort;
            result.ApiUrl = Get(_apiUrl) ?? result.ApiUrl;
            result.StampSecret = Get(_stampSecret);
            result.RngSeed = Get(_rngSeed);
            result.LogFormat = Get(_logFormat) ?? result.LogFormat;
            result.HealthCheckAddress = Get(_healthCheck) ?? result.HealthCheckAddress;
            result.OtlpGrpcEndpoint = Get(_otlp);
            result.GoogleCloudProjectId = Get(_googleCloudProject);
            result.NoTelemetry = parsed.GetValue(_noTelemetry) || Get(new Setting<bool>(_noTelemetry, "FIREZONE_NO_TELEMETRY", ParseBool));

            bool escaped = parsed.Tokens.Any(t => t.Type == TokenType.DoubleDash);
            result.Token = Positional(_token, "FIREZONE_TOKEN");
            result.Name = Positional(_name, "FIREZONE_NAME");
            string? Positional(Argument<string?> argument, string env)
            {
                string? value = parsed.GetValue(argument);
                if (value is not null && value.StartsWith('-') && !escaped)
                {
                    errors.Add($"Unrecognized option '{value}' (a {argument.Name} that starts with '-' goes after '--')");
                }

                return value ?? (environment(env) is { Length: > 0 } fromEnvironment ? fromEnvironment : null);
            }

            result.LogLevel = ResolveLogLevel(environment);
            if (result.PublicIPv4 is null && result.PublicIPv6 is null)
            {
                errors.Add("At least one of --public-ip4-addr / PUBLIC_IP4_ADDR and --public-ip6-addr / PUBLIC_IP6_ADDR is required");
            }
        }
    }

    /// <summary>System.CommandLine's help followed by the variables that have no flag.</summary>
    private sealed class HelpWithEnvironment(SynchronousCommandLineAction help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            int code = help.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Environment:");
            output.WriteLine("  LOG_LEVEL  A .NET log level (Trace, Debug, Information, Warning, Error, Critical, None); wins over RUST_LOG");
            output.WriteLine("  RUST_LOG   Only its bare level counts (trace, debug, info, warn, error, off); target directives are ignored [default: info]");
            output.WriteLine();
            return code;
        }
    }
}
