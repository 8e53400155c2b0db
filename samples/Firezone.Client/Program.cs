using System.Runtime.InteropServices;
using Firezone.Client;
using Firezone.Connlib.Hosting;
using Firezone.Connlib.Logging;
using Firezone.Hosts;
using Firezone.PhoenixChannel;
using Microsoft.Extensions.Logging;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// firezone-headless-client (hosts-and-tun.md §7.1): parse → take FIREZONE_TOKEN out of the environment → logging →
// revert DNS control left by a crash → token → id → --check → signals, TUN, network monitor → the tunnel.
ClientArguments arguments;
try
{
    arguments = ClientArguments.Parse(args, Environment.GetEnvironmentVariable);
}
catch (ArgumentException e)
{
    return HostStartup.UsageError(e, ClientArguments.WriteHelp, 1);
}

if (arguments.Informational is { } informational)
{
    return informational.Invoke(); // --help or --version: exit 0 (upstream exits 1, a quirk not copied)
}

_ = TokenSource.TakeFromEnvironment(); // already read by the parser; child processes must not see it

if (HostStartup.ParseRustLog() is not { } filter)
{
    return 1;
}

LogDirectory? logFiles = null;
if (arguments.LogDirectory is { } logDirectory)
{
    try
    {
        logFiles = LogDirectory.Open(logDirectory, DateTimeOffset.UtcNow);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"Error: Failed to open the log directory `{logDirectory}`: {e.Message}");
        return 1;
    }
}

string version = HostStartup.Version(typeof(ClientArguments));
int exitCode;
using (var loggerFactory = HostStartup.CreateLoggerFactory(filter, logFiles))
{
    var logger = loggerFactory.CreateLogger("Firezone.Client");
    exitCode = await RunAsync(arguments, loggerFactory, logger, version);
}

logFiles?.Dispose();
return exitCode;

static async Task<int> RunAsync(ClientArguments arguments, ILoggerFactory loggerFactory, ILogger logger, string version)
{
    DnsControl dns;
    try
    {
        dns = DnsControl.Create(arguments.DnsControl, new DnsControlOptions { ResolvConfPath = arguments.ResolvConfPath }, loggerFactory.CreateLogger("Firezone.Client.Dns"));
        dns.Deactivate(); // crash recovery: a previous run may have left its DNS configuration behind
    }
    catch (DnsControlException e)
    {
        return Fail(logger, e.Message);
    }

    using (dns)
    {
        ClientLog.Starting(logger, RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(), version);
        ClientHostSettings settings;
        try
        {
            string token = TokenSource.Resolve(arguments.Token, arguments.TokenPath);
            string id = FirezoneIdFile.GetOrCreateClientId(arguments.FirezoneId);
            var apiUrl = new Uri(arguments.ApiUrl, UriKind.Absolute);
            string name = arguments.FirezoneName ?? Environment.MachineName;
            var device = SmbiosDeviceInfo.Read();
            settings = new ClientHostSettings(apiUrl, token, id, name, device, LoginUrl.Client(apiUrl, token, id, name, device),
                arguments.MaxPartitionTime, arguments.DnsControl, version);
        }
        catch (Exception e) when (e is TokenException or FirezoneIdException or UriFormatException or ArgumentException)
        {
            return Fail(logger, e.Message);
        }

        if (arguments.Check)
        {
            ClientLog.CheckPassed(logger);
            return 0;
        }

        using var signals = new HostSignals(handleHangup: true, loggerFactory.CreateLogger("Firezone.Client"));
        using IHostTun tun = arguments.NoTunnel ? new StandInTunnel.NoTun() : new LinuxHostTun(loggerFactory: loggerFactory);
        NetworkChangeMonitor? monitor = null;
        try
        {
            monitor = new NetworkChangeMonitor(new NetworkChangeMonitorOptions { FireOnStart = true }, loggerFactory.CreateLogger("Firezone.Client.Network"));
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException)
        {
            ClientLog.NoNetworkMonitor(logger, e.Message);
        }

        using var context = new ClientTunnelContext(loggerFactory, tun, dns, SystemdNotify.FromEnvironment(), signals, arguments.Exit, monitor);
        try
        {
            return arguments.NoTunnel
                ? await StandInTunnel.RunAsync(context, signals.Stopping)
                : await ClientTunnelRunner.RunAsync(settings, context, signals.Stopping);
        }
        catch (Exception e) when (e is DnsControlException or Firezone.Tun.TunDeviceException)
        {
            return Fail(logger, e.Message);
        }
    }
}

static int Fail(ILogger logger, string message)
{
    ClientLog.Fatal(logger, message);
    Console.Error.WriteLine($"Error: {message}");
    return 1;
}
