using System.Runtime.InteropServices;
using Firezone.Tun.Io;

namespace Firezone.Tun.Tests.Io;

/// <summary>
/// The IO layer's structures against the Linux UAPI/glibc layouts (LP64: x86-64 and arm64). The expected numbers are
/// those of <c>offsetof</c>/<c>sizeof</c> in C on both architectures, written down independently of our definitions.
/// </summary>
public unsafe class NativeLayoutTests
{
    [Fact]
    public void Iovec_msghdr_and_mmsghdr_have_the_lp64_layout()
    {
        Assert.Equal(16, sizeof(NativeLayout.IoVec));
        Assert.Equal(56, sizeof(NativeLayout.MsgHdr));
        Assert.Equal(64, sizeof(NativeLayout.MMsgHdr));
        Assert.Equal(0, Offset<NativeLayout.MsgHdr>("Name"));
        Assert.Equal(8, Offset<NativeLayout.MsgHdr>("NameLen"));
        Assert.Equal(16, Offset<NativeLayout.MsgHdr>("Iov"));
        Assert.Equal(24, Offset<NativeLayout.MsgHdr>("IovLen"));
        Assert.Equal(32, Offset<NativeLayout.MsgHdr>("Control"));
        Assert.Equal(40, Offset<NativeLayout.MsgHdr>("ControlLen"));
        Assert.Equal(48, Offset<NativeLayout.MsgHdr>("Flags"));
        Assert.Equal(56, Offset<NativeLayout.MMsgHdr>("Length"));
    }

    [Fact]
    public void Control_messages_and_pktinfo_have_the_lp64_layout()
    {
        Assert.Equal(16, sizeof(NativeLayout.CMsgHdr));
        Assert.Equal(16, NativeLayout.CMsgDataOffset);
        Assert.Equal(18, NativeLayout.CMsgLen(sizeof(ushort)));     // UDP_SEGMENT
        Assert.Equal(24, NativeLayout.CMsgSpace(sizeof(ushort)));
        Assert.Equal(24, NativeLayout.CMsgSpace(sizeof(int)));      // UDP_GRO
        Assert.Equal(12, sizeof(NativeLayout.InPktInfo));
        Assert.Equal(32, NativeLayout.CMsgSpace(12));               // IP_PKTINFO
        Assert.Equal(20, sizeof(NativeLayout.In6PktInfo));
        Assert.Equal(40, NativeLayout.CMsgSpace(20));               // IPV6_PKTINFO
        Assert.Equal(8, Offset<NativeLayout.InPktInfo>("Addr"));
        Assert.Equal(16, Offset<NativeLayout.In6PktInfo>("IfIndex"));
    }

    [Fact]
    public void Epoll_event_is_packed_on_x64_and_naturally_aligned_on_arm64()
    {
        Assert.Equal(12, sizeof(NativeLayout.EpollEventX64));
        Assert.Equal(4, Offset<NativeLayout.EpollEventX64>("Data"));
        Assert.Equal(16, sizeof(NativeLayout.EpollEventGeneric));
        Assert.Equal(8, Offset<NativeLayout.EpollEventGeneric>("Data"));
        bool x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        Assert.Equal(x64 ? 12 : 16, NativeLayout.EpollEventSize);
        Assert.Equal(x64 ? 4 : 8, NativeLayout.EpollDataOffset);
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
