using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Relay;

/// <summary>
/// The relay's UDP event loops around a <see cref="TurnServer"/>. The data path takes no lock: listener threads
/// (<see cref="RelaySessionOptions.ListenerThreads"/> <c>SO_REUSEPORT</c> sockets per family, blocking
/// <c>recvmmsg</c>) and epoll threads for the allocation sockets forward ChannelData both ways by reading the
/// forwarding tables the server publishes (<see cref="TurnServer.Forwarder"/>), and send in <c>sendmmsg</c>
/// batches of UDP GSO messages. Everything else — STUN requests, timers, Data indications — is the control plane:
/// one task owns the server, fed through bounded queues, and does its system calls (responses, allocation socket
/// binds and closes) without holding any lock.
/// </summary>
/// <remarks>
/// Allocation sockets are bound synchronously while the server's commands are drained, i.e. before the Allocate
/// success is sent. A port already taken by another program is reported back and the server moves the allocation to
/// another free port of its range (up to its retry limit; then 508). Each family binds to its address of
/// <see cref="RelaySessionOptions.ListenAddresses"/> (or the wildcard when none is given); a family without a
/// listening socket hands out no relayed address. Dropped datagrams are counted (metrics <c>packets_dropped_total</c>)
/// and summarised in the stats line every <see cref="RelaySessionOptions.StatsInterval"/>, never logged one by one.
/// </remarks>
public sealed partial class RelaySession : IAsyncDisposable
{
    private const int ClientControlCapacity = 4096;
    private const int PeerControlCapacity = 1024;

    private readonly RelaySessionOptions _options;
    private readonly TurnServer _server;
    private readonly ILogger _logger;
    private readonly RelayDataPath _path;
    private readonly RelayMetrics _metrics;
    private readonly IPAddress? _bind4;
    private readonly IPAddress? _bind6;
    private readonly List<RelayUdpSocket> _listenerSockets = new();
    private readonly List<ClientWorker> _clientWorkers = new();
    private readonly List<Task> _loops = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _startTimestamp;
    private PeerWorker[] _peerWorkers = [];
    private int _started;

    /// <summary>Creates the session and its TURN server; sockets are opened by <see cref="Start"/>.</summary>
    /// <exception cref="ArgumentException">Two listen addresses of one family, or no family with both a public address and a listener.</exception>
    public RelaySession(RelaySessionOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _startTimestamp = options.Time.GetTimestamp();
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.Relay");
        (_bind4, _bind6) = BindAddresses(options);
        var server = options.Server;
        if (server.PublicIPv4 is not null && _bind4 is null)
        {
            LogFamilyWithoutListener(_logger, "IPv4", server.PublicIPv4);
        }

        if (server.PublicIPv6 is not null && _bind6 is null)
        {
            LogFamilyWithoutListener(_logger, "IPv6", server.PublicIPv6);
        }

        var effective = server with
        {
            PublicIPv4 = _bind4 is null ? null : server.PublicIPv4,
            PublicIPv6 = _bind6 is null ? null : server.PublicIPv6,
        };
        if (effective.PublicIPv4 is null && effective.PublicIPv6 is null)
        {
            throw new ArgumentException("No address family has both a public address and a listen address.", nameof(options));
        }

        _server = new TurnServer(effective, loggerFactory.CreateLogger<TurnServer>());
        int threads = Math.Max(1, options.ListenerThreads);
        var counters = new RelayCounters((threads * 2) + PeerThreadCount(options));
        _path = new RelayDataPath(_server.Forwarder, counters, new ControlQueue(ClientControlCapacity), new ControlQueue(PeerControlCapacity));
        _metrics = new RelayMetrics(options.MeterFactory, () => _server.AllocationCount, () => RelayedBytes, counters);
    }

    /// <summary>
    /// The address each family binds to: the given one, or the wildcard when no address is given at all and the
    /// family has a public address; null for a family that gets no sockets.
    /// </summary>
    private static (IPAddress? V4, IPAddress? V6) BindAddresses(RelaySessionOptions options)
    {
        var server = options.Server;
        if (options.ListenAddresses.Count == 0)
        {
            return (server.PublicIPv4 is null ? null : IPAddress.Any, server.PublicIPv6 is null ? null : IPAddress.IPv6Any);
        }

        IPAddress? v4 = null, v6 = null;
        foreach (var address in options.ListenAddresses)
        {
            ArgumentNullException.ThrowIfNull(address);
            ref var slot = ref address.AddressFamily == AddressFamily.InterNetworkV6 ? ref v6 : ref v4;
            if (slot is not null)
            {
                throw new ArgumentException($"At most one listen address per family ({slot} and {address}).", nameof(options));
            }

            slot = address;
        }

        return (server.PublicIPv4 is null ? null : v4, server.PublicIPv6 is null ? null : v6);
    }

    /// <summary>The stamp secret to share with the portal.</summary>
    public string AuthSecret => _server.AuthSecret;

    /// <summary>Current number of allocations.</summary>
    public int AllocationCount => _server.AllocationCount;

    /// <summary>Current number of bound channels.</summary>
    public int ChannelCount => _server.BoundChannelCount;

    /// <summary>Total payload bytes relayed (ChannelData both ways, and Send/Data indications).</summary>
    public long RelayedBytes => _path.Counters.ClientToPeerBytes + _path.Counters.PeerToClientBytes + _server.RelayedBytes;

    /// <summary>The public addresses this relay hands out (a family without a listener is left out).</summary>
    public IPAddress? PublicIPv4 => _server.PublicIPv4;

    /// <inheritdoc cref="PublicIPv4"/>
    public IPAddress? PublicIPv6 => _server.PublicIPv6;

    /// <summary>The local endpoints of the listening sockets, one per family (after <see cref="Start"/>).</summary>
    public IReadOnlyList<IPEndPoint> ListenEndPoints =>
        _path.Listeners.Where(l => l.Length > 0).Select(l => (IPEndPoint)l[0].Socket.LocalEndPoint!).ToList();

    /// <summary>Binds the listening sockets and starts the data-path threads, the control plane and the stats line.</summary>
    /// <exception cref="SocketException">A listening socket could not be bound (e.g. the port is taken).</exception>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The session was already started.");
        }

        var token = _stop.Token;
        int threads = Math.Max(1, _options.ListenerThreads);
        var v4 = _bind4 is null ? [] : OpenListeners(_bind4, threads);
        var v6 = _bind6 is null ? [] : OpenListeners(_bind6, threads);
        _path.Listeners = [v4, v6];
        var workers = new List<PeerWorker>();
        for (int i = 0; i < PeerThreadCount(_options); i++)
        {
            workers.Add(new PeerWorker(_path, (2 * threads) + i)); // counter blocks: clients 0..2t-1, peers from 2t
        }

        _peerWorkers = [.. workers];
        int thread = 0;
        foreach (var socket in _listenerSockets)
        {
            var worker = new ClientWorker(_path, socket, thread);
            _clientWorkers.Add(worker);
            _loops.Add(StartThread($"relay-clients-{socket.Family}-{thread++}", () => worker.Run(token)));
            LogListening(_logger, (IPEndPoint)socket.Socket.LocalEndPoint!);
        }

        foreach (var worker in _peerWorkers)
        {
            _loops.Add(StartThread($"relay-peers-{_loops.Count}", () => worker.Run(token)));
        }

        _loops.Add(Task.Run(() => ControlLoopAsync(token), token));
        _loops.Add(Task.Run(() => StatsLoopAsync(token), token));
    }

    /// <summary>
    /// The listening sockets of one family: one, or <paramref name="threads"/> sharing the port with
    /// <c>SO_REUSEPORT</c> (the kernel spreads clients over them by address hash, so one client's datagrams stay in
    /// order on one thread). The port is first bound without <c>SO_REUSEPORT</c>, so a port held by anyone else fails
    /// loudly (as upstream) instead of being shared; this also resolves port 0.
    /// </summary>
    private RelayUdpSocket[] OpenListeners(IPAddress address, int threads)
    {
        int port = _server.ListenPort;
        int size = _options.SocketBufferSize;
        var sockets = new RelayUdpSocket[threads];
        if (threads > 1)
        {
            using var probe = RelayUdpSocket.Open(address, port, 0, force: false);
            port = probe.Port;
        }

        try
        {
            for (int i = 0; i < threads; i++)
            {
                sockets[i] = RelayUdpSocket.Open(address, port, size, force: true, reusePort: threads > 1, gro: true);
                port = sockets[i].Port;
                _listenerSockets.Add(sockets[i]);
            }
        }
        catch
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }

            throw;
        }

        return sockets;
    }

    private static int PeerThreadCount(RelaySessionOptions options) =>
        options.PeerThreads > 0 ? options.PeerThreads : Math.Max(1, Math.Max(1, options.ListenerThreads) / 2);

    private static Task StartThread(string name, Action body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private PeerWorker WorkerFor(int port) => _peerWorkers[port % _peerWorkers.Length];

    private async Task StatsLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.StatsInterval, _options.Time);
        long lastBytes = 0;
        var lastDrops = new long[Enum.GetValues<RelayDropReason>().Length];
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long bytes = RelayedBytes;
                double rate = (bytes - lastBytes) / _options.StatsInterval.TotalSeconds;
                lastBytes = bytes;
                LogStats(_logger, AllocationCount, ChannelCount, ThroughputFormatter.Format(rate));
                foreach (var reason in Enum.GetValues<RelayDropReason>())
                {
                    long total = _path.Counters.Drops(reason);
                    long recent = total - lastDrops[(int)reason];
                    lastDrops[(int)reason] = total;
                    if (recent > 0 && reason is not (RelayDropReason.UnknownChannel or RelayDropReason.UnknownPeer))
                    {
                        LogDrops(_logger, recent, RelayMetrics.ReasonName(reason), _options.StatsInterval.TotalSeconds);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops all loops and closes every socket.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var worker in _peerWorkers)
        {
            worker.Wake();
        }

        foreach (var socket in _listenerSockets)
        {
            socket.Dispose();
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var socket in _path.AllocationSockets.All().ToList())
        {
            _path.AllocationSockets.Remove(socket.Port, socket.Family);
            socket.Dispose();
        }

        foreach (var worker in _peerWorkers)
        {
            worker.Dispose();
        }

        foreach (var worker in _clientWorkers)
        {
            worker.Dispose();
        }

        _path.ClientControl.Close();
        _path.PeerControl.Close();
        _metrics.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Public {Family} address {Address} has no listen address of its family: no {Family} relayed addresses will be handed out")]
    private static partial void LogFamilyWithoutListener(ILogger logger, string family, IPAddress address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocations = {Allocations} Channels = {Channels} Throughput = {Throughput}")]
    private static partial void LogStats(ILogger logger, int allocations, int channels, string throughput);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} datagrams ({Reason}) in the last {Seconds} s")]
    private static partial void LogDrops(ILogger logger, long count, string reason, double seconds);
}
