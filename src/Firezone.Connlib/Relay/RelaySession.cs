using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Relay;

/// <summary>
/// The relay's UDP event loop around a <see cref="TurnServer"/>: a listening socket per served family, one socket per
/// (allocation port, family), a timer for lifetimes and a periodic stats line. Every socket has its own receive loop;
/// the server is driven under one lock and the data path sends straight from the receive buffer (ChannelData headers
/// are written into 4 reserved bytes in front of peer data). Allocation sockets are bound synchronously while the
/// server's commands are drained, before the Allocate success leaves; a failed bind is reported back to the server,
/// which answers that Allocate with 508 instead (upstream ends the process).
/// </summary>
public sealed partial class RelaySession : IAsyncDisposable
{
    private const int ReceiveBufferSize = 65536;
    private const int ChannelDataHeader = 4;

    private readonly RelaySessionOptions _options;
    private readonly TurnServer _server;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<AddressFamily, Socket> _listeners = new();
    private readonly List<Socket> _listenerSockets = new();
    private readonly Dictionary<(int Port, AddressFamily Family), Socket> _allocationSockets = new();
    private readonly List<Task> _loops = new();
    private readonly CancellationTokenSource _stop = new();
    private long _lastStatsBytes;
    private PeerWorker[] _peerWorkers = [];

    /// <summary>One epoll thread with its own receive buffers; allocation sockets are spread over workers by port.</summary>
    private sealed class PeerWorker(SocketPoller poller) : IDisposable
    {
        public SocketPoller Poller { get; } = poller;

        public BatchReceiver Receiver { get; } = new(AddressFamily.InterNetworkV6, ReceiveBufferSize, ChannelDataHeader);

        public RelayToClient?[] Relays { get; } = new RelayToClient?[BatchReceiver.BatchSize];

        public Socket?[] Listeners { get; } = new Socket?[BatchReceiver.BatchSize];

        public BatchSender Sender { get; } = new();

        public Action<Socket, ulong>? OnReady { get; set; }

        public void Dispose()
        {
            Poller.Dispose();
            Receiver.Dispose();
            Sender.Dispose();
        }
    }

    private PeerWorker? WorkerFor(int port) => _peerWorkers.Length == 0 ? null : _peerWorkers[port % _peerWorkers.Length];

    /// <summary>Creates the session and its TURN server; sockets are opened by <see cref="Start"/>.</summary>
    public RelaySession(RelaySessionOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Firezone.Relay");
        _server = new TurnServer(options.Server, loggerFactory.CreateLogger<TurnServer>());
    }

    /// <summary>The stamp secret to share with the portal.</summary>
    public string AuthSecret => _server.AuthSecret;

    /// <summary>Current number of allocations.</summary>
    public int AllocationCount
    {
        get
        {
            lock (_gate)
            {
                return _server.AllocationCount;
            }
        }
    }

    /// <summary>Current number of bound channels.</summary>
    public int ChannelCount
    {
        get
        {
            lock (_gate)
            {
                return _server.BoundChannelCount;
            }
        }
    }

    /// <summary>Total payload bytes relayed.</summary>
    public long RelayedBytes
    {
        get
        {
            lock (_gate)
            {
                return _server.RelayedBytes;
            }
        }
    }

    /// <summary>The local endpoints of the listening sockets (after <see cref="Start"/>).</summary>
    public IReadOnlyList<IPEndPoint> ListenEndPoints
    {
        get
        {
            lock (_gate)
            {
                return _listeners.Values.Select(s => (IPEndPoint)s.LocalEndPoint!).ToList();
            }
        }
    }

    /// <summary>Binds the listening sockets and starts the receive, timer and stats loops.</summary>
    public void Start()
    {
        var token = _stop.Token;
        lock (_gate)
        {
            int threads = Math.Max(1, _options.ListenerThreads);
            var receivers = new List<(Socket Socket, AddressFamily Family)>();
            foreach (var family in ServedFamilies())
            {
                // With several listener threads, each has its own socket on the same port (SO_REUSEPORT); the kernel
                // spreads clients over them by address hash, so one client's datagrams stay in order on one thread.
                int listenPort = _server.ListenPort;
                if (threads > 1)
                {
                    // Bind once without SO_REUSEPORT first, so a port held by anyone else still fails loudly (as
                    // upstream) instead of being shared; this also resolves port 0 to a concrete port.
                    using var probe = OpenSocket(family, listenPort);
                    listenPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
                }

                var socket = OpenSocket(family, listenPort, reusePort: threads > 1);
                _listeners[family] = socket;
                receivers.Add((socket, family));
                int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                for (int i = 1; i < threads; i++)
                {
                    receivers.Add((OpenSocket(family, port, reusePort: true), family));
                }

                LogListening(_logger, (IPEndPoint)socket.LocalEndPoint!);
            }

            for (int i = 0; i < receivers.Count; i++)
            {
                // Listening sockets carry every client datagram: dedicated threads with blocking batch receives.
                var (socket, family) = receivers[i];
                _listenerSockets.Add(socket);
                _loops.Add(StartThread($"relay-listener-{family}-{i}", () => ClientLoop(socket, family, token)));
            }

            var workers = new List<PeerWorker>();
            for (int i = 0; i < threads && SocketPoller.TryCreate() is { } poller; i++)
            {
                var worker = new PeerWorker(poller);
                worker.OnReady = (socket, pollToken) => DrainPeerSocket(worker, socket, pollToken);
                workers.Add(worker);
                _loops.Add(StartThread($"relay-peers-{i}", () => PeerPollLoop(worker, token)));
            }

            _peerWorkers = [.. workers];

            _loops.Add(Task.Run(() => TimerLoopAsync(token), token));
            _loops.Add(Task.Run(() => StatsLoopAsync(token), token));
        }
    }

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

    private static ulong PollToken(int port, AddressFamily family) => (uint)port | (family == AddressFamily.InterNetworkV6 ? 1UL << 16 : 0UL);

    /// <summary>The allocation sockets' readiness loop (Linux x64): one thread, level-triggered epoll, recvmmsg batches.</summary>
    private static void PeerPollLoop(PeerWorker worker, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            worker.Poller.Wait(500, worker.OnReady!);
        }
    }

    private void DrainPeerSocket(PeerWorker worker, Socket socket, ulong token)
    {
        var receiver = worker.Receiver;
        var relays = worker.Relays;
        var listeners = worker.Listeners;
        int port = (int)(token & 0xFFFF);
        int count;
        try
        {
            count = receiver.Receive(socket, block: false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return; // ICMP error reported on the socket, or the socket was just freed
        }

        if (count == 0)
        {
            return;
        }

        lock (_gate)
        {
            var now = _options.Time.GetUtcNow();
            for (int i = 0; i < count; i++)
            {
                var relay = _server.HandlePeerTraffic(receiver.Buffer(i).AsSpan(ChannelDataHeader, receiver.Length(i)), receiver.Address(i), port, now);
                relays[i] = relay;
                listeners[i] = null;
                if (relay is { } r)
                {
                    _listeners.TryGetValue(r.Client.AddressFamily, out listeners[i]);
                }
            }

            DrainCommands();
        }

        // Everything goes out through a listening socket (one per family): one sendmmsg each.
        for (int i = 0; i < count; i++)
        {
            if (listeners[i] is not { } listener)
            {
                continue;
            }

            for (int j = i; j < count; j++)
            {
                if (relays[j] is { } toClient && ReferenceEquals(listeners[j], listener))
                {
                    var buffer = receiver.Buffer(j);
                    int length = receiver.Length(j);
                    BinaryPrimitives.WriteUInt16BigEndian(buffer, toClient.Channel);
                    BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)length);
                    worker.Sender.Add(buffer, 0, ChannelDataHeader + length, toClient.ClientSocketAddress);
                    listeners[j] = null;
                }
            }

            if (worker.Sender.Flush(listener) is > 0 and var failed)
            {
                LogBatchSendFailed(_logger, failed);
            }
        }
    }

    private IEnumerable<AddressFamily> ServedFamilies()
    {
        if (_options.ListenAddresses.Count > 0)
        {
            foreach (var address in _options.ListenAddresses)
            {
                yield return address.AddressFamily;
            }

            yield break;
        }

        if (_server.PublicIPv4 is not null)
        {
            yield return AddressFamily.InterNetwork;
        }

        if (_server.PublicIPv6 is not null)
        {
            yield return AddressFamily.InterNetworkV6;
        }
    }

    private Socket OpenSocket(AddressFamily family, int port, bool reusePort = false)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (reusePort && OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
            }

            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            if (_options.SocketBufferSize > 0)
            {
                socket.ReceiveBufferSize = _options.SocketBufferSize;
                socket.SendBufferSize = _options.SocketBufferSize;
            }

            var address = _options.ListenAddresses.FirstOrDefault(a => a.AddressFamily == family)
                ?? (family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any);
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void ClientLoop(Socket socket, AddressFamily family, CancellationToken cancellationToken)
    {
        socket.ReceiveTimeout = 500; // to notice cancellation
        using var receiver = new BatchReceiver(family, ReceiveBufferSize, 0);
        using var sender = new BatchSender();
        var relays = new RelayToPeer?[BatchReceiver.BatchSize];
        var targets = new Socket?[BatchReceiver.BatchSize];
        while (!cancellationToken.IsCancellationRequested)
        {
            int count;
            try
            {
                count = receiver.Receive(socket, block: true);
            }
            catch (SocketException e) when (e.SocketErrorCode is not (SocketError.OperationAborted or SocketError.Interrupted or SocketError.NotSocket or SocketError.Shutdown)
                                            && e.NativeErrorCode != 9)
            {
                continue; // e.g. ICMP port unreachable reported on a later receive
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (count == 0)
            {
                continue;
            }

            // One lock acquisition for the whole batch; sends happen outside the lock.
            lock (_gate)
            {
                var now = _options.Time.GetUtcNow();
                for (int i = 0; i < count; i++)
                {
                    var relay = _server.HandleClientInput(receiver.Buffer(i).AsSpan(0, receiver.Length(i)), receiver.Address(i), now);
                    relays[i] = relay;
                    targets[i] = null;
                    if (relay is { } r)
                    {
                        _allocationSockets.TryGetValue((r.AllocationPort, r.Peer.AddressFamily), out targets[i]);
                    }
                }

                DrainCommands();
            }

            // One sendmmsg per allocation socket, in receive order per socket.
            for (int i = 0; i < count; i++)
            {
                if (relays[i] is not { } first)
                {
                    continue;
                }

                if (targets[i] is not { } target)
                {
                    LogNoAllocationSocket(_logger, first.AllocationPort, first.Peer);
                    relays[i] = null;
                    continue;
                }

                for (int j = i; j < count; j++)
                {
                    if (relays[j] is { } toPeer && ReferenceEquals(targets[j], target))
                    {
                        sender.Add(receiver.Buffer(j), toPeer.PayloadOffset, toPeer.PayloadLength, toPeer.PeerSocketAddress);
                        relays[j] = null;
                    }
                }

                if (sender.Flush(target) is > 0 and var failed)
                {
                    LogBatchSendFailed(_logger, failed);
                }
            }
        }
    }

    private async Task PeerLoopAsync(Socket socket, int port, AddressFamily family, CancellationToken cancellationToken)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize, pinned: true);
        var from = new SocketAddress(family);
        var payloadArea = buffer.AsMemory(ChannelDataHeader);
        while (!cancellationToken.IsCancellationRequested)
        {
            int received;
            try
            {
                received = await socket.ReceiveFromAsync(payloadArea, SocketFlags.None, from, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize)
            {
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return; // socket freed
            }

            RelayToClient? relay;
            Socket? listener = null;
            lock (_gate)
            {
                relay = _server.HandlePeerTraffic(buffer.AsSpan(ChannelDataHeader, received), from, port, _options.Time.GetUtcNow());
                if (relay is { } r)
                {
                    _listeners.TryGetValue(r.Client.AddressFamily, out listener);
                }

                DrainCommands();
            }

            if (relay is { } toClient && listener is not null)
            {
                BinaryPrimitives.WriteUInt16BigEndian(buffer, toClient.Channel);
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)received);
                TrySend(listener, buffer.AsSpan(0, ChannelDataHeader + received), toClient.ClientSocketAddress);
            }
        }
    }

    private void TrySend(Socket socket, ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        try
        {
            socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            LogSendFailed(_logger, e.Message);
        }
    }

    /// <summary>Executes the server's queued commands. Caller holds <see cref="_gate"/>.</summary>
    private void DrainCommands()
    {
        while (_server.TryPollCommand(out var command))
        {
            switch (command.Kind)
            {
                case TurnServerCommandKind.SendMessage:
                    if (_listeners.TryGetValue(command.Destination!.AddressFamily, out var listener))
                    {
                        try
                        {
                            listener.SendTo(command.Payload!, SocketFlags.None, command.Destination);
                        }
                        catch (Exception e) when (e is SocketException or ObjectDisposedException)
                        {
                            LogSendFailed(_logger, e.Message);
                        }
                    }

                    break;
                case TurnServerCommandKind.CreateAllocation:
                    CreateAllocationSocket(command.Port, command.Family);
                    break;
                case TurnServerCommandKind.FreeAllocation:
                    if (_allocationSockets.Remove((command.Port, command.Family), out var socket))
                    {
                        WorkerFor(command.Port)?.Poller.Remove(socket, PollToken(command.Port, command.Family));
                        socket.Dispose();
                    }

                    break;
            }
        }
    }

    private void CreateAllocationSocket(int port, AddressFamily family)
    {
        Socket socket;
        try
        {
            socket = OpenSocket(family, port);
        }
        catch (SocketException e)
        {
            LogAllocationBindFailed(_logger, port, family, e.Message);
            _server.HandleAllocationFailed(port, _options.Time.GetUtcNow());
            return;
        }

        _allocationSockets[(port, family)] = socket;
        if (WorkerFor(port) is { } worker && worker.Poller.Add(socket, PollToken(port, family)))
        {
            return;
        }

        var token = _stop.Token;
        _ = Task.Run(() => PeerLoopAsync(socket, port, family, token), token);
    }

    private async Task TimerLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait = TimeSpan.FromSeconds(1);
            lock (_gate)
            {
                var now = _options.Time.GetUtcNow();
                if (_server.PollTimeout() is { } deadline)
                {
                    if (deadline <= now)
                    {
                        _server.HandleTimeout(deadline);
                        DrainCommands();
                        continue;
                    }

                    wait = deadline - now < wait ? deadline - now : wait;
                }
            }

            try
            {
                await Task.Delay(wait, _options.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task StatsLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.StatsInterval, _options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                int allocations, channels;
                long bytes;
                lock (_gate)
                {
                    allocations = _server.AllocationCount;
                    channels = _server.BoundChannelCount;
                    bytes = _server.RelayedBytes;
                }

                double rate = (bytes - _lastStatsBytes) / _options.StatsInterval.TotalSeconds;
                _lastStatsBytes = bytes;
                LogStats(_logger, allocations, channels, ThroughputFormatter.Format(rate));
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
        lock (_gate)
        {
            foreach (var socket in _listenerSockets)
            {
                socket.Dispose();
            }

            foreach (var ((port, family), socket) in _allocationSockets)
            {
                WorkerFor(port)?.Poller.Remove(socket, PollToken(port, family));
                socket.Dispose();
            }

            _allocationSockets.Clear();
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var worker in _peerWorkers)
        {
            worker.Dispose();
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocations = {Allocations} Channels = {Channels} Throughput = {Throughput}")]
    private static partial void LogStats(ILogger logger, int allocations, int channels, string throughput);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No socket for allocation port {Port} towards {Peer}; dropping datagram")]
    private static partial void LogNoAllocationSocket(ILogger logger, int port, IPEndPoint peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to send {Count} datagram(s) of a batch")]
    private static partial void LogBatchSendFailed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to send datagram: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to bind allocation socket on port {Port} ({Family}): {Reason}")]
    private static partial void LogAllocationBindFailed(ILogger logger, int port, AddressFamily family, string reason);
}
