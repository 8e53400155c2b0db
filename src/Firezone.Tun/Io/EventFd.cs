namespace Firezone.Tun.Io;

/// <summary>
/// A non-blocking, close-on-exec <c>eventfd</c>: a wake-up another thread can wait on (with <see cref="Epoll"/> or
/// <c>poll</c>). <see cref="Signal"/> may be called from any thread, also after disposal (then it does nothing).
/// </summary>
internal sealed unsafe class EventFd : IDisposable
{
    /// <summary>Creates the descriptor.</summary>
    /// <exception cref="NativeIoException">eventfd failed.</exception>
    public EventFd() => Handle = FdHandle.FromResult(LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK), "eventfd");

    /// <summary>The descriptor (readable while signalled).</summary>
    public FdHandle Handle { get; }

    /// <summary>Makes the descriptor readable.</summary>
    public void Signal()
    {
        ulong one = 1;
        try
        {
            _ = LibC.Write(Handle, (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Consumes pending signals (the descriptor is no longer readable).</summary>
    public void Reset()
    {
        ulong value;
        try
        {
            _ = LibC.Read(Handle, (byte*)&value, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the descriptor.</summary>
    public void Dispose() => Handle.Dispose();
}
