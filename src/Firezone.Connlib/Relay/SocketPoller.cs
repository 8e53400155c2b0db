using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Firezone.Connlib.Relay;

/// <summary>
/// Level-triggered epoll readiness for many UDP sockets on one thread (Linux x64), like upstream's "mio worker":
/// sockets registered here are read synchronously, so .NET never puts them in its own epoll set, and sends on them stay
/// plain blocking system calls (an async receive per socket made .NET's event loop and thread pool wake up for every
/// datagram sent on it).
/// </summary>
internal sealed unsafe partial class SocketPoller : IDisposable
{
    private const int EpollCloexec = 0x80000;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const uint EpollIn = 0x1;
    private const int MaxEvents = 64;

    private readonly int _epoll;
    private readonly ConcurrentDictionary<ulong, Socket> _sockets = new();
    private readonly EpollEvent* _events;

    private SocketPoller(int epoll)
    {
        _epoll = epoll;
        _events = (EpollEvent*)NativeMemory.Alloc((nuint)(MaxEvents * sizeof(EpollEvent)));
    }

    /// <summary>A poller, or null where epoll with this struct layout is not available (then use async receives).</summary>
    public static SocketPoller? TryCreate()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return null;
        }

        int epoll = EpollCreate1(EpollCloexec);
        return epoll < 0 ? null : new SocketPoller(epoll);
    }

    /// <summary>Watches <paramref name="socket"/> for readability under <paramref name="token"/>.</summary>
    public bool Add(Socket socket, ulong token)
    {
        var ev = new EpollEvent { Events = EpollIn, Data = token };
        if (EpollCtl(_epoll, EpollCtlAdd, (int)socket.SafeHandle.DangerousGetHandle(), &ev) != 0)
        {
            return false;
        }

        _sockets[token] = socket;
        return true;
    }

    /// <summary>Stops watching (call before disposing the socket).</summary>
    public void Remove(Socket socket, ulong token)
    {
        if (_sockets.TryRemove(token, out _))
        {
            var ev = default(EpollEvent);
            _ = EpollCtl(_epoll, EpollCtlDel, (int)socket.SafeHandle.DangerousGetHandle(), &ev);
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> and calls <paramref name="ready"/> for every readable socket.</summary>
    public void Wait(int timeoutMilliseconds, Action<Socket, ulong> ready)
    {
        int n = EpollWait(_epoll, _events, MaxEvents, timeoutMilliseconds);
        for (int i = 0; i < n; i++)
        {
            ulong token = _events[i].Data;
            if (_sockets.TryGetValue(token, out var socket))
            {
                ready(socket, token);
            }
        }
    }

    public void Dispose()
    {
        _ = Close(_epoll);
        NativeMemory.Free(_events);
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary><c>struct epoll_event</c>, packed on x86-64.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }
}
