namespace Firezone.Tun.Netlink;

/// <summary>rtnetlink message types, flags and attribute numbers (linux/netlink.h, rtnetlink.h, fib_rules.h).</summary>
internal static class RtNetlink
{
    public const int HeaderLength = 16;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 0x1;
    public const ushort NLM_F_MULTI = 0x2;
    public const ushort NLM_F_ACK = 0x4;
    public const ushort NLM_F_DUMP = 0x300;
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_EXCL = 0x200;
    public const ushort NLM_F_CREATE = 0x400;

    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_SETLINK = 19;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_DELADDR = 21;
    public const ushort RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_DELROUTE = 25;
    public const ushort RTM_GETROUTE = 26;
    public const ushort RTM_NEWRULE = 32;
    public const ushort RTM_DELRULE = 33;
    public const ushort RTM_GETRULE = 34;

    public const int IfInfoMsgLength = 16;
    public const int IfAddrMsgLength = 8;
    public const int RtMsgLength = 12;
    public const int FibRuleHdrLength = 12;

    public const ushort IFLA_IFNAME = 3;
    public const ushort IFLA_MTU = 4;
    public const uint IFF_UP = 0x1;

    public const ushort IFA_ADDRESS = 1;
    public const ushort IFA_LOCAL = 2;

    public const ushort RTA_DST = 1;
    public const ushort RTA_OIF = 4;
    public const ushort RTA_PRIORITY = 6;
    public const ushort RTA_TABLE = 15;
    public const byte RTPROT_KERNEL = 2;
    public const byte RTPROT_STATIC = 4;
    public const byte RT_SCOPE_UNIVERSE = 0;
    public const byte RTN_UNICAST = 1;
    public const byte RT_TABLE_UNSPEC = 0;

    public const ushort FRA_PRIORITY = 6;
    public const ushort FRA_FWMARK = 10;
    public const ushort FRA_TABLE = 15;
    public const ushort FRA_FWMASK = 16;
    public const ushort FRA_PROTOCOL = 21;
    public const byte FR_ACT_TO_TBL = 1;
    public const uint FIB_RULE_INVERT = 0x2;

    public static int Align(int length) => (length + 3) & ~3;
}
