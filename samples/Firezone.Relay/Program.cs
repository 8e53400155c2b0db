using System.Runtime.InteropServices;
using Firezone.Connlib.Hosting;
using Firezone.Connlib.Logging;
using Firezone.Hosts;
using Firezone.Connlib.Relay;
using Firezone.Relay;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;

RelayArguments arguments;
try
{
    arguments = RelayArguments.Parse(args, Environment.GetEnvironmentVariable);
}
catch (ArgumentException e)
{
    return HostStartup.UsageError(e, RelayArguments.WriteHelp, 1);
}

if (arguments.Informational is { } informational)
{
    return informational.Invoke(); // --help or --version
}

using var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(arguments.LogLevel).AddFirezoneLogging(arguments.LogFormat));
var logger = loggerFactory.CreateLogger("Firezone.Relay");
string version = HostStartup.Version(typeof(RelayArguments));

Action<Span<byte>>? random = null;
if (arguments.RngSeed is { } seed)
{
    var rng = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
    random = rng.NextBytes;
}

if (arguments.OtlpGrpcEndpoint is not null)
{
    RelayLog.OtlpNotBuiltIn(logger);
}

var session = new RelaySession(
    new RelaySessionOptions
    {
        Server = new TurnServerOptions
        {
            PublicIPv4 = arguments.PublicIPv4,
            PublicIPv6 = arguments.PublicIPv6,
            ListenPort = arguments.ListenPort,
            LowestPort = arguments.LowestPort,
            HighestPort = arguments.HighestPort,
            AuthSecret = arguments.StampSecret,
            Random = random,
        },
        ListenAddresses = arguments.ListenAddresses,
    },
    loggerFactory);

try
{
    session.Start();
}
catch (System.Net.Sockets.SocketException e)
{
    RelayLog.ListenBindFailed(logger, e.Message);
    await session.DisposeAsync();
    return 1;
}

RelayPortalConnection? portal = null;
if (arguments.Token is { } token)
{
    try
    {
        portal = new RelayPortalConnection(
            new RelayPortalOptions
            {
                ApiUrl = new Uri(arguments.ApiUrl),
                Token = token,
                Name = arguments.Name,
                PublicIPv4 = arguments.PublicIPv4,
                PublicIPv6 = arguments.PublicIPv6,
                ListenPort = arguments.ListenPort,
                StampSecret = session.AuthSecret,
                Version = version,
            },
            loggerFactory);
    }
    catch (Exception e) when (e is ArgumentException or UriFormatException)
    {
        RelayLog.InvalidPortalUrl(logger, arguments.ApiUrl, e.Message);
        await session.DisposeAsync();
        return 1;
    }
}

// SIGTERM: the first drains (portal closed, exit 0 once no allocation is left), a second exits at once; a fatal portal
// error exits with its code. The rule lives in Connlib's RelayShutdown. Registered before /healthz answers, so a
// supervisor that saw the relay healthy never kills it with an unhandled SIGTERM.
using var shutdown = new RelayShutdown(session, portal, loggerFactory);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    shutdown.RequestTermination();
});

await using var health = new HealthCheckServer(arguments.HealthCheckAddress, () => portal?.IsHealthy(DateTimeOffset.UtcNow) ?? true);
try
{
    health.Start();
    RelayLog.HealthCheckListening(logger, health.LocalEndPoint);
}
catch (System.Net.Sockets.SocketException e)
{
    RelayLog.HealthCheckBindFailed(logger, arguments.HealthCheckAddress, e.Message);
    await session.DisposeAsync();
    return 1;
}

RelayLog.Started(logger, version);
if (portal is null)
{
    RelayLog.Standalone(logger);
}
else
{
    try
    {
        portal.Start();
    }
    catch (Exception e) when (e is ArgumentException or UriFormatException or InvalidOperationException)
    {
        RelayLog.PortalStartFailed(logger, e.Message);
        await session.DisposeAsync();
        return 1;
    }
}

int exitCode = await shutdown.Completion;
if (portal is not null)
{
    await portal.DisposeAsync();
}

await session.DisposeAsync();
return exitCode;
