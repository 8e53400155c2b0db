using System.Buffers.Binary;
using System.Text;
using Firezone.Tun.Netlink;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// Decides whether one rtnetlink notification datagram reports a change of the host's network: a link, an IPv4/IPv6
/// address or a route of any interface except the TUN itself. The TUN's own changes (its creation, the addresses and
/// routes the host sets on it, Firezone's table <c>0x2021fd00</c>) are ignored, or every interface configuration would
/// trigger a reset, which reconfigures the interface, and so on. Malformed messages are skipped, never thrown on.
/// </summary>
internal static class NetlinkChangeFilter
{
    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_DELLINK = 17;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_DELADDR = 21;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_DELROUTE = 25;
    private const ushort IFLA_IFNAME = 3;
    private const ushort RTA_OIF = 4;
    private const ushort RTA_TABLE = 15;
    private const int HeaderLength = 16;

    /// <summary>
    /// The first relevant message type in <paramref name="datagram"/>, or 0 when none. <paramref name="ignoredIndex"/> is
    /// the TUN's interface index (0 when it does not exist); links named <paramref name="ignoredName"/> are ignored too.
    /// </summary>
    public static int FirstRelevant(ReadOnlySpan<byte> datagram, int ignoredIndex, string ignoredName)
    {
        while (datagram.Length >= HeaderLength)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            if (length < HeaderLength || length > datagram.Length)
            {
                return 0;
            }

            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            var body = datagram[HeaderLength..(int)length];
            if (IsRelevant(type, body, ignoredIndex, ignoredName))
            {
                return type;
            }

            int advance = (int)((length + 3) & ~3u);
            if (advance >= datagram.Length)
            {
                return 0;
            }

            datagram = datagram[advance..];
        }

        return 0;
    }

    private static bool IsRelevant(ushort type, ReadOnlySpan<byte> body, int ignoredIndex, string ignoredName)
    {
        switch (type)
        {
            case RTM_NEWLINK or RTM_DELLINK when body.Length >= 16:
            {
                int index = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
                if (index == ignoredIndex && index != 0)
                {
                    return false;
                }

                var name = Attribute(body[16..], IFLA_IFNAME);
                return name.IsEmpty || Encoding.ASCII.GetString(name.TrimEnd((byte)0)) != ignoredName;
            }

            case RTM_NEWADDR or RTM_DELADDR when body.Length >= 8:
                return ignoredIndex == 0 || BinaryPrimitives.ReadInt32LittleEndian(body[4..]) != ignoredIndex;

            case RTM_NEWROUTE or RTM_DELROUTE when body.Length >= 12:
            {
                var attributes = body[12..];
                var tableAttribute = Attribute(attributes, RTA_TABLE);
                uint table = tableAttribute.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(tableAttribute) : body[4];
                if (table == TunDeviceManager.FirezoneRouteTable)
                {
                    return false;
                }

                var oif = Attribute(attributes, RTA_OIF);
                return ignoredIndex == 0 || oif.Length < 4 || BinaryPrimitives.ReadInt32LittleEndian(oif) != ignoredIndex;
            }

            default:
                return false;
        }
    }

    /// <summary>The payload of the first attribute of <paramref name="kind"/>, or empty.</summary>
    private static ReadOnlySpan<byte> Attribute(ReadOnlySpan<byte> attributes, ushort kind)
    {
        while (attributes.Length >= 4)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            ushort attributeType = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]) & 0x3FFF);
            if (length < 4 || length > attributes.Length)
            {
                return default;
            }

            if (attributeType == kind)
            {
                return attributes[4..length];
            }

            int advance = (length + 3) & ~3;
            if (advance >= attributes.Length)
            {
                return default;
            }

            attributes = attributes[advance..];
        }

        return default;
    }
}
