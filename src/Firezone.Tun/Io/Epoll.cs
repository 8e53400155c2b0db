using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>Readiness flags of <see cref="Epoll"/> (the <c>EPOLL*</c> values).</summary>
[Flags]
internal enum EpollEvents : uint
{
    None = 0,
    In = 0x1,
    Out = 0x4,
    Error = 0x8,
    HangUp = 0x10,
    OneShot = 1u << 30,
}

/// <summary>One readiness report: what happened and the token the descriptor was registered with.</summary>
internal readonly record struct EpollEvent(EpollEvents Events, ulong Token);

/// <summary>
/// An epoll instance (close-on-exec) owned by a SafeHandle. Registration calls may come from any thread while another
/// waits. The event array lives in native memory with a release guard; <see cref="Wait"/> is for one thread at a time.
/// </summary>
internal sealed unsafe class Epoll : IDisposable
{
    private readonly FdHandle _epoll;
    private readonly NativeBuffer _events;
    private readonly int _capacity;

    /// <summary>Creates an epoll set that reports at most <paramref name="capacity"/> events per wait.</summary>
    /// <exception cref="NativeIoException">epoll_create1 failed.</exception>
    public Epoll(int capacity = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _epoll = FdHandle.FromResult(LibC.EpollCreate1(LibC.EPOLL_CLOEXEC), "epoll_create1");
        _capacity = capacity;
        _events = new NativeBuffer(capacity * NativeLayout.EpollEventSize);
    }

    /// <summary>Watches <paramref name="fd"/> for <paramref name="events"/>, reported with <paramref name="token"/>.</summary>
    /// <returns>False with the errno when the kernel refuses (e.g. the descriptor is closed or already registered).</returns>
    public bool TryAdd(SafeHandle fd, EpollEvents events, ulong token, out int errno) => Control(LibC.EPOLL_CTL_ADD, fd, events, token, out errno);

    /// <summary>Changes the events and token of a registered descriptor (re-arms a one-shot registration).</summary>
    public bool TryModify(SafeHandle fd, EpollEvents events, ulong token, out int errno) => Control(LibC.EPOLL_CTL_MOD, fd, events, token, out errno);

    /// <summary>Stops watching <paramref name="fd"/> (call before closing it; closing also removes it).</summary>
    public bool TryRemove(SafeHandle fd) => Control(LibC.EPOLL_CTL_DEL, fd, EpollEvents.None, 0, out _);

    private bool Control(int op, SafeHandle fd, EpollEvents events, ulong token, out int errno)
    {
        byte* ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = (uint)events;
        *(ulong*)(ev + NativeLayout.EpollDataOffset) = token;
        try
        {
            if (LibC.EpollCtl(_epoll, op, fd, ev) == 0)
            {
                errno = 0;
                return true;
            }

            errno = LibC.LastError;
        }
        catch (ObjectDisposedException)
        {
            errno = LibC.EBADF;
        }

        return false;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) and copies the reports into
    /// <paramref name="events"/>; returns how many (0 on timeout or interruption).
    /// </summary>
    /// <exception cref="NativeIoException">epoll_wait failed for another reason than EINTR.</exception>
    public int Wait(Span<EpollEvent> events, int timeoutMilliseconds)
    {
        int max = Math.Min(events.Length, _capacity);
        using var lease = _events.Acquire();
        int n = LibC.EpollWait(_epoll, lease.Pointer, max, timeoutMilliseconds);
        if (n < 0)
        {
            int errno = LibC.LastError;
            return errno == LibC.EINTR ? 0 : throw NativeIoException.FromErrno("epoll_wait", errno);
        }

        for (int i = 0; i < n; i++)
        {
            byte* ev = lease.Pointer + (i * NativeLayout.EpollEventSize);
            events[i] = new EpollEvent((EpollEvents)(*(uint*)ev), *(ulong*)(ev + NativeLayout.EpollDataOffset));
        }

        return n;
    }

    /// <summary>Closes the epoll descriptor and frees the event array.</summary>
    public void Dispose()
    {
        _epoll.Dispose();
        _events.Dispose();
    }
}
