using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;

namespace Firezone.DevPortal;

/// <summary>The dev portal's command line, parsed with System.CommandLine.</summary>
internal sealed class DevPortalArguments
{
    private DevPortalArguments()
    {
    }

    public string? ConfigPath { get; private set; }

    public int Port { get; private set; } = 8081;

    public IPAddress ListenAddress { get; private set; } = IPAddress.Loopback;

    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; private set; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>Set when --help or --version was given: invoking it prints that and returns 0.</summary>
    public ParseResult? Informational { get; private set; }

    /// <summary>Parses <paramref name="args"/>; usage errors throw an <see cref="ArgumentException"/>, one error per line.</summary>
    public static DevPortalArguments Parse(IReadOnlyList<string> args)
    {
        var command = new Definition();
        var parsed = command.Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var result = new DevPortalArguments();
        if (parsed.Action is not null and not ParseErrorAction)
        {
            result.Informational = parsed;
            return result;
        }

        if (parsed.Errors.Count > 0)
        {
            throw new ArgumentException(string.Join('\n', parsed.Errors.Select(e => e.Message)));
        }

        result.ConfigPath = parsed.GetValue(command.Config);
        result.Port = parsed.GetValue(command.Port) ?? result.Port;
        result.ListenAddress = parsed.GetValue(command.ListenAddress) ?? result.ListenAddress;
        result.LogLevel = parsed.GetValue(command.LogLevel) ?? result.LogLevel;
        return result;
    }

    /// <summary>Writes the --help text.</summary>
    public static void WriteHelp(TextWriter writer) => new Definition().Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = writer });

    private sealed class Definition
    {
        public Definition()
        {
            Root = new RootCommand(
                "The Firezone.NET dev portal: a single-machine control plane for development and tests (not a production portal). "
                + "It serves /client, /gateway and /relay WebSockets (Phoenix V1 JSON), accepts the tokens of its config, sends init, "
                + "brokers connections between clients and gateways, relays ICE candidates, hands out relay credentials and pushes config changes.");
            Root.Directives.Clear();
            Config = new Option<string?>("--config")
            {
                HelpName = "FILE",
                Description = "The JSON config file (samples/Firezone.DevPortal/README.md); reloaded when it changes. "
                    + "Default: the built-in config (tokens client-token, gateway-token, relay-token; resources 172.20.0.0/16 and **.httpbin)",
            };
            Port = new Option<int?>("--port")
            {
                HelpName = "PORT",
                Description = "The TCP port to listen on (0: any free port) [default: 8081]",
                CustomParser = r => int.TryParse(r.Tokens[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p <= 65535
                    ? p
                    : Error<int?>(r, $"--port: '{r.Tokens[0].Value}' is not a port number (0-65535)"),
            };
            ListenAddress = new Option<IPAddress?>("--listen-address")
            {
                HelpName = "IP",
                Description = "The IP address to listen on [default: 127.0.0.1]",
                CustomParser = r => IPAddress.TryParse(r.Tokens[0].Value, out var a) ? a : Error<IPAddress?>(r, $"--listen-address: '{r.Tokens[0].Value}' is not an IP address"),
            };
            LogLevel = new Option<Microsoft.Extensions.Logging.LogLevel?>("--log-level")
            {
                HelpName = "LEVEL",
                Description = "Trace, Debug, Information, Warning, Error, Critical or None [default: Information]",
                CustomParser = r => Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(r.Tokens[0].Value, ignoreCase: true, out var l) && Enum.IsDefined(l)
                    ? l
                    : Error<Microsoft.Extensions.Logging.LogLevel?>(r, $"--log-level: '{r.Tokens[0].Value}' is not a log level"),
            };
            Root.Options.Add(Config);
            Root.Options.Add(Port);
            Root.Options.Add(ListenAddress);
            Root.Options.Add(LogLevel);
        }

        public RootCommand Root { get; }

        public Option<string?> Config { get; }

        public Option<int?> Port { get; }

        public Option<IPAddress?> ListenAddress { get; }

        public Option<Microsoft.Extensions.Logging.LogLevel?> LogLevel { get; }

        private static T? Error<T>(ArgumentResult result, string message)
        {
            result.AddError(message);
            return default;
        }
    }
}
