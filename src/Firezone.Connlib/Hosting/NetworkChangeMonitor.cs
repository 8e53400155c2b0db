using System.Diagnostics;
using Firezone.Tun.Io;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// Reports changes of the host's network — links, IPv4/IPv6 addresses and routes of every interface except the TUN —
/// seen on an rtnetlink socket subscribed to <c>RTMGRP_LINK</c>, <c>RTMGRP_IPV4_IFADDR</c>, <c>RTMGRP_IPV6_IFADDR</c>,
/// <c>RTMGRP_IPV4_ROUTE</c> and <c>RTMGRP_IPV6_ROUTE</c>. A burst of notifications (one address change brings several)
/// is debounced into one <see cref="Changed"/> event; the headless client resets its session on it.
/// </summary>
/// <remarks>
/// Deliberate difference: upstream's Linux client uses no netlink monitoring (its network notifier is NetworkManager's
/// D-Bus <c>StateChanged</c> with systemd-resolved, and never fires otherwise, hosts-and-tun.md §2.5), so a roaming
/// client without NetworkManager needed a SIGHUP. Like upstream's notifiers the monitor can also report once right after
/// <see cref="Start"/> (<see cref="NetworkChangeMonitorOptions.FireOnStart"/>), which makes the first reset happen at once.
/// The socket is opened in the network namespace of the thread that constructs the monitor.
/// </remarks>
public sealed unsafe class NetworkChangeMonitor : IDisposable
{
    private const int NETLINK_ROUTE = 0;
    private const uint Groups = 0x1 /* LINK */ | 0x10 /* IPV4_IFADDR */ | 0x40 /* IPV4_ROUTE */ | 0x100 /* IPV6_IFADDR */ | 0x400 /* IPV6_ROUTE */;
    private readonly FdHandle _socket;
    private readonly EventFd _stop = new();
    private readonly NetworkChangeMonitorOptions _options;
    private readonly ILogger _logger;
    private readonly ChangeDebouncer _debouncer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Thread? _thread;
    private int _ignoredIndex;
    private long _changes;
    private volatile bool _disposed;

    /// <summary>Opens and subscribes the netlink socket (in the calling thread's network namespace); call <see cref="Start"/> to report.</summary>
    /// <exception cref="IOException">The netlink socket cannot be opened.</exception>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    public NetworkChangeMonitor(NetworkChangeMonitorOptions? options = null, ILogger? logger = null)
    {
        if (!LibC.IsSupported)
        {
            throw new PlatformNotSupportedException("Network change monitoring uses rtnetlink (64-bit Linux).");
        }

        _options = options ?? new NetworkChangeMonitorOptions();
        _logger = logger ?? NullLogger.Instance;
        _debouncer = new ChangeDebouncer(_options.Debounce, _options.MaxDelay);
        int fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
        {
            throw new IOException($"socket(AF_NETLINK): {LibC.ErrorText(LibC.LastError)}");
        }

        _socket = new FdHandle(fd);
        byte* address = stackalloc byte[12];
        new Span<byte>(address, 12).Clear();
        *(ushort*)address = LibC.AF_NETLINK;
        *(uint*)(address + 8) = Groups;
        if (LibC.Bind(_socket, address, 12) < 0)
        {
            int errno = LibC.LastError;
            _socket.Dispose();
            throw new IOException($"bind(AF_NETLINK, groups 0x{Groups:x}): {LibC.ErrorText(errno)}");
        }

        int size = 1 << 20;
        LibC.SetSockOpt(_socket, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, 4);
        _ignoredIndex = (int)LibC.IfNameToIndex(_options.IgnoredInterface);
    }

    /// <summary>Raised on the monitor's thread, once per debounced burst of changes. Handlers must not block for long.</summary>
    public event EventHandler? Changed;

    /// <summary>Debounced events raised so far.</summary>
    public long ChangesReported => Interlocked.Read(ref _changes);

    /// <summary>Starts the monitor thread (once).</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_thread is not null)
        {
            return;
        }

        if (_options.FireOnStart)
        {
            _debouncer.Record(_clock.Elapsed - _options.MaxDelay);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "Firezone network monitor" };
        _thread.Start();
    }

    private void Run()
    {
        byte[] buffer = new byte[1 << 16];
        var fds = stackalloc LibC.PollFd[2];
        try
        {
            while (!_disposed)
            {
                int timeout = -1;
                if (_debouncer.PollTimeout() is { } due)
                {
                    timeout = (int)Math.Clamp(Math.Ceiling((due - _clock.Elapsed).TotalMilliseconds), 0, int.MaxValue);
                }

                fds[0] = new LibC.PollFd { Fd = (int)_socket.DangerousGetHandle(), Events = LibC.POLLIN };
                fds[1] = new LibC.PollFd { Fd = (int)_stop.Handle.DangerousGetHandle(), Events = LibC.POLLIN };
                int ready = LibC.Poll(fds, 2, timeout);
                if (ready < 0 && LibC.LastError != LibC.EINTR)
                {
                    HostingLog.NetlinkMonitorFailed(_logger, $"poll: {LibC.ErrorText(LibC.LastError)}");
                    return;
                }

                if (_disposed || (ready > 0 && fds[1].Revents != 0))
                {
                    return;
                }

                if (ready > 0 && fds[0].Revents != 0)
                {
                    ReadNotifications(buffer);
                }

                if (_debouncer.HandleTimeout(_clock.Elapsed))
                {
                    Interlocked.Increment(ref _changes);
                    Changed?.Invoke(this, EventArgs.Empty);
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ReadNotifications(byte[] buffer)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                nint n = LibC.Recv(_socket, b, buffer.Length, LibC.MSG_DONTWAIT);
                if (n < 0)
                {
                    int errno = LibC.LastError;
                    if (errno == LibC.ENOBUFS)
                    {
                        // The kernel dropped notifications (socket buffer overrun): something changed for sure.
                        _debouncer.Record(_clock.Elapsed);
                        continue;
                    }

                    return; // EAGAIN: drained
                }

                if (n == 0)
                {
                    return;
                }

                if (LibC.IfNameToIndex(_options.IgnoredInterface) is var index and > 0)
                {
                    _ignoredIndex = (int)index;
                }

                int type = NetlinkChangeFilter.FirstRelevant(buffer.AsSpan(0, (int)n), _ignoredIndex, _options.IgnoredInterface);
                if (type != 0)
                {
                    HostingLog.NetlinkChange(_logger, type);
                    _debouncer.Record(_clock.Elapsed);
                }
            }
        }
    }

    /// <summary>Stops the thread and closes the socket.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Signal();
        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _socket.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Settings of a <see cref="NetworkChangeMonitor"/>.</summary>
public sealed class NetworkChangeMonitorOptions
{
    /// <summary>The TUN interface whose own changes are not network changes. Default <c>tun-firezone</c>.</summary>
    public string IgnoredInterface { get; init; } = "tun-firezone";

    /// <summary>How long the notifications must be quiet before the event fires. Default 500 ms.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest a burst delays its event (a steady trickle still reports). Default 3 s; at least <see cref="Debounce"/>.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Report once right after <see cref="NetworkChangeMonitor.Start"/>, as upstream's notifiers do. Default false.</summary>
    public bool FireOnStart { get; init; }
}
