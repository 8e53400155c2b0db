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
    private readonly Dictionary<(int Port, AddressFamily Family), Socket> _allocationSockets = new();
    private readonly List<Task> _loops = new();
    private readonly CancellationTokenSource _stop = new();
    private long _lastStatsBytes;

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
            foreach (var family in ServedFamilies())
            {
                var socket = OpenSocket(family, _server.ListenPort);
                _listeners[family] = socket;
                LogListening(_logger, (IPEndPoint)socket.LocalEndPoint!);
            }

            foreach (var (family, socket) in _listeners)
            {
                // The listening socket carries every client datagram: a dedicated thread with blocking receives avoids
                // the async machinery per packet. Allocation sockets (many, each quieter) use async loops.
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var thread = new Thread(() =>
                {
                    try
                    {
                        ClientLoop(socket, family, token);
                    }
                    finally
                    {
                        done.TrySetResult();
                    }
                })
                {
                    IsBackground = true,
                    Name = $"relay-listener-{family}",
                };
                thread.Start();
                _loops.Add(done.Task);
            }

            _loops.Add(Task.Run(() => TimerLoopAsync(token), token));
            _loops.Add(Task.Run(() => StatsLoopAsync(token), token));
        }
    }

    private IEnumerable<AddressFamily> ServedFamilies()
    {
        if (_options.ListenAddress is { } address)
        {
            yield return address.AddressFamily;
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

    private Socket OpenSocket(AddressFamily family, int port)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            if (_options.SocketBufferSize > 0)
            {
                socket.ReceiveBufferSize = _options.SocketBufferSize;
                socket.SendBufferSize = _options.SocketBufferSize;
            }

            var address = _options.ListenAddress is { } a && a.AddressFamily == family
                ? a
                : family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
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
        using var receiver = new BatchReceiver(socket, ReceiveBufferSize, 0);
        var relays = new RelayToPeer?[BatchReceiver.BatchSize];
        var targets = new Socket?[BatchReceiver.BatchSize];
        while (!cancellationToken.IsCancellationRequested)
        {
            int count;
            try
            {
                count = receiver.Receive();
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

            for (int i = 0; i < count; i++)
            {
                if (relays[i] is not { } toPeer)
                {
                    continue;
                }

                if (targets[i] is not { } target)
                {
                    LogNoAllocationSocket(_logger, toPeer.AllocationPort, toPeer.Peer);
                    continue;
                }

                TrySend(target, receiver.Buffer(i).AsSpan(toPeer.PayloadOffset, toPeer.PayloadLength), toPeer.PeerSocketAddress);
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
            foreach (var socket in _listeners.Values)
            {
                socket.Dispose();
            }

            foreach (var socket in _allocationSockets.Values)
            {
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

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocations = {Allocations} Channels = {Channels} Throughput = {Throughput}")]
    private static partial void LogStats(ILogger logger, int allocations, int channels, string throughput);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No socket for allocation port {Port} towards {Peer}; dropping datagram")]
    private static partial void LogNoAllocationSocket(ILogger logger, int port, IPEndPoint peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to send datagram: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to bind allocation socket on port {Port} ({Family}): {Reason}")]
    private static partial void LogAllocationBindFailed(ILogger logger, int port, AddressFamily family, string reason);
}
