using System.Runtime.InteropServices;
using Firezone.DevPortal;
using Firezone.DevPortal.Config;
using Microsoft.Extensions.Logging;

// The dev portal host: command line, config file, signals; everything else is in Firezone.DevPortal.Server.
// Exit codes: 0 after SIGTERM/SIGINT (or --help), 1 on a usage error or when the port cannot be bound, 2 on a bad config file.
DevPortalArguments arguments;
try
{
    arguments = DevPortalArguments.Parse(args);
}
catch (ArgumentException e)
{
    foreach (string line in e.Message.Split('\n'))
    {
        Console.Error.WriteLine($"error: {line}");
    }

    Console.Error.WriteLine();
    DevPortalArguments.WriteHelp(Console.Error);
    return 1;
}

if (arguments.Informational is { } informational)
{
    return informational.Invoke();
}

DevPortalConfig config;
try
{
    config = arguments.ConfigPath is { } path ? DevPortalConfig.Load(path) : DevPortalConfig.Default;
}
catch (DevPortalConfigException e)
{
    Console.Error.WriteLine($"error: bad config: {e.Message}");
    return 2;
}

using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(arguments.LogLevel)
    .AddFilter("Microsoft", LogLevel.Warning)
    .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None) // a bind failure is reported below, in one line
    .AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
}));
var log = loggerFactory.CreateLogger("Firezone.DevPortal");
if (arguments.ConfigPath is null)
{
    log.LogInformation("No --config: using the built-in config (client-token, gateway-token, relay-token; see --help)");
}

using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true; // we exit ourselves, after closing the sockets
    log.LogInformation("{Signal}: stopping", context.Signal);
    stop.Cancel();
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

var portal = new DevPortalHost(new DevPortalOptions
{
    Config = config,
    ConfigPath = arguments.ConfigPath,
    Address = arguments.ListenAddress,
    Port = arguments.Port,
    LoggerFactory = loggerFactory,
});
try
{
    await portal.StartAsync(stop.Token);
}
catch (IOException e)
{
    log.LogError("Cannot listen on {Address}:{Port}: {Reason}", arguments.ListenAddress, arguments.Port, e.Message);
    return 1;
}

try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

await portal.DisposeAsync();
log.LogInformation("Stopped");
return 0;
