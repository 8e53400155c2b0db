using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>
/// Linux structure layouts of the IO layer, LP64 (64-bit processes; identical on x86-64 and arm64) except
/// <c>struct epoll_event</c>, which is packed on x86-64 only (12 bytes; 16 elsewhere): <see cref="EpollEventX64"/>
/// and <see cref="EpollEventGeneric"/>, chosen at run time by <see cref="EpollEventSize"/>. The sizes and offsets
/// are pinned by tests against the kernel headers' values.
/// </summary>
internal static unsafe class NativeLayout
{
    /// <summary><c>struct iovec</c> (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary><c>struct msghdr</c> (56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public byte* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public byte* Control;
        public nuint ControlLen;
        public int Flags;
    }

    /// <summary><c>struct mmsghdr</c> (64 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary><c>struct cmsghdr</c> (16 bytes; data follows at <see cref="CMsgDataOffset"/>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary><c>struct in_pktinfo</c> (12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct InPktInfo
    {
        public int IfIndex;
        public uint SpecDst;
        public uint Addr;
    }

    /// <summary><c>struct in6_pktinfo</c> (20 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct In6PktInfo
    {
        public fixed byte Addr[16];
        public uint IfIndex;
    }

    /// <summary><c>struct epoll_event</c> on x86-64: <c>__attribute__((packed))</c>, 12 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEventX64
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary><c>struct epoll_event</c> on arm64 and other 64-bit architectures: natural alignment, 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EpollEventGeneric
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>Size of <c>struct epoll_event</c> in this process.</summary>
    public static readonly int EpollEventSize =
        RuntimeInformation.ProcessArchitecture == Architecture.X64 ? sizeof(EpollEventX64) : sizeof(EpollEventGeneric);

    /// <summary>Offset of <c>data</c> in <c>struct epoll_event</c> in this process.</summary>
    public static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary><c>CMSG_ALIGN</c>: control data is aligned to <c>sizeof(size_t)</c>.</summary>
    public static int CMsgAlign(int length) => (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);

    /// <summary>Offset of a control message's data (<c>CMSG_DATA</c> − header).</summary>
    public static int CMsgDataOffset => CMsgAlign(sizeof(CMsgHdr));

    /// <summary><c>CMSG_LEN</c>: header plus <paramref name="dataLength"/> bytes.</summary>
    public static int CMsgLen(int dataLength) => CMsgDataOffset + dataLength;

    /// <summary><c>CMSG_SPACE</c>: room a control message of <paramref name="dataLength"/> bytes takes.</summary>
    public static int CMsgSpace(int dataLength) => CMsgDataOffset + CMsgAlign(dataLength);

    /// <summary>Size of <c>struct sockaddr_in6</c>, the largest address the layer handles.</summary>
    public const int SockAddrIn6Size = 28;
}
