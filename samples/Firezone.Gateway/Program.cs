using System.Net.Sockets;
using System.Runtime.InteropServices;
using Firezone.Connlib.Hosting;
using Firezone.Connlib.Logging;
using Firezone.Hosts;
using Firezone.PhoenixChannel;
using Firezone.Gateway;
using Microsoft.Extensions.Logging;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// firezone-gateway (hosts-and-tun.md §7.2): parse → logging → id → /healthz → optional forwarding set-up → TUN → tunnel.
GatewayArguments arguments;
try
{
    arguments = GatewayArguments.Parse(args, Environment.GetEnvironmentVariable);
}
catch (ArgumentException e)
{
    return HostStartup.UsageError(e, GatewayArguments.WriteHelp, 2); // clap's usage-error code, as upstream
}

if (arguments.Informational is { } informational)
{
    return informational.Invoke(); // --help or --version
}

_ = TokenSource.TakeFromEnvironment(); // read by the parser; child processes (nft) must not see it

if (HostStartup.ParseRustLog() is not { } filter)
{
    return 1;
}

string version = HostStartup.Version(typeof(GatewayArguments));
using var loggerFactory = HostStartup.CreateLoggerFactory(filter);
var logger = loggerFactory.CreateLogger("Firezone.Gateway");
GatewayLog.Starting(logger, version, RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant());

GatewayHostSettings settings;
try
{
    string id = FirezoneIdFile.GetOrCreateGatewayId(arguments.FirezoneId);
    var apiUrl = new Uri(arguments.ApiUrl, UriKind.Absolute);
    string name = arguments.FirezoneName ?? Environment.MachineName;
    settings = new GatewayHostSettings(apiUrl, arguments.Token!, id, name, LoginUrl.Gateway(apiUrl, arguments.Token!, id, name), version);
}
catch (Exception e) when (e is FirezoneIdException or UriFormatException or ArgumentException)
{
    return Fail(logger, e.Message);
}

// Registered before /healthz answers, so a supervisor that saw the gateway healthy never kills it with an unhandled
// SIGTERM (upstream handles only SIGINT; fixed on purpose).
using var signals = new HostSignals(handleHangup: false, logger);
await using var health = new HealthCheckServer(arguments.HealthCheckAddress, () => true);
try
{
    health.Start();
    GatewayLog.HealthCheckListening(logger, health.LocalEndPoint);
}
catch (SocketException e)
{
    GatewayLog.HealthCheckBindFailed(logger, arguments.HealthCheckAddress, e.Message);
}

GatewayForwarding? forwarding = null;
if (arguments.SetupForwarding)
{
    try
    {
        forwarding = GatewayForwarding.Apply(logger: logger);
    }
    catch (InvalidOperationException e)
    {
        return Fail(logger, e.Message);
    }
}

using (forwarding)
{
    if (arguments.NoTunnel)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, signals.Stopping);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    using var tun = new LinuxHostTun(loggerFactory: loggerFactory);
    var context = new GatewayTunnelContext(loggerFactory, tun, signals, SystemdNotify.FromEnvironment(), new GatewayDnsResolver());
    try
    {
        return await GatewayTunnelRunner.RunAsync(settings, context, signals.Stopping);
    }
    catch (Firezone.Tun.TunDeviceException e)
    {
        return Fail(logger, e.Message);
    }
}

static int Fail(ILogger logger, string message)
{
    GatewayLog.Fatal(logger, message);
    return 1;
}
