using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>
/// Blocking readiness waits with <c>poll(2)</c> on one or two descriptors, for threads that own a device and a wake-up
/// <see cref="EventFd"/> (no epoll instance, no thread-pool hop). Both handles are referenced for the duration of the
/// call, so a concurrent close cannot hand the numbers to other files mid-wait.
/// </summary>
internal static unsafe class FdPoll
{
    /// <summary>First descriptor ready (readable, error or hang-up).</summary>
    public const int First = 1;

    /// <summary>Second descriptor ready.</summary>
    public const int Second = 2;

    /// <summary>
    /// Waits until <paramref name="first"/> or <paramref name="second"/> is readable, at most
    /// <paramref name="timeoutMilliseconds"/> (-1: no limit). Returns <see cref="First"/> | <see cref="Second"/> for those
    /// ready; 0 on timeout or interruption.
    /// </summary>
    /// <exception cref="ObjectDisposedException">A handle is closed.</exception>
    public static int WaitReadable(SafeHandle first, SafeHandle second, int timeoutMilliseconds)
    {
        bool firstAdded = false, secondAdded = false;
        try
        {
            first.DangerousAddRef(ref firstAdded);
            second.DangerousAddRef(ref secondAdded);
            LibC.PollFd* fds = stackalloc LibC.PollFd[2];
            fds[0] = new LibC.PollFd { Fd = (int)first.DangerousGetHandle(), Events = LibC.POLLIN };
            fds[1] = new LibC.PollFd { Fd = (int)second.DangerousGetHandle(), Events = LibC.POLLIN };
            if (LibC.Poll(fds, 2, timeoutMilliseconds) <= 0)
            {
                return 0;
            }

            return (fds[0].Revents != 0 ? First : 0) | (fds[1].Revents != 0 ? Second : 0);
        }
        finally
        {
            if (secondAdded)
            {
                second.DangerousRelease();
            }

            if (firstAdded)
            {
                first.DangerousRelease();
            }
        }
    }

    /// <summary>Waits until <paramref name="fd"/> is readable, at most <paramref name="timeoutMilliseconds"/> (-1: no limit); true when it is.</summary>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    public static bool WaitReadable(SafeHandle fd, int timeoutMilliseconds)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var pollFd = new LibC.PollFd { Fd = (int)fd.DangerousGetHandle(), Events = LibC.POLLIN };
            return LibC.Poll(&pollFd, 1, timeoutMilliseconds) > 0;
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }
}
