using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// Generic-host registration of the sessions: the session as a singleton and a hosted service that starts it with the
/// host and stops it with the host. When the session ends on its own (a permanent portal error such as a rejected
/// token, or a crash) the hosted service asks the host to stop (<see cref="IHostApplicationLifetime.StopApplication"/>);
/// read the reason from the session's <c>Completion</c>.
/// </summary>
public static class FirezoneServiceCollectionExtensions
{
    /// <summary>Registers a <see cref="ClientSession"/> made from <paramref name="options"/> (may use the container, e.g. for an <c>IMeterFactory</c>).</summary>
    public static IServiceCollection AddFirezoneClient(this IServiceCollection services, Func<IServiceProvider, ClientSessionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(sp => new ClientSession(options(sp), sp.GetService<ILoggerFactory>()));
        services.AddHostedService(sp => new SessionHostedService(
            () => sp.GetRequiredService<ClientSession>().Start(),
            () => sp.GetRequiredService<ClientSession>().StopAsync(),
            () => sp.GetRequiredService<ClientSession>().Completion,
            sp.GetService<IHostApplicationLifetime>()));
        return services;
    }

    /// <summary>Registers a <see cref="ClientSession"/> with fixed <paramref name="options"/>.</summary>
    public static IServiceCollection AddFirezoneClient(this IServiceCollection services, ClientSessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddFirezoneClient(_ => options);
    }

    /// <summary>Registers a <see cref="GatewaySession"/> made from <paramref name="options"/>.</summary>
    public static IServiceCollection AddFirezoneGateway(this IServiceCollection services, Func<IServiceProvider, GatewaySessionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(sp => new GatewaySession(options(sp), sp.GetService<ILoggerFactory>()));
        services.AddHostedService(sp => new SessionHostedService(
            () => sp.GetRequiredService<GatewaySession>().Start(),
            () => sp.GetRequiredService<GatewaySession>().StopAsync(),
            () => sp.GetRequiredService<GatewaySession>().Completion,
            sp.GetService<IHostApplicationLifetime>()));
        return services;
    }

    /// <summary>Registers a <see cref="GatewaySession"/> with fixed <paramref name="options"/>.</summary>
    public static IServiceCollection AddFirezoneGateway(this IServiceCollection services, GatewaySessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddFirezoneGateway(_ => options);
    }

    private sealed class SessionHostedService(Action start, Func<Task> stop, Func<Task<SessionEnd>> completion, IHostApplicationLifetime? lifetime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            start();
            _ = completion().ContinueWith(t =>
            {
                if (t.Result.Reason != SessionEndReason.Stopped)
                {
                    lifetime?.StopApplication();
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => stop();
    }
}
