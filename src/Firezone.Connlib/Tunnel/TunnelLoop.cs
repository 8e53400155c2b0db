using System.Collections.Concurrent;
using System.Net;
using Firezone.Connlib.Io;
using Firezone.Tun;
using Firezone.Tun.Io;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Tunnel;

/// <summary>
/// One tunnel's event loop (tunnel spec §1) on its own thread, which alone touches the tunnel state. One iteration,
/// in order: suspend while there is no UDP socket; the next state event; else the next packet for the TUN device;
/// else the next datagram to send (not while a socket is blocked); else (client) the next recursive DNS query; then
/// one input: parked datagrams first (wait until the socket is writable), a batch of received datagrams (IPv4 before
/// IPv6), a batch of up to <see cref="TunBatch"/> TUN packets (upstream: one; the batch ends early when a socket
/// blocks), one finished DNS query or name resolution, the timer; nothing ready → wait (epoll over both sockets and a
/// wake-up eventfd, until the state's <c>PollTimeout</c>). Packets queued for the TUN writer are handed over at the
/// start of the next iteration and before any wait (<see cref="TunDriver.SignalWriter"/>). After
/// <see cref="YieldAfterIterations"/> iterations without waiting it calls <c>HandleTimeout(now)</c> and yields.
/// Commands from other threads (<see cref="Post"/>) run between iterations. Datagrams are queued per socket and sent in
/// <c>sendmmsg</c> batches: when a batch is full, before the loop waits and before it yields.
/// </summary>
internal abstract partial class TunnelLoop : IDisposable
{
    /// <summary>Iterations after which the loop runs the timers and yields (upstream: 5000).</summary>
    public const int YieldAfterIterations = 5000;

    /// <summary>TUN packets handled per iteration at most (one batch of the send queue).</summary>
    public const int TunBatch = TunnelUdpSocket.BatchSize;

    /// <summary>Commands that may wait for the loop; more are refused.</summary>
    public const int MaxQueuedCommands = 4096;

    private const ulong TokenV4 = 1;
    private const ulong TokenV6 = 2;
    private const ulong TokenWake = 3;

    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly Epoll _epoll = new(8);
    private readonly EventFd _wake = new();
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly EpollEvent[] _events = new EpollEvent[8];
    private readonly Thread _thread;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _queued;
    private volatile bool _stopping;
    private int _iterations;
    private TunnelUdpSocket? _registeredV4;
    private TunnelUdpSocket? _registeredV6;

    /// <summary>Binds the sockets and starts the TUN threads (the loop thread starts with <see cref="Start"/>).</summary>
    protected TunnelLoop(string name, TunnelIoOptions io, TimeProvider time, ILogger logger)
    {
        Name = name;
        _time = time;
        _start = time.GetTimestamp();
        Logger = logger;
        Counters = new TunnelCounters();
        _epoll.TryAdd(_wake.Handle, EpollEvents.In, TokenWake, out _);
        Sockets = new TunnelSockets(io.IPv4BindAddress, io.IPv6BindAddress, io.SocketBufferSize, Counters, logger) { DropOutbound = io.DropOutbound, SocketMark = io.SocketMark };
        Tun = new TunDriver(io.Tun, Wake, Counters, logger, name) { DeferWriterWake = true };
        _thread = new Thread(Run) { IsBackground = true, Name = $"{name} tunnel" };
    }

    /// <summary>The tunnel's name (threads, logs).</summary>
    public string Name { get; }

    /// <summary>The counters behind the metrics.</summary>
    public TunnelCounters Counters { get; }

    /// <summary>Completes when the loop has ended (faulted if it crashed).</summary>
    public Task Completion => _completion.Task;

    /// <summary>The loop's thread and the TUN threads (tests: none alive after <see cref="Dispose"/>).</summary>
    internal IEnumerable<Thread> Threads => [_thread, .. Tun.Threads];

    /// <summary>The ports of the UDP sockets (0: no socket of that family); for diagnostics and tests.</summary>
    internal (int V4, int V6) LocalPorts() => (Sockets.V4?.Port ?? 0, Sockets.V6?.Port ?? 0);

    /// <summary>The UDP sockets (loop thread only).</summary>
    protected TunnelSockets Sockets { get; }

    /// <summary>The TUN threads and their queues.</summary>
    protected TunDriver Tun { get; }

    /// <summary>Logging.</summary>
    protected ILogger Logger { get; }

    /// <summary>Monotonic time since the tunnel was created.</summary>
    protected TimeSpan Now => _time.GetElapsedTime(_start);

    /// <summary>The wall clock.</summary>
    protected DateTimeOffset UtcNow => _time.GetUtcNow();

    /// <summary>Starts the loop thread.</summary>
    public void Start() => _thread.Start();

    /// <summary>
    /// Runs <paramref name="command"/> on the loop thread between iterations. False when the loop is stopping or
    /// <see cref="MaxQueuedCommands"/> commands are waiting already (the command is dropped).
    /// </summary>
    public bool Post(Action command)
    {
        if (_stopping || Interlocked.Increment(ref _queued) > MaxQueuedCommands)
        {
            if (!_stopping)
            {
                Interlocked.Decrement(ref _queued);
            }

            return false;
        }

        _commands.Enqueue(command);
        Wake();
        return true;
    }

    /// <summary>Replaces the TUN device (tunnel spec §4.9 SetTun; null: none).</summary>
    public void SetTun(ITun? tun) => Tun.SetTun(tun);

    /// <summary>Wakes the loop (from any thread).</summary>
    protected void Wake() => _wake.Signal();

    /// <summary>Closes both UDP sockets and binds new ones (loop thread).</summary>
    protected void RebindSockets()
    {
        Sockets.Rebind();
        RegisterSockets();
        OnSocketsRebound();
    }

    // ---- the role (client or gateway) --------------------------------------------------------------------------------

    /// <summary>Called on the loop thread after the sockets were (re)bound (e.g. to add host candidates).</summary>
    protected virtual void OnSocketsRebound()
    {
    }

    /// <summary>Step 2: handles the next state event; false when there is none.</summary>
    protected abstract bool PollEvent();

    /// <summary>Step 3: queues the next packet for the TUN device; false when there is none.</summary>
    protected abstract bool PollPacket();

    /// <summary>Step 4: queues the next datagram; false when there is none.</summary>
    protected abstract bool PollTransmit();

    /// <summary>Step 5: hands the next recursive DNS query out (client only); false when there is none.</summary>
    protected virtual bool PollDnsQuery() => false;

    /// <summary>Step 6: when the state wants <see cref="HandleTimeout"/>.</summary>
    protected abstract TimeSpan? PollTimeout();

    /// <summary>The state's timers.</summary>
    protected abstract void HandleTimeout(TimeSpan now);

    /// <summary>One packet from the TUN device (at <paramref name="offset"/> of <paramref name="slot"/>, with headroom before it).</summary>
    protected abstract void HandleTunPacket(byte[] slot, int offset, int length, TimeSpan now);

    /// <summary>One received datagram.</summary>
    protected abstract void HandleDatagram(Span<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now);

    /// <summary>A finished DNS query or name resolution, if any; false when none waits.</summary>
    protected abstract bool HandleFinishedQuery(TimeSpan now);

    /// <summary>The loop is ending (loop thread): release what the role holds.</summary>
    protected virtual void OnStopped()
    {
    }

    // ---- the loop -------------------------------------------------------------------------------------------------------

    private void Run()
    {
        try
        {
            RegisterSockets();
            OnSocketsRebound();
            while (!_stopping)
            {
                RunCommands();
                if (_stopping)
                {
                    break;
                }

                Iterate();
            }

            _completion.TrySetResult();
        }
        catch (Exception e)
        {
            LogCrashed(Logger, Name, e);
            _completion.TrySetException(e);
        }
        finally
        {
            try
            {
                OnStopped();
            }
            catch (Exception e)
            {
                LogCrashed(Logger, Name, e);
            }
        }
    }

    /// <summary>One iteration of tunnel spec §1 (internal for the order tests).</summary>
    internal void Iterate()
    {
        Tun.SignalWriter(); // what the last iteration queued for the device goes now, as one batch
        if (++_iterations >= YieldAfterIterations)
        {
            _iterations = 0;
            HandleTimeout(Now);
            Sockets.Flush();
            Tun.SignalWriter();
            Thread.Yield();
            return;
        }

        if (!Sockets.HasAny)
        {
            WaitForWake(-1); // 1. suspended until a rebind (a command)
            return;
        }

        if (PollEvent() || PollPacket() || (!Sockets.IsBlocked && PollTransmit()) || PollDnsQuery())
        {
            return; // 2.–5.
        }

        var deadline = PollTimeout(); // 6.
        PollInput(deadline); // 7.
    }

    private void PollInput(TimeSpan? deadline)
    {
        if (Sockets.IsBlocked && !Sockets.Flush())
        {
            WaitWritable();
            return;
        }

        var now = Now;
        if (ReceiveBatch(Sockets.V4, now) || ReceiveBatch(Sockets.V6, now))
        {
            return;
        }

        if (Tun.Inbound.TryPeek(out var slot, out int length))
        {
            // A batch of TUN packets per iteration, as datagrams come in batches: one packet per iteration cost two
            // empty recvmmsg calls per packet (most of the loop's system time under a TCP upload).
            int handled = 0;
            do
            {
                HandleTunPacket(slot, Tun.Inbound.Headroom, length, now);
                Tun.ReleaseInbound();
            }
            while (++handled < TunBatch && !Sockets.IsBlocked && Tun.Inbound.TryPeek(out slot, out length));

            return;
        }

        if (HandleFinishedQuery(now))
        {
            return;
        }

        if (deadline is { } due && due <= now)
        {
            HandleTimeout(now);
            return;
        }

        // Nothing to do: send what is queued, then wait for input, a wake-up or the timer.
        if (!Sockets.Flush())
        {
            WaitWritable();
            return;
        }

        int timeout = -1;
        if (deadline is { } d)
        {
            double ms = Math.Ceiling((d - now).TotalMilliseconds);
            timeout = (int)Math.Clamp(ms, 0, 1000);
        }
        else
        {
            timeout = 1000; // a fake clock moved by a test is noticed within a second
        }

        WaitForWake(timeout);
    }

    private bool ReceiveBatch(TunnelUdpSocket? socket, TimeSpan now)
    {
        if (socket is null || socket.Receive() == 0)
        {
            return false;
        }

        // The whole batch, also after a datagram the state refused (upstream's gateway returned early and dropped the
        // rest of the batch: fixed on purpose, tunnel spec §1 / §11 item 22).
        while (socket.TryNextDatagram(out var datagram, out var from, out var local))
        {
            HandleDatagram(datagram, from, local, now);
        }

        return true;
    }

    private void WaitForWake(int timeoutMilliseconds)
    {
        Tun.SignalWriter();
        _iterations = 0;
        int n = _epoll.Wait(_events, timeoutMilliseconds);
        for (int i = 0; i < n; i++)
        {
            if (_events[i].Token == TokenWake)
            {
                _wake.Reset();
            }
        }
    }

    private void WaitWritable()
    {
        Tun.SignalWriter();
        _iterations = 0;
        var blocked = Sockets.V4 is { IsBlocked: true } v4 ? v4 : Sockets.V6;
        try
        {
            blocked?.Socket.Poll(10_000, System.Net.Sockets.SelectMode.SelectWrite); // 10 ms: commands are seen soon
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
    }

    private void RunCommands()
    {
        while (_commands.TryDequeue(out var command))
        {
            Interlocked.Decrement(ref _queued);
            try
            {
                command();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogCommandFailed(Logger, Name, e);
            }
        }
    }

    private void RegisterSockets()
    {
        if (_registeredV4 is not null && !ReferenceEquals(_registeredV4, Sockets.V4))
        {
            _epoll.TryRemove(_registeredV4.Socket.SafeHandle);
        }

        if (_registeredV6 is not null && !ReferenceEquals(_registeredV6, Sockets.V6))
        {
            _epoll.TryRemove(_registeredV6.Socket.SafeHandle);
        }

        if (Sockets.V4 is { } s4 && !ReferenceEquals(_registeredV4, s4))
        {
            _epoll.TryAdd(s4.Socket.SafeHandle, EpollEvents.In, TokenV4, out _);
        }

        if (Sockets.V6 is { } s6 && !ReferenceEquals(_registeredV6, s6))
        {
            _epoll.TryAdd(s6.Socket.SafeHandle, EpollEvents.In, TokenV6, out _);
        }

        _registeredV4 = Sockets.V4;
        _registeredV6 = Sockets.V6;
    }

    /// <summary>Stops the loop (waits for its thread unless called on it) and the TUN threads; closes the sockets.</summary>
    public void Dispose()
    {
        _stopping = true;
        Wake();
        if (Thread.CurrentThread != _thread && (_thread.ThreadState & ThreadState.Unstarted) == 0)
        {
            _thread.Join(TimeSpan.FromSeconds(10));
        }

        _completion.TrySetResult();
        Tun.Dispose();
        Sockets.Dispose();
        _wake.Dispose();
        _epoll.Dispose();
        DisposeRole();
    }

    /// <summary>Releases the role's resources (after the loop ended).</summary>
    protected virtual void DisposeRole()
    {
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Tunnel {Name} crashed")]
    private static partial void LogCrashed(ILogger logger, string name, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A command of tunnel {Name} failed")]
    private static partial void LogCommandFailed(ILogger logger, string name, Exception exception);
}

/// <summary>What a tunnel's IO needs: the TUN device and where the UDP sockets bind.</summary>
internal sealed record TunnelIoOptions(ITun? Tun, IPAddress? IPv4BindAddress, IPAddress? IPv6BindAddress, int SocketBufferSize, Func<IPEndPoint, bool>? DropOutbound = null, uint? SocketMark = null);
