using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>The relay host's behaviour around allocation sockets, over real UDP on 127.0.0.1.</summary>
public sealed class RelayHostAllocationTests
{
    private const string Secret = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    private static int? AllocateAndGetError(Socket socket, out IPEndPoint? relayed)
    {
        relayed = null;
        var first = new byte[64];
        var b = new StunMessageBuilder(first, StunMethod.Allocate, StunClass.Request, TransactionId.NewRandom());
        b.AddRequestedTransport();
        var challenge = Loopback.Exchange(socket, b.ToArray());
        Assert.True(StunMessage.TryParse(challenge, out var c, out _));
        Assert.Equal(401, c.ErrorCode);
        string nonce = c.Nonce!;

        ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600;
        string username = FirezoneCredentials.MakeUsername(expiry, "bindfailx1");
        var key = StunCredentials.LongTermKey(username, "firezone", FirezoneCredentials.ComputePassword(Secret, expiry, "bindfailx1"));
        var request = new byte[512];
        var a = new StunMessageBuilder(request, StunMethod.Allocate, StunClass.Request, TransactionId.NewRandom());
        a.AddRequestedTransport();
        a.AddUsername(username);
        a.AddRealm("firezone");
        a.AddNonce(nonce);
        a.AddMessageIntegrity(key);
        var response = Loopback.Exchange(socket, a.ToArray());
        Assert.True(StunMessage.TryParse(response, out var r, out _));
        Assert.True(r.VerifyMessageIntegrity(key), "the relay signs its responses with the request's key");
        if (r.Class == StunClass.SuccessResponse && r.TryGetXorRelayedAddress(out var address))
        {
            relayed = address;
        }

        return r.ErrorCode;
    }

    [Fact]
    public async Task Failed_allocation_socket_bind_answers_508_and_the_relay_keeps_running()
    {
        // Occupy the relay's only allocation port so its bind fails.
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int occupied = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        int port = Loopback.FreeUdpPort();
        int health = Loopback.FreeTcpPort();
        await using var relay = await Loopback.StartHealthyRelayAsync(
            Loopback.RelayHostArguments(port, health, occupied, occupied, Secret), health);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        client.ReceiveTimeout = 2000;

        Assert.Equal(508, AllocateAndGetError(client, out _));
        Assert.False(relay.HasExited, relay.Output);
        using var http = new HttpClient();
        Assert.Equal(200, (int)(await http.GetAsync($"http://127.0.0.1:{health}/healthz", TestContext.Current.CancellationToken)).StatusCode);

        // Free the port: the next Allocate from the same client succeeds on it.
        squatter.Close();
        Assert.Null(AllocateAndGetError(client, out var relayed));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, occupied), relayed);
    }
}
