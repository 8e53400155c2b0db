using System.Net;
using Firezone.Connlib.Relay;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;

namespace Firezone.Demo;

/// <summary>
/// Our relay, in process: a <see cref="RelaySession"/> (the TURN server on 127.0.0.1) joined to the dev portal through
/// a <see cref="RelayPortalConnection"/> with its stamp secret, as <c>samples/Firezone.Relay</c> runs it. Stopping it
/// drops every allocation (the portal tells clients and gateways it left); starting it again comes back on the same
/// port with a new secret, so peers must allocate afresh.
/// </summary>
internal sealed class DemoRelay(Uri apiUrl, string token, int port, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private RelaySession? _session;
    private RelayPortalConnection? _portal;

    /// <summary>The relay's listening socket (what a blocked direct path still lets through).</summary>
    public IPEndPoint Endpoint { get; } = new(IPAddress.Loopback, port);

    /// <summary>Starts the TURN server and joins the portal.</summary>
    public void Start()
    {
        _session = new RelaySession(new RelaySessionOptions
        {
            Server = new TurnServerOptions { PublicIPv4 = IPAddress.Loopback, ListenPort = port },
            ListenAddresses = [IPAddress.Loopback],
        }, loggerFactory);
        _session.Start();
        _portal = new RelayPortalConnection(new RelayPortalOptions
        {
            ApiUrl = apiUrl,
            Token = token,
            Name = "demo-relay",
            PublicIPv4 = IPAddress.Loopback,
            ListenPort = port,
            StampSecret = _session.AuthSecret,
            Version = "1.0.0",
        }, loggerFactory);
        _portal.Start();
    }

    /// <summary>Leaves the portal and stops relaying (every allocation is gone).</summary>
    public async Task StopAsync()
    {
        if (_portal is { } portal)
        {
            _portal = null;
            await portal.DisposeAsync();
        }

        if (_session is { } session)
        {
            _session = null;
            await session.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
