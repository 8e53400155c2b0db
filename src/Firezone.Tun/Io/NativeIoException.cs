namespace Firezone.Tun.Io;

/// <summary>A system call of the native IO layer failed; <see cref="ErrorCode"/> is its errno.</summary>
internal sealed class NativeIoException : IOException
{
    public NativeIoException(string message, int errno) : base(message) => ErrorCode = errno;

    /// <summary>The errno.</summary>
    public int ErrorCode { get; }

    public static NativeIoException FromErrno(string operation, int errno) =>
        new($"{operation} failed: {LibC.ErrorText(errno)} (errno {errno})", errno);
}
