using System.Net;
using Firezone.Connlib.Model;
using Firezone.Connlib.Routing;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Client;

/// <summary>
/// The Firezone client's tunnel core (tunnel spec §4), sans-IO: resources (DNS, CIDR, internet) and their routes, the
/// DNS sentinels and stub resolver, connection intents and setup through the portal, and the packet paths between the
/// TUN device and the gateways (over a Snownet <see cref="ClientNode"/>). It never touches a socket, the TUN device or a
/// clock: feed it packets from the TUN device (<see cref="HandleTunInput"/>), datagrams from the network
/// (<see cref="HandleNetworkInput"/>), portal messages (the typed methods) and time (<see cref="HandleTimeout"/>), then
/// drain <see cref="PollEvent"/>, <see cref="PollTransmit"/>, <see cref="PollPacket"/> and <see cref="PollTimeout"/>.
/// Single-threaded: one caller at a time.
/// </summary>
public sealed partial class ClientState : IDisposable
{
    /// <summary>A connection intent for a resource is sent at most this often (tunnel spec §2).</summary>
    public static readonly TimeSpan IntentDebounce = TimeSpan.FromSeconds(2);

    private static readonly IPAddress IgmpV3 = IPAddress.Parse("224.0.0.22");
    private static readonly IPAddress AllRoutersV6 = IPAddress.Parse("ff02::2");

    private readonly ILogger _logger;
    private readonly ClientNode _node;
    // Dictionaries, not SortedDictionary: its TryGetValue allocates (32 B), and these are read per packet. Code that
    // iterates them sorts first, so nothing depends on hash order.
    private readonly Dictionary<GatewayId, GatewayOnClient> _peers = new();
    private readonly Dictionary<ResourceId, AwaitingDetails> _awaiting = new();
    private readonly Dictionary<ResourceId, GatewayId> _resourcesGateways = new();
    private readonly Dictionary<GatewayId, SiteId> _gatewaysSite = new();
    private readonly Dictionary<SiteId, ResourceStatus> _sitesStatus = new();
    private readonly Dictionary<ResourceId, ClientResource> _resources = new();
    private readonly IpPrefixTable<ResourceId> _activeCidr = new();
    private readonly HashSet<ResourceId> _disabled = new();
    private readonly RecentGateways _recentGateways = new();
    private readonly ClientDns _dns;
    private readonly List<ClientEvent> _events = new();
    private readonly Queue<byte[]> _packets = new();
    private readonly Queue<Transmit> _transmits = new();
    private readonly byte[] _transmitScratch = new byte[Node.BufferSize];
    private ResourceId? _internetResource;
    private TunConfig? _tunConfig;
    private bool _disposed;

    /// <summary>Creates the client core from a secret 32-byte seed (node keys and every random choice derive from it).</summary>
    /// <param name="seed">32 secret bytes.</param>
    /// <param name="now">Monotonic time.</param>
    /// <param name="utcNow">Wall-clock time (WireGuard's TAI64N timestamps only).</param>
    /// <param name="knownHosts">Names answered locally before any resource (a static hosts file; may be null).</param>
    /// <param name="loggerFactory">Logging (null: none).</param>
    public ClientState(ReadOnlySpan<byte> seed, TimeSpan now, DateTimeOffset utcNow,
        IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? knownHosts = null, ILoggerFactory? loggerFactory = null)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.Connlib.Client");
        _node = new ClientNode(seed, now, utcNow, loggerFactory);
        _dns = new ClientDns(knownHosts, _logger);
        CreateTcpDns(seed, loggerFactory);
    }

    /// <summary>The client's WireGuard public key (changes on <see cref="Reset"/>).</summary>
    public ReadOnlyMemory<byte> PublicKey => _node.PublicKey;

    /// <summary>Connections (established or being set up) of the node (the session's connection metric).</summary>
    internal int ConnectionCount => _node.ConnectionCount;

    /// <summary>Connections established so far (the session's handshake metric).</summary>
    internal long ConnectionsEstablished { get; private set; }

    /// <summary>The TUN configuration last published (null before the first interface config).</summary>
    public TunConfig? TunConfig => _tunConfig;

    /// <summary>Every resource with its status, in view order.</summary>
    public IReadOnlyList<ResourceView> Resources => Views();

    /// <summary>The next event, or null.</summary>
    public ClientEvent? PollEvent()
    {
        if (_events.Count == 0)
        {
            return null;
        }

        var e = _events[0];
        _events.RemoveAt(0);
        return e;
    }

    /// <summary>The next IP packet connlib itself produced for the TUN device (DNS answers), or null.</summary>
    public ReadOnlyMemory<byte>? PollPacket()
    {
        // Not a conditional expression: `cond ? p : null` converts the null through byte[] into an empty, non-null memory.
        if (_packets.TryDequeue(out var p))
        {
            return p;
        }

        return null;
    }

    /// <summary>The next datagram to send (TURN, ICE, WireGuard control), or null; valid until the next call.</summary>
    public Transmit? PollTransmit() => _transmits.TryDequeue(out var t) ? t : _node.PollTransmit();

    /// <summary>When <see cref="HandleTimeout"/> wants to run next (may be in the past: now), or null.</summary>
    public TimeSpan? PollTimeout()
    {
        return Earliest(Earliest(_node.PollTimeout(), _dns.PollTimeout()), TcpDnsPollTimeout()); // no allocation: drivers ask often

        static TimeSpan? Earliest(TimeSpan? a, TimeSpan? b) => a is { } x && b is { } y ? (x < y ? x : y) : a ?? b;
    }

    /// <summary>Advances every timer (node, DNS records) and drains the node's events (tunnel spec §4.8).</summary>
    public void HandleTimeout(TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastNow = now;
        _node.HandleTimeout(now);
        DrainNodeEvents();
        _dns.HandleTimeout(now);
        AdvanceTcpDns(now);
    }

    /// <summary>Releases the node's key material.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _node.Dispose();
    }

    private static ConnectionId Connection(GatewayId gateway) => new(gateway.Value);

    private static GatewayId Gateway(ConnectionId connection) => new(connection.Value);

    private void Emit(ClientEvent e) => _events.Add(e);

    /// <summary>Queues a <see cref="ResourcesChanged"/>, removing any not yet polled (coalescing, §4.2).</summary>
    private void EmitResourcesChanged()
    {
        _events.RemoveAll(static e => e is ResourcesChanged);
        _events.Add(new ResourcesChanged(Views()));
    }

    private List<ResourceView> Views()
    {
        var views = new List<ResourceView>(_resources.Count);
        foreach (var resource in _resources.Values)
        {
            views.Add(new ResourceView(resource, StatusOf(resource)));
        }

        views.Sort();
        return views;
    }

    private ResourceStatus StatusOf(ClientResource resource)
    {
        bool allOffline = true;
        foreach (var site in resource.Sites)
        {
            var status = _sitesStatus.GetValueOrDefault(site.Id, ResourceStatus.Unknown);
            if (status == ResourceStatus.Online)
            {
                return ResourceStatus.Online;
            }

            allOffline &= status == ResourceStatus.Offline;
        }

        return allOffline ? ResourceStatus.Offline : ResourceStatus.Unknown;
    }

    private sealed class AwaitingDetails(TimeSpan lastIntentSentAt, ResolveRequest? domain)
    {
        public TimeSpan LastIntentSentAt { get; set; } = lastIntentSentAt;

        public ResolveRequest? Domain { get; } = domain;
    }
}
