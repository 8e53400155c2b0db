using Firezone.Tun.Io;

namespace Firezone.Tun.Tests.Io;

public class HandleTests
{
    [Fact]
    public void Fd_zero_is_a_valid_descriptor_and_only_minus_one_is_invalid()
    {
        var zero = new FdHandle(0);
        Assert.False(zero.IsInvalid);
        zero.SetHandleAsInvalid(); // do not close this process's stdin
        var minusOne = new FdHandle(-1);
        Assert.True(minusOne.IsInvalid);
        minusOne.Dispose();
    }

    [Fact]
    public void Disposing_an_fd_handle_closes_the_descriptor_once()
    {
        Skip.IfNotLinux();
        int fd = LibC.Open("/dev/null", LibC.O_RDWR | LibC.O_CLOEXEC);
        Assert.True(fd >= 0);
        var handle = new FdHandle(fd);
        Assert.True(File.Exists($"/proc/self/fd/{fd}"));
        handle.Dispose();
        Assert.False(File.Exists($"/proc/self/fd/{fd}"));
        handle.Dispose();
    }

    [Fact]
    public unsafe void Native_buffer_outlives_a_dispose_while_leased()
    {
        var buffer = new NativeBuffer(64);
        var lease = buffer.Acquire();
        lease.Pointer[63] = 7;
        buffer.Dispose();
        Assert.Equal(7, lease.Pointer[63]); // still allocated: the lease holds a reference
        lease.Dispose();
        Assert.True(buffer.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => { using var again = buffer.Acquire(); });
    }

    [Fact]
    public void Event_fd_wakes_an_epoll_wait_and_reset_disarms_it()
    {
        Skip.IfNotLinux();
        using var epoll = new Epoll();
        using var wake = new EventFd();
        Assert.True(epoll.TryAdd(wake.Handle, EpollEvents.In, 42, out _));
        Span<EpollEvent> events = stackalloc EpollEvent[4];
        Assert.Equal(0, epoll.Wait(events, 0));
        wake.Signal();
        Assert.Equal(1, epoll.Wait(events, 1000));
        Assert.Equal(42UL, events[0].Token);
        Assert.True(events[0].Events.HasFlag(EpollEvents.In));
        wake.Reset();
        Assert.Equal(0, epoll.Wait(events, 0));
        Assert.True(epoll.TryRemove(wake.Handle));
        wake.Signal();
        Assert.Equal(0, epoll.Wait(events, 0));
    }

    [Fact]
    public void Epoll_refuses_a_closed_descriptor_without_throwing()
    {
        Skip.IfNotLinux();
        using var epoll = new Epoll();
        var wake = new EventFd();
        wake.Dispose();
        Assert.False(epoll.TryAdd(wake.Handle, EpollEvents.In, 1, out int errno));
        Assert.Equal(LibC.EBADF, errno);
        wake.Signal(); // after disposal: nothing happens
    }
}

internal static class Skip
{
    public static void IfNotLinux()
    {
        if (!LibC.IsSupported)
        {
            Assert.Skip("needs Linux on a 64-bit process (the native IO layer)");
        }
    }
}
