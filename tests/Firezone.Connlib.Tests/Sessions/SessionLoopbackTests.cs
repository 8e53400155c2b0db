using System.Collections.Concurrent;
using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Sessions;
using Firezone.Connlib.Tests.Dns;
using Firezone.DevPortal;
using Firezone.PhoenixChannel;
using Firezone.Tun;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Sessions;

/// <summary>
/// A <see cref="ClientSession"/> and a <see cref="GatewaySession"/> over real loopback UDP with in-memory TUN devices,
/// the test playing the portal (<see cref="SessionWorld"/>): no root needed.
/// </summary>
public sealed class SessionLoopbackTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_ping_into_the_client_tun_comes_out_of_the_gateway_tun_and_the_reply_comes_back()
    {
        await using var world = await SessionWorld.StartAsync();
        using var stop = new CancellationTokenSource();
        var atGateway = new ConcurrentQueue<byte[]>();
        var resourceHost = world.AnswerAtGateway(atGateway, stop.Token);

        var reply = await world.SendUntilAnsweredAsync(SessionWorld.Ping(SessionWorld.ResourceHost, 1),
            p => SessionWorld.IsEchoReplyFrom(p, SessionWorld.ResourceHost), Patience);

        Assert.NotNull(reply);
        Assert.Contains(atGateway, p => IpPacket.TryParse(p, out var ip) == IpParseError.None
            && ip.Source.Equals(SessionWorld.ClientV4) && ip.Destination.Equals(SessionWorld.ResourceHost));
        Assert.Empty(world.PortalErrors);
        await stop.CancelAsync();
        await resourceHost;
    }

    [Fact]
    public async Task With_the_direct_path_blocked_traffic_flows_through_our_relay()
    {
        await using var world = await SessionWorld.StartAsync(blockDirect: true);
        using var stop = new CancellationTokenSource();
        var resourceHost = world.AnswerAtGateway(new ConcurrentQueue<byte[]>(), stop.Token);
        long relayedBefore = world.Relay.RelayedBytes;

        var reply = await world.SendUntilAnsweredAsync(SessionWorld.Ping(SessionWorld.ResourceHost, 1),
            p => SessionWorld.IsEchoReplyFrom(p, SessionWorld.ResourceHost), TimeSpan.FromSeconds(30));

        Assert.NotNull(reply);
        Assert.True(world.Relay.RelayedBytes > relayedBefore, "the relay relayed nothing");
        Assert.True(world.Relay.ChannelCount > 0);
        await stop.CancelAsync();
        await resourceHost;
    }

    [Fact]
    public async Task A_dns_resource_is_resolved_through_the_sentinel_and_reached_through_the_tunnel()
    {
        await using var world = await SessionWorld.StartAsync();
        using var stop = new CancellationTokenSource();
        var atGateway = new ConcurrentQueue<byte[]>();
        var resourceHost = world.AnswerAtGateway(atGateway, stop.Token);

        // The interface config names the sentinel the application must use as its DNS server.
        var deadline = DateTime.UtcNow + Patience;
        InterfaceConfigEventArgs? config = null;
        while (DateTime.UtcNow < deadline && (config = world.ClientInterfaces.LastOrDefault(c => c.DnsServers.Count > 0)) is null)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.NotNull(config);
        var sentinel = config.DnsServers.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        Assert.True(IPNetwork.Parse("100.100.111.0/24").Contains(sentinel), $"{sentinel} is not a sentinel");

        var queryBytes = DnsTestMessages.Query(SessionWorld.DnsResourceName, DnsRecordType.A);
        var packet = new byte[1280];
        int length = PacketBuilder.Udp(packet, SessionWorld.ClientV4, sentinel, 53000, 53, queryBytes);
        IPAddress? proxy = null;
        var answer = await world.SendUntilAnsweredAsync(packet[..length], p =>
        {
            if (IpPacket.TryParse(p, out var ip) != IpParseError.None || !ip.TryGetUdp(out var udp) || udp.SourcePort != 53)
            {
                return false;
            }

            var message = ARSoft.Tools.Net.Dns.DnsMessage.Parse(udp.Payload.ToArray());
            proxy = message.AnswerRecords.OfType<ARSoft.Tools.Net.Dns.ARecord>().FirstOrDefault()?.Address;
            return proxy is not null;
        }, Patience);

        Assert.NotNull(answer);
        Assert.True(IPNetwork.Parse("100.96.0.0/11").Contains(proxy!), $"{proxy} is not a proxy IP");

        var reply = await world.SendUntilAnsweredAsync(SessionWorld.Ping(proxy!, 7), p => SessionWorld.IsEchoReplyFrom(p, proxy!), Patience);

        Assert.NotNull(reply);
        // At the gateway the proxy IP became the name's real address (resolved through the session's resolver).
        Assert.Contains(atGateway, p => IpPacket.TryParse(p, out var ip) == IpParseError.None && ip.Destination.Equals(SessionWorld.DnsResourceRealIp));
        await stop.CancelAsync();
        await resourceHost;
    }

    [Fact]
    public async Task A_portal_auth_error_401_ends_completion_with_that_reason()
    {
        await using var portal = new PortalServer(new PortalServerOptions { RejectUpgrade = _ => 401 });
        await portal.StartAsync(TestContext.Current.CancellationToken);
        using var tun = new InMemoryTun();
        await using var session = new ClientSession(new ClientSessionOptions
        {
            ApiUrl = portal.ApiUrl,
            Token = "bad-token",
            FirezoneId = "client-1",
            Tun = tun,
            IPv4BindAddress = IPAddress.Loopback,
            IPv6BindAddress = IPAddress.IPv6Loopback,
            SocketBufferSize = 0,
        });
        SessionEnd? raised = null;
        session.Disconnected += (_, e) => raised = e.End;
        session.Start();

        var end = await session.Completion.WaitAsync(Patience, TestContext.Current.CancellationToken);

        Assert.Equal(SessionEndReason.PortalError, end.Reason);
        Assert.True(end.IsAuthenticationError);
        var error = Assert.IsType<PhoenixChannelException>(end.Error);
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        await session.StopAsync();
        Assert.Equal(end, raised);
    }

    [Fact]
    public async Task Stop_leaves_no_session_thread_running()
    {
        var world = await SessionWorld.StartAsync();
        bool disconnected = false;
        world.Client.Disconnected += (_, _) => disconnected = true;
        var threads = world.Client.Tunnel.Threads.Concat(world.Gateway.Tunnel.Threads).ToList();
        Assert.All(threads, t => Assert.True(t.IsAlive, $"{t.Name} not running"));

        await world.DisposeAsync();

        Assert.All(threads, t => Assert.False(t.IsAlive, $"{t.Name} still running"));
        Assert.Equal(SessionEndReason.Stopped, (await world.Client.Completion).Reason);
        Assert.Equal(SessionEndReason.Stopped, (await world.Gateway.Completion).Reason);
        Assert.False(disconnected); // on_disconnect is for errors only
    }

    [Fact]
    public async Task After_a_reset_the_client_reconnects_with_a_new_key_and_new_sockets_and_traffic_flows_again()
    {
        await using var world = await SessionWorld.StartAsync();
        using var stop = new CancellationTokenSource();
        var resourceHost = world.AnswerAtGateway(new ConcurrentQueue<byte[]>(), stop.Token);
        Assert.NotNull(await world.SendUntilAnsweredAsync(SessionWorld.Ping(SessionWorld.ResourceHost, 1),
            p => SessionWorld.IsEchoReplyFrom(p, SessionWorld.ResourceHost), Patience));
        var firstPortal = world.ClientPortal!;
        var firstKey = firstPortal.Query["public_key"];
        var firstPorts = world.Client.Tunnel.LocalPorts();

        world.Client.Reset();

        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline && ReferenceEquals(world.ClientPortal, firstPortal))
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.NotSame(firstPortal, world.ClientPortal);
        Assert.NotEqual(firstKey, world.ClientPortal!.Query["public_key"]); // tunnel spec §4.8: a new key pair
        Assert.NotEqual(firstPorts, world.Client.Tunnel.LocalPorts()); // new sockets, new ports
        Assert.NotNull(await world.SendUntilAnsweredAsync(SessionWorld.Ping(SessionWorld.ResourceHost, 2),
            p => SessionWorld.IsEchoReplyFrom(p, SessionWorld.ResourceHost), Patience));
        await stop.CancelAsync();
        await resourceHost;
    }

    [Fact]
    public async Task A_query_for_a_name_that_is_no_resource_is_resolved_through_the_hosts_sockets_and_answered_from_the_sentinel()
    {
        using var dnsServer = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        dnsServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var upstream = (IPEndPoint)dnsServer.LocalEndPoint!;
        await using var world = await SessionWorld.StartAsync(configure: w => w.UpstreamDns = [upstream]);
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            while (!stop.IsCancellationRequested)
            {
                var r = await dnsServer.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), stop.Token);
                var answer = buffer[..r.ReceivedBytes];
                answer[2] |= 0x80; // a response: QR set, no answers (enough to prove the round trip)
                await dnsServer.SendToAsync(answer, r.RemoteEndPoint, stop.Token);
            }
        }, stop.Token);

        var deadline = DateTime.UtcNow + Patience;
        InterfaceConfigEventArgs? config = null;
        while (DateTime.UtcNow < deadline && (config = world.ClientInterfaces.LastOrDefault(c => c.DnsServers.Count > 0)) is null)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.NotNull(config);
        var sentinel = config.DnsServers.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        var query = DnsTestMessages.Query("elsewhere.example", DnsRecordType.A, 0x4321);
        var packet = new byte[1280];
        int length = PacketBuilder.Udp(packet, SessionWorld.ClientV4, sentinel, 53001, 53, query);

        var answer = await world.SendUntilAnsweredAsync(packet[..length], p => IpPacket.TryParse(p, out var ip) == IpParseError.None
            && ip.Source.Equals(sentinel) && ip.TryGetUdp(out var udp) && udp.SourcePort == 53 && udp.Payload.Length >= 4
            && udp.Payload[0] == 0x43 && udp.Payload[1] == 0x21 && (udp.Payload[2] & 0x80) != 0, Patience);

        Assert.NotNull(answer); // through PollDnsQuery → the host's UDP socket → our server → HandleDnsResponse → the TUN
        await stop.CancelAsync();
        try
        {
            await serving;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
