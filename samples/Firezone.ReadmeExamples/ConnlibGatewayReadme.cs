using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;

namespace ReadmeExamples;

/// <summary>The gateway code block of src/Firezone.Connlib/README.md (a fragment: the variables it uses are parameters).</summary>
public static class ConnlibGatewayReadme
{
    public static void GatewayExample(byte[] seed, TimeSpan now, ILoggerFactory loggerFactory, IEnumerable<TurnRelay> relays,
        ClientId clientId, byte[] clientKey, byte[] psk, Credentials clientIce, Credentials gatewayIce, IPAddress clientV4,
        IPAddress clientV6, DateTimeOffset? expiresAt, GatewayResource resource, byte[] datagram, IPEndPoint from,
        IPEndPoint local, byte[] buffer, Stream tun, Socket socket)
    {
        #region readme: src/Firezone.Connlib/README.md
        using var gateway = new GatewayState(seed, now, DateTimeOffset.UtcNow, loggerFactory);
        gateway.UpdateRelays([], relays, now);
        gateway.AuthorizeFlow(clientId, clientKey, psk, clientIce, gatewayIce, clientV4, clientV6, expiresAt, resource, now);

        var r = gateway.HandleNetworkInput(datagram, from, local, buffer, now);
        if (r.Status == NetworkInputStatus.Packet)
        {
            tun.Write(buffer, r.Offset, r.Length);                               // decrypted, allowed, NAT applied
        }
        else
        {
            gateway.HandleTimeout(now, DateTimeOffset.UtcNow);                   // errors are values: log them and go on
        }

        while (gateway.PollTransmit() is { } t)
        {
            socket.SendTo(t.Payload.Span, SocketFlags.None, t.Destination);
        }
        #endregion
    }
}
