using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Connlib.Relay;
using Firezone.Connlib.Sessions;
using Firezone.DevPortal;
using Firezone.Snownet;
using Firezone.Snownet.Turn;
using Firezone.Tun;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Tests.Sessions;

/// <summary>
/// A whole deployment on loopback for the session tests: our relay (<see cref="RelaySession"/> on 127.0.0.1, credentials
/// minted from its secret as samples/Firezone.Relay/README.md explains), a scripted <see cref="PortalServer"/> that
/// plays the portal (init with one CIDR resource and one DNS resource; answers prepare_connection; forwards
/// request_connection to the gateway and connection_ready back; relays ICE candidates), a <see cref="GatewaySession"/>
/// and a <see cref="ClientSession"/> with <see cref="InMemoryTun"/>s. With <c>blockDirect</c> both sessions drop every
/// datagram not addressed to the relay's listening socket, so only the relayed candidate pair can work.
/// </summary>
internal sealed class SessionWorld : IAsyncDisposable
{
    public const string RelaySecret = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    public static readonly IPAddress ClientV4 = IPAddress.Parse("100.64.0.1");
    public static readonly IPAddress ClientV6 = IPAddress.Parse("fd00:2021:1111::1");
    public static readonly IPAddress ResourceHost = IPAddress.Parse("198.19.0.5");
    public static readonly IPAddress DnsResourceRealIp = IPAddress.Parse("198.19.1.7");
    public const string DnsResourceName = "app.session.test";
    public static readonly ClientId TheClient = new(Guid.Parse("00000000-0000-0000-0000-0000000000c1"));
    public static readonly GatewayId TheGateway = new(Guid.Parse("00000000-0000-0000-0000-0000000000a1"));
    public static readonly Site TheSite = new(new SiteId(Guid.Parse("00000000-0000-0000-0000-0000000000b1")), "loopback");
    public static readonly ResourceId CidrId = new(Guid.Parse("00000000-0000-0000-0000-0000000000d1"));
    public static readonly ResourceId DnsId = new(Guid.Parse("00000000-0000-0000-0000-0000000000d2"));
    public static readonly RelayId TheRelay = new(Guid.Parse("00000000-0000-0000-0000-0000000000e1"));

    private readonly Channel<Func<Task>> _pushes = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, (PortalSession Client, ulong Ref, ResourceId Resource)> _pendingConnections = new();
    private readonly Task _pusher;
    private int _refs;

    private SessionWorld(RelaySession relay, PortalServer portal)
    {
        Relay = relay;
        Portal = portal;
        _pusher = Task.Run(async () =>
        {
            await foreach (var push in _pushes.Reader.ReadAllAsync())
            {
                try
                {
                    await push();
                }
                catch (Exception e)
                {
                    PortalErrors.Add(e.Message);
                }
            }
        });
    }

    public RelaySession Relay { get; }

    public PortalServer Portal { get; }

    public IPEndPoint RelayEndPoint => Relay.ListenEndPoints.Single();

    public InMemoryTun ClientTun { get; } = new("tun-client");

    public InMemoryTun GatewayTun { get; } = new("tun-gateway");

    public ClientSession Client { get; private set; } = null!;

    public GatewaySession Gateway { get; private set; } = null!;

    public PortalSession? ClientPortal { get; private set; }

    public PortalSession? GatewayPortal { get; private set; }

    public ConcurrentBag<string> PortalErrors { get; } = [];

    /// <summary>The upstream DNS servers the portal's client init configures (set in <c>configure</c>).</summary>
    public IReadOnlyList<IPEndPoint> UpstreamDns { get; set; } = [];

    public ConcurrentQueue<InterfaceConfigEventArgs> ClientInterfaces { get; } = new();

    /// <summary>The client session's meter factory (so a test listens to this session's meter only).</summary>
    public TestMeterFactory ClientMeters { get; } = new();

    public static async Task<SessionWorld> StartAsync(bool blockDirect = false, Action<SessionWorld>? configure = null)
    {
        var relay = new RelaySession(new RelaySessionOptions
        {
            Server = new TurnServerOptions { PublicIPv4 = IPAddress.Loopback, ListenPort = 0, AuthSecret = RelaySecret },
            ListenAddresses = [IPAddress.Loopback],
            ListenerThreads = 1,
            SocketBufferSize = 0,
        });
        relay.Start();
        var portal = new PortalServer(new PortalServerOptions());
        var world = new SessionWorld(relay, portal);
        portal.Options.OnJoined = world.OnJoinedAsync;
        portal.Options.MessageHandler = world.OnMessage;
        configure?.Invoke(world);
        await portal.StartAsync();

        var relayEndPoint = world.RelayEndPoint;
        Func<IPEndPoint, bool>? drop = blockDirect ? destination => !destination.Equals(relayEndPoint) : null;
        world.Gateway = new GatewaySession(new GatewaySessionOptions
        {
            ApiUrl = portal.ApiUrl,
            Token = "gateway-token",
            FirezoneId = "gateway-1",
            Name = "gateway",
            Tun = world.GatewayTun,
            IPv4BindAddress = IPAddress.Loopback,
            IPv6BindAddress = IPAddress.IPv6Loopback,
            SocketBufferSize = 0,
            ResolveName = (name, _) => Task.FromResult<IReadOnlyList<IPAddress>>(name == DnsResourceName ? [DnsResourceRealIp] : []),
            DropOutbound = drop,
        });
        world.Client = new ClientSession(new ClientSessionOptions
        {
            ApiUrl = portal.ApiUrl,
            Token = "client-token",
            FirezoneId = "client-1",
            DeviceName = "client",
            Tun = world.ClientTun,
            IPv4BindAddress = IPAddress.Loopback,
            IPv6BindAddress = IPAddress.IPv6Loopback,
            SocketBufferSize = 0,
            SystemDnsServers = [IPAddress.Parse("198.18.0.53")],
            DropOutbound = drop,
            MeterFactory = world.ClientMeters,
        });
        world.Client.InterfaceConfigUpdated += (_, e) => world.ClientInterfaces.Enqueue(e);
        world.Gateway.Start();
        world.Client.Start();
        return world;
    }

    /// <summary>Relay credentials as the portal mints them from the relay's stamp secret.</summary>
    public TurnRelayEntry RelayEntry(string salt)
    {
        var expiresAt = DateTimeOffset.UtcNow.AddHours(1);
        long expiry = expiresAt.ToUnixTimeSeconds();
        var password = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes($"{expiry}:{RelaySecret}:{salt}"))).TrimEnd('=');
        return new TurnRelayEntry(TheRelay, RelayEndPoint, $"{expiry}:{salt}", password, expiresAt);
    }

    private static JsonElement Element(JsonNode? node) => JsonDocument.Parse(node?.ToJsonString() ?? "null").RootElement.Clone();

    private void Push(PortalSession? session, PortalMessage message)
    {
        if (session is null)
        {
            PortalErrors.Add($"no session for {message.Event}");
            return;
        }

        var payload = message.ToPayload();
        _pushes.Writer.TryWrite(() => session.PushAsync(message.Event, payload));
    }

    private async Task OnJoinedAsync(PortalSession session)
    {
        if (session.Mode == "gateway")
        {
            GatewayPortal = session;
            var init = new GatewayInit(new InterfaceConfig(IPAddress.Parse("100.64.255.1"), IPAddress.Parse("fd00:2021:1111::ff:1"), []), true, true,
                [RelayEntry("gateway")]);
            await session.PushAsync(init.Event, init.ToPayload());
        }
        else
        {
            ClientPortal = session;
            var init = new ClientInit(new InterfaceConfig(ClientV4, ClientV6, UpstreamDns),
                [
                    new CidrResource(CidrId, IPNetwork.Parse("198.19.0.0/24"), "lab", null, [TheSite]),
                    new DnsResource(DnsId, DnsResourceName, "app", null, [TheSite]),
                ],
                [RelayEntry("client")]);
            await session.PushAsync(init.Event, init.ToPayload());
        }
    }

    private static GatewayResource GatewayView(ResourceId id) => id == CidrId
        ? new GatewayCidrResource(CidrId, IPNetwork.Parse("198.19.0.0/24"), "lab", [])
        : new GatewayDnsResource(DnsId, DnsResourceName, "app", []);

    private PortalReply? OnMessage(PortalFrame frame)
    {
        var payload = Element(frame.Payload);
        if (frame.Session.Mode == "client")
        {
            var decoded = PortalMessages.DecodeFromClient(frame.Event, payload);
            switch (decoded.Message)
            {
                case PrepareConnection prepare:
                    return new PortalReply("ok", new ConnectionDetails(prepare.ResourceId, TheGateway, IPAddress.Loopback, TheSite.Id).ToPayload());
                case RequestConnection request:
                    string reference = $"ref-{Interlocked.Increment(ref _refs)}";
                    _pendingConnections[reference] = (frame.Session, frame.Ref!.Value, request.ResourceId);
                    var clientKey = Key.Parse(frame.Session.Query["public_key"]);
                    Push(GatewayPortal, new GatewayRequestConnection(reference, GatewayView(request.ResourceId), TheClient, request.IceParameters,
                        request.Domain, new ClientPeer(25, clientKey, request.ClientPresharedKey, ClientV4, ClientV6), null));
                    return null; // answered once the gateway is ready
                case ReuseConnection reuse:
                    Push(GatewayPortal, new AllowAccess(TheClient, GatewayView(reuse.ResourceId), null, reuse.Payload, "reuse", ClientV4, ClientV6));
                    return PortalReply.EmptyOk;
                case IceCandidatesForGateways candidates:
                    Push(GatewayPortal, new IceCandidatesFromClient(TheClient, candidates.Candidates, candidates.Invalidated));
                    return PortalReply.EmptyOk;
                default:
                    PortalErrors.Add($"client sent {frame.Event}: {decoded}");
                    return PortalReply.EmptyOk;
            }
        }

        var fromGateway = PortalMessages.DecodeFromGateway(frame.Event, payload);
        switch (fromGateway.Message)
        {
            case ConnectionReady ready when _pendingConnections.TryRemove(ready.Ref, out var pending):
                var gatewayKey = Key.Parse(frame.Session.Query["public_key"]);
                var connect = new Connect(pending.Resource, gatewayKey, ready.GatewayPayload, 25);
                var response = connect.ToPayload();
                _pushes.Writer.TryWrite(() => pending.Client.SendAsync("client", "phx_reply", new JsonObject { ["status"] = "ok", ["response"] = response }, pending.Ref));
                return PortalReply.EmptyOk;
            case IceCandidatesForClients candidates:
                Push(ClientPortal, new IceCandidatesFromGateway(TheGateway, candidates.Candidates, candidates.Invalidated));
                return PortalReply.EmptyOk;
            default:
                PortalErrors.Add($"gateway sent {frame.Event}: {fromGateway}");
                return PortalReply.EmptyOk;
        }
    }

    /// <summary>
    /// Writes <paramref name="packet"/> into the client's TUN device every 200 ms until a packet matching
    /// <paramref name="answered"/> comes out of it (the resource host behind the gateway answers through
    /// <see cref="AnswerAtGateway"/>), at most <paramref name="timeout"/>.
    /// </summary>
    public async Task<byte[]?> SendUntilAnsweredAsync(byte[] packet, Func<byte[], bool> answered, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!cts.IsCancellationRequested)
        {
            ClientTun.TryInject(packet);
            using var round = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            round.CancelAfter(TimeSpan.FromMilliseconds(200));
            try
            {
                while (await ClientTun.ReadWrittenAsync(round.Token) is { } written)
                {
                    if (answered(written))
                    {
                        return written;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        return null;
    }

    /// <summary>The resource hosts behind the gateway: every packet out of its TUN device is recorded; ICMP echo requests are answered.</summary>
    public Task AnswerAtGateway(ConcurrentQueue<byte[]> seen, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        try
        {
            while (await GatewayTun.ReadWrittenAsync(cancellationToken) is { } packet)
            {
                seen.Enqueue(packet);
                if (IpPacket.TryParse(packet, out var ip) == IpParseError.None && ip.TryGetIcmp(out var icmp)
                    && icmp.Type == (ip.IsIpv4 ? IcmpMessage.V4EchoRequest : IcmpMessage.V6EchoRequest))
                {
                    var reply = new byte[packet.Length + 40];
                    int n = PacketBuilder.EchoReply(reply, ip.Destination, ip.Source, icmp.Identifier, icmp.Sequence, icmp.Body);
                    GatewayTun.TryInject(reply.AsSpan(0, n));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }, cancellationToken);

    public static byte[] Ping(IPAddress destination, ushort sequence, int size = 32)
    {
        var buffer = new byte[1280];
        int n = PacketBuilder.EchoRequest(buffer, ClientV4, destination, 0x4242, sequence, new byte[size]);
        return buffer[..n];
    }

    public static bool IsEchoReplyFrom(byte[] packet, IPAddress source) =>
        IpPacket.TryParse(packet, out var ip) == IpParseError.None && ip.Source.Equals(source) && ip.TryGetIcmp(out var icmp) && icmp.Type == IcmpMessage.V4EchoReply;

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Gateway.DisposeAsync();
        _pushes.Writer.TryComplete();
        await _pusher;
        await Portal.DisposeAsync();
        await Relay.DisposeAsync();
        ClientTun.Dispose();
        GatewayTun.Dispose();
        ClientMeters.Dispose();
    }
}

/// <summary>An <see cref="System.Diagnostics.Metrics.IMeterFactory"/> that remembers the meters it made.</summary>
internal sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    private readonly ConcurrentBag<System.Diagnostics.Metrics.Meter> _meters = [];

    public IReadOnlyCollection<System.Diagnostics.Metrics.Meter> Meters => _meters;

    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
    {
        var meter = new System.Diagnostics.Metrics.Meter(options);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }
}
