using System.Runtime.InteropServices;

namespace Firezone.Connlib.Relay;

/// <summary>Linux <c>recvmmsg</c>/<c>sendmmsg</c> and the <c>iovec</c>/<c>msghdr</c>/<c>mmsghdr</c> layouts (64-bit).</summary>
internal static unsafe partial class MMsgNative
{
    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    internal static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    internal static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public byte* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }
}
