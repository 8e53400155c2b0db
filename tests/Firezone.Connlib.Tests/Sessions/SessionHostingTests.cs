using System.Net;
using Firezone.Connlib.Sessions;
using Firezone.DevPortal;
using Firezone.Tun;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Tests.Sessions;

/// <summary><c>AddFirezoneClient</c>/<c>AddFirezoneGateway</c> in a generic host.</summary>
public sealed class SessionHostingTests
{
    [Fact]
    public async Task A_hosted_client_session_starts_with_the_host_and_a_fatal_portal_error_stops_the_host()
    {
        await using var portal = new PortalServer(new PortalServerOptions { RejectUpgrade = _ => 403 });
        await portal.StartAsync(TestContext.Current.CancellationToken);
        using var tun = new InMemoryTun();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddFirezoneClient(new ClientSessionOptions
        {
            ApiUrl = portal.ApiUrl,
            Token = "disabled-account",
            FirezoneId = "client-1",
            Tun = tun,
            IPv4BindAddress = IPAddress.Loopback,
            IPv6BindAddress = IPAddress.IPv6Loopback,
            SocketBufferSize = 0,
        });
        using var host = builder.Build();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.WaitForShutdownAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        var end = await host.Services.GetRequiredService<ClientSession>().Completion;
        Assert.Equal(SessionEndReason.PortalError, end.Reason);
        Assert.True(end.IsAuthenticationError); // 403 counts, as upstream's is_authentication_error
    }

    [Fact]
    public async Task A_hosted_gateway_session_is_stopped_with_the_host()
    {
        await using var portal = new PortalServer(new PortalServerOptions());
        await portal.StartAsync(TestContext.Current.CancellationToken);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddFirezoneGateway(_ => new GatewaySessionOptions
        {
            ApiUrl = portal.ApiUrl,
            Token = "gateway-token",
            FirezoneId = "gateway-1",
            IPv4BindAddress = IPAddress.Loopback,
            IPv6BindAddress = IPAddress.IPv6Loopback,
            SocketBufferSize = 0,
        });
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        var session = host.Services.GetRequiredService<GatewaySession>();
        var joined = await portal.Joined.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal("gateway", joined.Mode);

        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(SessionEndReason.Stopped, (await session.Completion).Reason);
        Assert.All(session.Tunnel.Threads, t => Assert.False(t.IsAlive));
    }
}
