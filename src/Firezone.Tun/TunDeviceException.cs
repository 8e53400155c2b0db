using Firezone.Tun.Io;

namespace Firezone.Tun;

/// <summary>A TUN device or netlink operation failed; <see cref="ErrorCode"/> is the errno.</summary>
public sealed class TunDeviceException : IOException
{
    /// <summary>Creates the exception.</summary>
    public TunDeviceException(string message, int errno) : base(message) => ErrorCode = errno;

    /// <summary>Creates the exception.</summary>
    public TunDeviceException() { }

    /// <summary>Creates the exception.</summary>
    public TunDeviceException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TunDeviceException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The errno (0 if not from a system call).</summary>
    public int ErrorCode { get; }

    internal static TunDeviceException FromErrno(string operation, int errno)
        => new($"{operation} failed: {LibC.ErrorText(errno)} (errno {errno})", errno);
}
