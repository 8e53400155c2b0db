using System.Net;
using Firezone.Connlib.Sessions;
using Firezone.Tun;
using Microsoft.Extensions.Logging;

namespace ReadmeExamples;

/// <summary>The session code blocks of src/Firezone.Connlib/README.md.</summary>
public static class ConnlibSessionReadme
{
    public static async Task<int> CustomClient(string token, ILoggerFactory loggerFactory)
    {
        #region readme: src/Firezone.Connlib/README.md
        using var tun = new InMemoryTun(); // or LinuxTun (root): the same ITun
        await using var session = new ClientSession(new ClientSessionOptions
        {
            ApiUrl = new Uri("ws://127.0.0.1:8081"),       // a dev portal; wss://api.firezone.dev in production
            Token = token,
            FirezoneId = "6f1c0d4e-2b8a-4c5e-9a1d-3e7f5b2c8a90", // persisted per device
            Tun = tun,
            SystemDnsServers = [IPAddress.Parse("198.18.0.53")],
            MaxPartitionTime = TimeSpan.FromMinutes(30),    // null: retry the portal forever
        }, loggerFactory);

        session.InterfaceConfigUpdated += (_, e) =>         // configure the device: addresses, sentinel DNS servers
            Console.WriteLine($"TUN {e.IPv4} {e.IPv6}, DNS {string.Join(", ", e.DnsServers)}");
        session.RoutesUpdated += (_, e) => Console.WriteLine($"{e.IPv4Routes.Count + e.IPv6Routes.Count} routes");
        session.ResourcesUpdated += (_, e) =>
        {
            foreach (var view in e.Resources)
            {
                Console.WriteLine($"{view.Resource.Name}: {view.Status}");
            }
        };

        session.Start();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; _ = session.StopAsync(); });
        using var sighup = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGHUP, _ => session.Reset()); // network changed: new key, new sockets

        var end = await session.Completion;                 // stopped, a permanent portal error, or a crash
        Console.WriteLine(end.IsAuthenticationError ? "Sign in again" : $"Ended: {end.Reason} {end.Error?.Message}");
        return end.Reason == SessionEndReason.Stopped ? 0 : 1;
        #endregion
    }

    public static void GenericHost(Microsoft.Extensions.DependencyInjection.IServiceCollection services, string token, ITun tun)
    {
        #region readme: src/Firezone.Connlib/README.md
        services.AddFirezoneGateway(sp => new GatewaySessionOptions
        {
            ApiUrl = new Uri("wss://api.firezone.dev"),
            Token = token,
            FirezoneId = File.ReadAllText("/var/lib/firezone/gateway_id"),
            Tun = tun,
            MeterFactory = (System.Diagnostics.Metrics.IMeterFactory?)sp.GetService(typeof(System.Diagnostics.Metrics.IMeterFactory)),
        }); // the host starts and stops it; a fatal portal error stops the host
        #endregion
    }
}
