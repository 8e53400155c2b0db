using System.CommandLine;
using System.CommandLine.Parsing;
using Firezone.Connlib.Hosting;
using Firezone.Hosts;

namespace Firezone.Client;

/// <summary>
/// firezone-headless-client's command line and environment (hosts-and-tun.md §7.1): the same flags, variables and
/// defaults, so the binaries can be swapped. A flag wins over its variable; an empty variable counts as unset.
/// </summary>
internal sealed class ClientArguments
{
    public const string DefaultApiUrl = "wss://api.firezone.dev/";

    public string ApiUrl { get; private set; } = DefaultApiUrl;

    public DnsControlMethod DnsControl { get; private set; } = DnsControlMethod.SystemdResolved;

    public string? LogDirectory { get; private set; }

    /// <summary>Null: retry the portal forever.</summary>
    public TimeSpan? MaxPartitionTime { get; private set; }

    public bool Check { get; private set; }

    public bool Exit { get; private set; }

    public string? FirezoneName { get; private set; }

    public string? FirezoneId { get; private set; }

    public bool NoTelemetry { get; private set; }

    /// <summary>From <c>FIREZONE_TOKEN</c> or the positional argument (the file is read later).</summary>
    public string? Token { get; private set; }

    public string TokenPath { get; private set; } = TokenSource.DefaultTokenPath;

    /// <summary>Hidden, for tests: the resolv.conf that <c>etc-resolv-conf</c> controls.</summary>
    public string ResolvConfPath { get; private set; } = "/etc/resolv.conf";

    /// <summary>Hidden, for tests of the host itself: run everything around the tunnel with a stand-in that starts none.</summary>
    public bool NoTunnel { get; private set; }

    /// <summary>Set when --help or --version was given: invoking it prints that and returns 0.</summary>
    public ParseResult? Informational { get; private set; }

    /// <summary>Parses; usage errors throw an <see cref="ArgumentException"/> with one error per line.</summary>
    public static ClientArguments Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var command = new Definition();
        var result = new ClientArguments();
        var parsed = command.Line.Parse(args, out var informational);
        if (parsed is null)
        {
            result.Informational = informational;
            return result;
        }

        var errors = new List<string>();
        command.Bind(parsed, environment, result, errors);
        return errors.Count == 0 ? result : throw new ArgumentException(string.Join('\n', errors));
    }

    public static void WriteHelp(TextWriter writer) => new Definition().Line.WriteHelp(writer);

    private static DnsControlMethod ParseDnsControl(string text) =>
        DnsControlMethodNames.TryParse(text, out var method)
            ? method
            : throw new FormatException($"'{text}' is not a DNS control method ({string.Join(", ", DnsControlMethodNames.All)})");

    private sealed class Definition
    {
        private readonly Setting<string?> _apiUrl;
        private readonly Setting<DnsControlMethod?> _dnsControl;
        private readonly Setting<string?> _logDir;
        private readonly Setting<TimeSpan?> _maxPartitionTime;
        private readonly Option<bool> _check;
        private readonly Option<bool> _exit;
        private readonly Setting<string?> _name;
        private readonly Setting<string?> _id;
        private readonly Option<bool> _noTelemetry;
        private readonly Setting<string?> _tokenPath;
        private readonly Setting<string?> _resolvConf;
        private readonly Option<bool> _noTunnel;
        private readonly Argument<string?> _token;
        private readonly Argument<string?> _standaloneToken;

        public Definition()
        {
            Line = new HostCommandLine("The Firezone headless client: connects this Linux machine to the resources of a Firezone account.", "firezone-headless-client");
            _apiUrl = Line.Add("--api-url", "-u", "FIREZONE_API_URL", "URL", "The portal's URL", t => (string?)t, DefaultApiUrl, hidden: true);
            _dnsControl = Line.Add("--dns-control", null, "FIREZONE_DNS_CONTROL", "disabled|etc-resolv-conf|systemd-resolved",
                "How to point the system's DNS at Firezone", t => (DnsControlMethod?)ParseDnsControl(t), "systemd-resolved");
            _logDir = Line.Add("--log-dir", "-l", "LOG_DIR", "DIR", "Also write logs to this directory (connlib.<time>.jsonl and .log)", t => (string?)t);
            _maxPartitionTime = Line.Add("--max-partition-time", "-m", "MAX_PARTITION_TIME", "DURATION",
                "Give up after the portal has been unreachable this long, e.g. 5m, 1h, 30d (default: retry forever)", t => (TimeSpan?)HumanDuration.Parse(t));
            _check = Line.Switch("--check", "Check the configuration and exit 0 before connecting");
            _exit = Line.Switch("--exit", "Exit 0 as soon as the tunnel is ready");
            _name = Line.Add("--firezone-name", null, "FIREZONE_NAME", "NAME", "Name the portal shows for this device (default: the hostname)", t => (string?)t);
            _id = Line.Add("--firezone-id", "-i", "FIREZONE_ID", "ID", $"Device id (default: from {FirezoneIdFile.ClientDefaultPath}, created if missing)", t => (string?)t);
            _noTelemetry = Line.Switch("--no-telemetry", "Disable crash reporting (none is built in)", "FIREZONE_NO_TELEMETRY");
            _tokenPath = Line.Add("--token-path", null, "FIREZONE_TOKEN_PATH", "PATH",
                "Token file, read when FIREZONE_TOKEN is unset; must be owned by root:root with mode 0400 or 0600", t => (string?)t, TokenSource.DefaultTokenPath);
            _resolvConf = Line.Add("--resolv-conf", null, "FIREZONE_RESOLV_CONF", "PATH", "The resolv.conf etc-resolv-conf controls (tests)", t => (string?)t, "/etc/resolv.conf", hidden: true);
            _noTunnel = Line.Switch("--no-tunnel", "Run the host without a tunnel: a stand-in reports ready with the sentinel DNS servers (tests)", hidden: true);
            _token = Line.Positional(Line.Root, "TOKEN", "Token generated by the portal [env: FIREZONE_TOKEN=]", hidden: true);
            var standalone = Line.Subcommand("standalone", "Accepted for compatibility with older versions; no effect");
            _standaloneToken = Line.Positional(standalone, "TOKEN", "Token generated by the portal [env: FIREZONE_TOKEN=]", hidden: true);
            Line.EnvironmentOnly("FIREZONE_TOKEN", "The portal token (wins over the token file; removed from the environment at startup)");
            Line.EnvironmentOnly("RUST_LOG", "Log filter directives: level, target or target=level, comma-separated [default: info]");
            Line.EnvironmentOnly("NOTIFY_SOCKET", "systemd's notification socket: READY=1 is sent once the tunnel is ready");
        }

        public HostCommandLine Line { get; }

        public void Bind(ParseResult parsed, Func<string, string?> environment, ClientArguments result, List<string> errors)
        {
            result.ApiUrl = HostCommandLine.Get(parsed, _apiUrl, environment, errors) ?? result.ApiUrl;
            result.DnsControl = HostCommandLine.Get(parsed, _dnsControl, environment, errors) ?? result.DnsControl;
            result.LogDirectory = HostCommandLine.Get(parsed, _logDir, environment, errors);
            result.MaxPartitionTime = HostCommandLine.Get(parsed, _maxPartitionTime, environment, errors);
            result.Check = parsed.GetValue(_check);
            result.Exit = parsed.GetValue(_exit);
            result.FirezoneName = HostCommandLine.Get(parsed, _name, environment, errors);
            result.FirezoneId = HostCommandLine.Get(parsed, _id, environment, errors);
            result.NoTelemetry = HostCommandLine.GetSwitch(parsed, _noTelemetry, "FIREZONE_NO_TELEMETRY", environment, errors);
            result.TokenPath = HostCommandLine.Get(parsed, _tokenPath, environment, errors) ?? result.TokenPath;
            result.ResolvConfPath = HostCommandLine.Get(parsed, _resolvConf, environment, errors) ?? result.ResolvConfPath;
            result.NoTunnel = parsed.GetValue(_noTunnel);
            result.Token = parsed.GetValue(_standaloneToken) is { } fromStandalone
                ? fromStandalone
                : HostCommandLine.GetPositional(parsed, _token, TokenSource.EnvironmentVariable, environment, errors);
        }
    }
}
