using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>
/// Owns a file descriptor and closes it exactly once. Only -1 is invalid: 0 is a valid descriptor (a process started
/// with stdin closed hands out 0 to its first <c>open</c>), so <see cref="Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid"/>
/// would leak it. Closing the fd of a non-persistent TUN interface destroys the interface.
/// </summary>
internal sealed class FdHandle : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/> (-1: an invalid handle that closes nothing).</summary>
    public FdHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    /// <summary>Wraps the result of a system call that returns a descriptor, or throws with its errno.</summary>
    public static FdHandle FromResult(int fd, string operation) =>
        fd >= 0 ? new FdHandle(fd) : throw NativeIoException.FromErrno(operation, LibC.LastError);

    /// <inheritdoc/>
    public override bool IsInvalid => handle == new IntPtr(-1);

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
