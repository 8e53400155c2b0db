using Microsoft.Win32.SafeHandles;

namespace Firezone.Tun.Linux;

/// <summary>Owns a file descriptor; closing it destroys a non-persistent TUN interface.</summary>
internal sealed class FdHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public FdHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
