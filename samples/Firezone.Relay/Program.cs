using System.Reflection;
using System.Runtime.InteropServices;
using Firezone.Connlib.Hosting;
using Firezone.Connlib.Relay;
using Firezone.Relay;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;

RelayArguments arguments;
try
{
    arguments = RelayArguments.Parse(args, Environment.GetEnvironmentVariable);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(RelayArguments.Usage);
    return 1;
}

if (arguments.Help)
{
    Console.WriteLine(RelayArguments.Usage);
    return 0;
}

using var loggerFactory = LoggerFactory.Create(builder =>
{
    builder.SetMinimumLevel(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("LOG_LEVEL"), true, out var level) ? level : LogLevel.Information);
    if (arguments.LogFormat == "human")
    {
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
    }
    else
    {
        builder.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
    }
});
var logger = loggerFactory.CreateLogger("Firezone.Relay");
string version = typeof(RelayArguments).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

Action<Span<byte>>? random = null;
if (arguments.RngSeed is { } seed)
{
    var rng = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
    random = rng.NextBytes;
}

if (arguments.OtlpGrpcEndpoint is not null)
{
    logger.LogWarning("OTLP export is not built in; metrics are published on the System.Diagnostics.Metrics meter \"relay\" (use dotnet-counters or an OpenTelemetry host)");
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
        ListenAddresses = arguments.ListenAddress is { } listen ? [listen] : [],
    },
    loggerFactory);

try
{
    session.Start();
}
catch (System.Net.Sockets.SocketException e)
{
    logger.LogError("Failed to bind the listening socket: {Reason}", e.Message);
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
        logger.LogError("Invalid portal URL {Url}: {Reason}", arguments.ApiUrl, e.Message);
        await session.DisposeAsync();
        return 1;
    }
}

await using var health = new HealthCheckServer(arguments.HealthCheckAddress, () => portal?.IsHealthy(DateTimeOffset.UtcNow) ?? true);
try
{
    health.Start();
    logger.LogInformation("Health check on http://{EndPoint}/healthz", health.LocalEndPoint);
}
catch (System.Net.Sockets.SocketException e)
{
    logger.LogError("Failed to bind the health-check address {Address}: {Reason}", arguments.HealthCheckAddress, e.Message);
    await session.DisposeAsync();
    return 1;
}

logger.LogInformation("firezone-relay {Version} started", version);
if (portal is null)
{
    logger.LogWarning("No FIREZONE_TOKEN: running standalone; credentials must be minted with the stamp secret given on the command line");
}

// SIGTERM: first one starts draining (close the portal, keep relaying, exit 0 once the portal is closed and no allocation is left);
// a second one exits immediately.
int terminations = 0;
var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    if (Interlocked.Increment(ref terminations) == 1)
    {
        logger.LogInformation("SIGTERM: draining (waiting for allocations to end); send SIGTERM again to exit now");
        _ = portal?.CloseAsync();
    }
    else
    {
        exit.TrySetResult(0);
    }
});

if (portal is not null)
{
    try
    {
        portal.Start();
    }
    catch (Exception e) when (e is ArgumentException or UriFormatException or InvalidOperationException)
    {
        logger.LogError("Cannot connect to the portal: {Reason}", e.Message);
        await session.DisposeAsync();
        return 1;
    }

    // A fatal portal error (4xx on upgrade, token_expired, join refused, backoff exhausted) ends the process with 1.
    _ = portal.Completion.ContinueWith(t => { if (t.Result is { } code) { exit.TrySetResult(code); } }, TaskScheduler.Default);
}

while (!exit.Task.IsCompleted)
{
    await Task.WhenAny(exit.Task, Task.Delay(TimeSpan.FromSeconds(1)));
    if (Volatile.Read(ref terminations) > 0 && (portal?.IsClosed ?? true) && session.AllocationCount == 0)
    {
        logger.LogInformation("Drained: no allocations left");
        exit.TrySetResult(0);
    }
}

if (portal is not null)
{
    await portal.DisposeAsync();
}

await session.DisposeAsync();
return await exit.Task;
